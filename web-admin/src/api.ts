// The admin API, as the UI calls it: same origin, the session cookie, JSON
// in and out, and errors carrying the server's message.

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message)
  }
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (res.status === 204) return undefined as T
  const text = await res.text()
  let data: unknown = undefined
  try {
    data = text ? JSON.parse(text) : undefined
  } catch {
    data = undefined
  }
  if (!res.ok) {
    const e = (data ?? {}) as { code?: string; message?: string }
    const err = new ApiError(res.status, e.code ?? 'error', e.message ?? `${method} ${path}: HTTP ${res.status}`)
    if (res.status === 401 && path !== '/admin/v1/login') window.dispatchEvent(new Event('signalgate:signed-out'))
    ;(err as ApiError & { body?: unknown }).body = data
    throw err
  }
  return data as T
}

export const get = <T,>(path: string) => api<T>('GET', path)
export const post = <T,>(path: string, body?: unknown) => api<T>('POST', path, body ?? {})

// Shapes several pages read.

// Revision is a published revision as GET /admin/v1/revisions lists it.
export interface Revision {
  revision: string
  author: string
  message: string
  created_at: string
  active: boolean
  content_hash: string
}

// GuardRails are the rollout guard rails (a setting).
export interface GuardRails {
  max_deny_rate_increase: number
  max_error_rate_increase: number
  min_decisions: number
  window_seconds: number
}

// Readiness is /readyz: whether this instance can record decisions, and why.
export interface Readiness {
  ok: boolean
  status?: string
  checks?: Record<string, string>
}

// getReadiness reads /readyz, which answers 503 (with the same body) when
// not ready: that is a state to show, not an error.
export async function getReadiness(): Promise<Readiness> {
  const r = await fetch('/readyz')
  return { ok: r.ok, ...((await r.json()) as Omit<Readiness, 'ok'>) }
}
