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
