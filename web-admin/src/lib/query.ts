import { fromLocalInput } from './data'

// Decision-search filters, as the explorer shows them and as the API takes them.

export interface Filters {
  from?: string
  to?: string
  allow?: '' | 'true' | 'false'
  reason?: string
  region?: string
  source?: string
  purpose?: string
  revision?: string
  subject?: string
  client?: string
}

export const filterKeys: (keyof Filters)[] = ['from', 'to', 'allow', 'reason', 'region', 'source', 'purpose', 'revision', 'subject', 'client']

// toQuery encodes the non-empty filters (and extras such as a cursor) as a
// query string; date-time inputs, in UTC as every date picker here is,
// become RFC 3339 instants.
export function toQuery(f: Filters, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams()
  for (const k of filterKeys) {
    let v = (f[k] ?? '').trim()
    if (!v) continue
    if ((k === 'from' || k === 'to') && !/[zZ]|[+-]\d\d:\d\d$/.test(v)) v = fromLocalInput(v)
    q.set(k, v)
  }
  for (const [k, v] of Object.entries(extra)) if (v) q.set(k, v)
  return q.toString()
}

// fromQuery reads filters back from a query string (the page URL).
export function fromQuery(search: string): Filters {
  const q = new URLSearchParams(search)
  const f: Filters = {}
  for (const k of filterKeys) {
    const v = q.get(k)
    if (v) (f as Record<string, string>)[k] = v
  }
  return f
}
