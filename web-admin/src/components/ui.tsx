import { useCallback, useEffect, useState, type ReactNode } from 'react'
import { navigate } from '../router'

// Shared pieces: every request shows loading and error states.

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: Error; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true })
  const [tick, setTick] = useState(0)
  useEffect(() => {
    let live = true
    setState((s) => ({ ...s, loading: true, error: undefined }))
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    )
    return () => {
      live = false
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick])
  const reload = useCallback(() => setTick((t) => t + 1), [])
  return { ...state, reload }
}

export function ErrorBox({ error }: { error?: Error | string }) {
  if (!error) return null
  return (
    <p role="alert" className="error">
      {typeof error === 'string' ? error : error.message}
    </p>
  )
}

export function Loading({ what }: { what: string }) {
  return <p className="muted" aria-live="polite">Loading {what}…</p>
}

export function Link({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a
      href={to}
      className={className}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey) return
        e.preventDefault()
        navigate(to)
      }}
    >
      {children}
    </a>
  )
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  )
}

export function when(iso?: string) {
  return iso ? new Date(iso).toLocaleString() : ''
}

// Bars draws a small horizontal bar chart: one row per item.
export function Bars({ items, label }: { items: { label: string; value: number }[]; label: string }) {
  const max = Math.max(1, ...items.map((i) => i.value))
  if (items.length === 0) return <p className="muted">Nothing yet.</p>
  return (
    <table className="bars" aria-label={label}>
      <tbody>
        {items.map((i) => (
          <tr key={i.label}>
            <th scope="row">{i.label}</th>
            <td>
              <span className="bar" style={{ width: `${(100 * i.value) / max}%` }} />
            </td>
            <td className="num">{i.value.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

// Columns draws allow/deny per time bucket as stacked columns (SVG).
export function Columns({ buckets, label }: { buckets: { start: string; allow: number; deny: number }[]; label: string }) {
  const max = Math.max(1, ...buckets.map((b) => b.allow + b.deny))
  const w = 600
  const h = 120
  const bw = buckets.length ? w / buckets.length : w
  return (
    <figure>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={label} className="columns">
        {buckets.map((b, i) => {
          const ha = (h * b.allow) / max
          const hd = (h * b.deny) / max
          return (
            <g key={b.start}>
              <title>{`${when(b.start)}: ${b.allow} allowed, ${b.deny} denied`}</title>
              <rect x={i * bw} y={h - ha} width={Math.max(bw - 1, 1)} height={ha} className="allow" />
              <rect x={i * bw} y={h - ha - hd} width={Math.max(bw - 1, 1)} height={hd} className="deny" />
            </g>
          )
        })}
      </svg>
      <figcaption>
        <span className="key allow" /> allowed <span className="key deny" /> denied — {buckets.reduce((n, b) => n + b.allow + b.deny, 0).toLocaleString()} decisions
      </figcaption>
    </figure>
  )
}
