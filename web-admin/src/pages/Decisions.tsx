import { useEffect, useRef, useState, type FormEvent } from 'react'
import { get, post } from '../api'
import { ErrorBox, Json, Link, Loading, useLoad, when } from '../components/ui'
import { toLocalInput } from '../lib/data'
import { navigate, useLocation } from '../router'
import { filterKeys, fromQuery, toQuery, type Filters } from '../lib/query'

interface Decision {
  decision_id: string
  decided_at: string
  path: string
  input?: unknown
  result?: { allow?: boolean; reasons?: { code: string; detail: string }[] } | unknown
  allow: boolean | null
  reason_codes: string[]
  source?: string
  purpose?: string
  region?: string
  subject?: string
  revision: string
  client: string
  node: string
  eval_ns: number
  masked: string[]
}

const labels: Record<keyof Filters, string> = {
  from: 'From (UTC)', to: 'To (UTC)', allow: 'Outcome', reason: 'Reason', region: 'Region', source: 'Source',
  purpose: 'Purpose', revision: 'Revision', subject: 'Subject', client: 'Client',
}

export function Decisions() {
  const { search } = useLocation()
  const q = new URLSearchParams(search)
  const applied = fromQuery(search)
  const selected = q.get('id')
  const [form, setForm] = useState<Filters>(applied)
  const [rows, setRows] = useState<Decision[]>([])
  const [cursor, setCursor] = useState<string>()
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<Error>()
  const query = toQuery(applied)
  const sentinel = useRef<HTMLDivElement>(null)
  // Only the latest request's answer is shown: an earlier, slower one (the
  // list before a new filter) must not overwrite it.
  const latest = useRef(0)

  const load = async (after?: string) => {
    const n = ++latest.current
    setLoading(true)
    setError(undefined)
    try {
      const page = await get<{ decisions: Decision[]; next_cursor?: string }>(`/admin/v1/decisions?${toQuery(applied, { limit: '50', cursor: after ?? '' })}`)
      if (n !== latest.current) return
      setRows((r) => (after ? [...r, ...page.decisions] : page.decisions))
      setCursor(page.next_cursor)
    } catch (e) {
      if (n === latest.current) setError(e as Error)
    } finally {
      if (n === latest.current) setLoading(false)
    }
  }
  useEffect(() => {
    setForm(applied)
    load()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query])
  // Infinite list: the next page loads when the end of the list scrolls in.
  useEffect(() => {
    const el = sentinel.current
    if (!el || !cursor) return
    const io = new IntersectionObserver((es) => es.some((e) => e.isIntersecting) && !loading && load(cursor))
    io.observe(el)
    return () => io.disconnect()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cursor, loading])

  const apply = (e: FormEvent) => {
    e.preventDefault()
    navigate(`/decisions?${toQuery(form)}`)
  }

  return (
    <>
      <h1>Decisions</h1>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        {filterKeys.map((k) =>
          k === 'allow' ? (
            <label key={k}>
              {labels[k]}
              <select value={form.allow ?? ''} onChange={(e) => setForm({ ...form, allow: e.target.value as Filters['allow'] })}>
                <option value="">any</option>
                <option value="true">allowed</option>
                <option value="false">denied</option>
              </select>
            </label>
          ) : (
            <label key={k}>
              {labels[k]}
              <input
                type={k === 'from' || k === 'to' ? 'datetime-local' : 'text'}
                value={(k === 'from' || k === 'to') && form[k]?.endsWith('Z') ? toLocalInput(form[k]) : (form[k] ?? '')}
                onChange={(e) => setForm({ ...form, [k]: e.target.value })}
              />
            </label>
          ),
        )}
        <button type="submit">Search</button>
        <a className="button" href={`/admin/v1/decisions/export?format=ndjson&${query}`} download>
          Export NDJSON
        </a>
        <a className="button" href={`/admin/v1/decisions/export?format=csv&${query}`} download>
          Export CSV
        </a>
      </form>
      <ErrorBox error={error} />
      <div className="split">
        <table className="list" aria-label="Decisions">
          <thead>
            <tr>
              <th>Decided</th>
              <th>Outcome</th>
              <th>Reasons</th>
              <th>Region</th>
              <th>Source</th>
              <th>Purpose</th>
              <th>Revision</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.decision_id} className={d.decision_id === selected ? 'selected' : undefined}>
                <td>
                  <Link to={`/decisions?${toQuery(applied, { id: d.decision_id })}`}>{when(d.decided_at)}</Link>
                </td>
                <td className={d.allow ? 'ok' : 'deny'}>{d.allow === null ? '—' : d.allow ? 'allow' : 'deny'}</td>
                <td>{d.reason_codes.join(', ')}</td>
                <td>{d.region}</td>
                <td>{d.source}</td>
                <td>{d.purpose}</td>
                <td>{d.revision}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {selected && <Detail id={selected} onClose={() => navigate(`/decisions?${query}`)} />}
      </div>
      <div ref={sentinel} />
      {loading && <Loading what="decisions" />}
      {!loading && rows.length === 0 && !error && <p className="muted">No decision matches these filters.</p>}
      {cursor && !loading && (
        <button onClick={() => load(cursor)}>Load more</button>
      )}
    </>
  )
}

