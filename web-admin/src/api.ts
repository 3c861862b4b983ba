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
