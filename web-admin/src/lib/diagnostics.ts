// Validation errors point at a row and column (1-based; 0 when an error has
// no place); the editor wants offsets into the text.

export interface Problem { file: string; row: number; col: number; message: string }

export function offsetOf(text: string, row: number, col: number): number {
  if (row <= 0) return 0
  let offset = 0
  for (let line = 1; line < row; line++) {
    const nl = text.indexOf('\n', offset)
    if (nl < 0) return text.length
    offset = nl + 1
  }
  const end = text.indexOf('\n', offset)
  const lineEnd = end < 0 ? text.length : end
  return Math.min(offset + Math.max(col - 1, 0), lineEnd)
}
