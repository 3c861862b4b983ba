// Side-by-side rows from a unified diff: unchanged lines on both sides, a
// run of removals paired with the run of additions that follows it.

export interface Row { left?: string; right?: string; kind: 'same' | 'change' | 'hunk' }

export function sideBySide(unified: string): Row[] {
  const rows: Row[] = []
  let removed: string[] = []
  let added: string[] = []
  const flush = () => {
    for (let i = 0; i < Math.max(removed.length, added.length); i++) rows.push({ left: removed[i], right: added[i], kind: 'change' })
    removed = []
    added = []
  }
  for (const line of unified.split('\n')) {
    if (line.startsWith('---') || line.startsWith('+++')) continue
    if (line.startsWith('@@')) {
      flush()
      rows.push({ left: line, right: line, kind: 'hunk' })
    } else if (line.startsWith('-')) {
      if (added.length) flush()
      removed.push(line.slice(1))
    } else if (line.startsWith('+')) {
      added.push(line.slice(1))
    } else if (line !== '') {
      flush()
      const text = line.startsWith(' ') ? line.slice(1) : line
      rows.push({ left: text, right: text, kind: 'same' })
    }
  }
  flush()
  return rows
}