interface Replay { match: boolean; masked_read: boolean; replayed: unknown; also?: { revision: string; same: boolean; result: unknown } }

function Detail({ id, onClose }: { id: string; onClose: () => void }) {
  const doc = useLoad(() => get<Decision>(`/admin/v1/decisions/${id}`), [id])
  const d = doc.data?.decision_id === id ? doc.data : undefined // not the one shown before
  const [replayError, setReplayError] = useState<Error>()
  const [replay, setReplay] = useState<Replay & { id: string }>()
  const [replaying, setReplaying] = useState(false)
  const runReplay = async () => {
    setReplaying(true)
    setReplayError(undefined)
    try {
      setReplay({ ...(await post<Replay>(`/admin/v1/decisions/${id}/replay?also=active`)), id })
    } catch (e) {
      setReplayError(e as Error)
    } finally {
      setReplaying(false)
    }
  }
  const error = doc.error ?? replayError
  return (
    <aside className="detail" aria-label="Decision detail">
      <button className="close" onClick={onClose} aria-label="Close the detail">×</button>
      <ErrorBox error={error} />
      {!d && !error && <Loading what="the decision" />}
      {d && (
        <>
          <h2>Decision {d.decision_id}</h2>
          <dl>
            <dt>Decided</dt>
            <dd>{when(d.decided_at)} ({d.decided_at})</dd>
            <dt>Outcome</dt>
            <dd className={d.allow ? 'ok' : 'deny'}>{d.allow === null ? 'undefined' : d.allow ? 'allow' : 'deny'}</dd>
            <dt>Revision</dt>
            <dd>
              <Link to={`/revisions?rev=${d.revision}`}>{d.revision}</Link>
            </dd>
            <dt>Timings</dt>
            <dd>evaluated in {(d.eval_ns / 1000).toFixed(0)} µs on {d.node}</dd>
            <dt>Client</dt>
            <dd>{d.client}</dd>
            {d.masked.length > 0 && (
              <>
                <dt>Masked</dt>
                <dd>{d.masked.join(', ')}</dd>
              </>
            )}
          </dl>
          <h3>Reasons</h3>
          <ul>
            {((d.result as { reasons?: { code: string; detail: string }[] })?.reasons ?? []).map((r) => (
              <li key={r.code + r.detail}>
                <code>{r.code}</code> {r.detail}
              </li>
            ))}
          </ul>
          <h3>Input</h3>
          <Json value={d.input} label="Input" />
          <h3>Result</h3>
          <Json value={d.result} label="Result" />
          <button onClick={runReplay} disabled={replaying}>
            Replay
          </button>
          {replay?.id === id && (
            <p role="status" className={replay.match ? 'ok' : 'error'}>
              {replay.match ? `Replay under ${d.revision} reproduces the logged result.` : 'Replay differs from the logged result.'}
              {replay.masked_read && ' The policy reads a masked input value.'}
              {replay.also && ` Under the active revision (${replay.also.revision}) the result is ${replay.also.same ? 'the same' : 'different'}.`}
            </p>
          )}
        </>
      )}
    </aside>
  )
}
