// Regions as admins edit them: ISO 3166-1 alpha-2 codes with names, the
// EU/EEA preset, and the aliases the policy honours.

export const EU_EEA: Record<string, string> = {
  AT: 'Austria', BE: 'Belgium', BG: 'Bulgaria', HR: 'Croatia', CY: 'Cyprus', CZ: 'Czechia', DK: 'Denmark',
  EE: 'Estonia', FI: 'Finland', FR: 'France', DE: 'Germany', GR: 'Greece', HU: 'Hungary', IE: 'Ireland',
  IT: 'Italy', LV: 'Latvia', LT: 'Lithuania', LU: 'Luxembourg', MT: 'Malta', NL: 'Netherlands', PL: 'Poland',
  PT: 'Portugal', RO: 'Romania', SK: 'Slovakia', SI: 'Slovenia', ES: 'Spain', SE: 'Sweden',
  IS: 'Iceland', LI: 'Liechtenstein', NO: 'Norway',
}

export const UK: Record<string, string> = { GB: 'United Kingdom' }

// normalizeRegion upper-cases a code and resolves an alias (UK → GB).
export function normalizeRegion(code: string, aliases: Record<string, string>): string {
  const c = code.trim().toUpperCase()
  return aliases[c] ?? c
}

// addRegions returns excluded with the given regions added; codes must be
// two letters.
export function addRegions(excluded: Record<string, string>, add: Record<string, string>): Record<string, string> {
  const out = { ...excluded }
  for (const [code, name] of Object.entries(add)) {
    if (!/^[A-Z]{2}$/.test(code)) throw new Error(`${code}: a region is two letters (ISO 3166-1 alpha-2)`)
    out[code] = name
  }
  return sortKeys(out)
}

export function removeRegion(excluded: Record<string, string>, code: string): Record<string, string> {
  const out = { ...excluded }
  delete out[code]
  return out
}

export function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
}
