// Statistics as charts want them.

export interface Counts { allow: number; deny: number; undefined: number }
export interface Point extends Counts { start: string; value: string }
export interface Total extends Counts { value: string }

// perBucket sums the series per bucket start (over every value), in time order.
export function perBucket(series: Point[]): { start: string; allow: number; deny: number }[] {
  const m = new Map<string, { start: string; allow: number; deny: number }>()
  for (const p of series) {
    const b = m.get(p.start) ?? { start: p.start, allow: 0, deny: 0 }
    b.allow += p.allow
    b.deny += p.deny + p.undefined
    m.set(p.start, b)
  }
  return [...m.values()].sort((a, b) => a.start.localeCompare(b.start))
}

// topDenied ranks the values of a split by denials, largest first.
export function topDenied(totals: Total[], n: number): { value: string; deny: number }[] {
  return totals
    .map((t) => ({ value: t.value || '(none)', deny: t.deny }))
    .filter((t) => t.deny > 0)
    .sort((a, b) => b.deny - a.deny || a.value.localeCompare(b.value))
    .slice(0, n)
}

// fillMinutes returns one bucket per minute of the n minutes ending at end,
// empty ones included, so a chart's time axis has no gaps.
export function fillMinutes(buckets: { start: string; allow: number; deny: number }[], end: Date, n: number) {
  const byStart = new Map(buckets.map((b) => [new Date(b.start).getTime(), b]))
  const last = Math.floor(end.getTime() / 60_000) * 60_000
  const out = []
  for (let t = last - (n - 1) * 60_000; t <= last; t += 60_000) {
    const b = byStart.get(t)
    out.push({ start: new Date(t).toISOString(), allow: b?.allow ?? 0, deny: b?.deny ?? 0 })
  }
  return out
}
