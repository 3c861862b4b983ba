// The parts of the data document admins touch most, edited structurally and
// written back into the whole document (kept in sync with its raw JSON).

export interface Rollout { start?: string; excluded_regions?: Record<string, string> }
export type Rollouts = Record<string, Record<string, Rollout>>

export interface Targeting {
  purposes?: Record<string, string>
  rollouts?: Rollouts
  region_aliases?: Record<string, string>
  sensitive_categories?: Record<string, string>
  topic_categories?: Record<string, string>
}

export type Data = { targeting?: Targeting } & Record<string, unknown>

export function targeting(d: Data): Targeting {
  return d.targeting ?? {}
}

// withTargeting returns a copy of d with targeting's key k replaced.
export function withTargeting<K extends keyof Targeting>(d: Data, k: K, v: Targeting[K]): Data {
  return { ...d, targeting: { ...targeting(d), [k]: v } }
}

// setRollout returns rollouts with one source/purpose pair changed; an
// empty excluded_regions is dropped (a rollout without exclusions).
export function setRollout(r: Rollouts, source: string, purpose: string, next: Rollout): Rollouts {
  const clean: Rollout = { ...next }
  if (clean.excluded_regions && Object.keys(clean.excluded_regions).length === 0) delete clean.excluded_regions
  return { ...r, [source]: { ...(r[source] ?? {}), [purpose]: clean } }
}

// toLocalInput and fromLocalInput convert an RFC 3339 instant to the value
// of a datetime-local input (UTC, as the data is written) and back.
export function toLocalInput(iso?: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  return isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 16)
}

export function fromLocalInput(v: string): string {
  return v ? new Date(v + ':00Z').toISOString().replace('.000Z', 'Z') : ''
}
