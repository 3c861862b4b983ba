import { useState } from 'react'
import { get, post, type Revision } from '../api'
import { can, type Me } from '../App'
import { ErrorBox, Loading, useLoad, when } from '../components/ui'
import { navigate, useLocation } from '../router'
import { sideBySide } from '../lib/diff'

interface Diff {
  modules: { path: string; status: string; diff: string }[]
  data: { path: string; op: string; before?: unknown; after?: unknown }[]
}

export function Revisions({ me }: { me: Me }) {
  const { search } = useLocation()
  const list = useLoad(() => get<{ revisions: Revision[]; active: string }>('/admin/v1/revisions'), [])
  // The revision shown lives in the URL (?rev=), so links, back and forward agree with the page.
  const selected = new URLSearchParams(search).get('rev') ?? ''
  const [against, setAgainst] = useState('')
  const [status, setStatus] = useState<string>()
  const [error, setError] = useState<Error>()
  const revs = list.data?.revisions ?? []
  const active = list.data?.active ?? ''
  const sel = selected || active
  const other = against || (sel === active ? 'draft' : active)
  const diff = useLoad(() => (sel && other && sel !== other ? get<Diff>(`/admin/v1/revisions/${sel}/diff/${other}`) : Promise.resolve(undefined)), [sel, other])

  const rollback = async (rev: string) => {
    if (!window.confirm(`Make ${rev} the active revision? Every instance switches to it within a second.`)) return
    setError(undefined)
    try {
      await post(`/admin/v1/revisions/${rev}/activate`)
      setStatus(`${rev} is now active.`)
      list.reload()
    } catch (e) {
      setError(e as Error)
    }
  }
  return (
    <>
      <h1>Revisions</h1>
      {list.loading && <Loading what="revisions" />}
      <ErrorBox error={list.error ?? error} />
      {status && <p role="status" className="ok">{status}</p>}
      <table className="list" aria-label="Revisions">
        <thead>
          <tr>
            <th>Revision</th>
            <th>Published</th>
            <th>By</th>
            <th>Message</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {revs.map((r) => (
            <tr key={r.revision} className={r.revision === sel ? 'selected' : undefined}>
              <td>
                <button className="linkish" onClick={() => navigate(`/revisions?rev=${r.revision}`)} aria-label={`Show ${r.revision}`}>
                  {r.revision}
                </button>
                {r.active && <strong> (active)</strong>}
              </td>
              <td>{when(r.created_at)}</td>
              <td>{r.author}</td>
              <td>{r.message}</td>
              <td>
                {!r.active && can(me, 'publisher') && (
                  <button onClick={() => rollback(r.revision)} aria-label={`Roll back to ${r.revision}`}>
                    Roll back to {r.revision}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sel && (
        <section aria-labelledby="diff">
          <h2 id="diff">
            Changes from {sel} to{' '}
            <select aria-label="Compare with" value={other} onChange={(e) => setAgainst(e.target.value)}>
              <option value="draft">the draft</option>
              {revs.map((r) => (
                <option key={r.revision} value={r.revision}>
                  {r.revision}
                </option>
              ))}
            </select>
          </h2>
          {diff.loading && <Loading what="the diff" />}
          <ErrorBox error={diff.error} />
          {diff.data && diff.data.modules.length === 0 && diff.data.data.length === 0 && <p>No differences.</p>}
          {diff.data?.data.length ? (
            <table aria-label="Data changes">
              <thead>
                <tr>
                  <th>Data path</th>
                  <th>Change</th>
                  <th>Before</th>
                  <th>After</th>
                </tr>
              </thead>
              <tbody>
                {diff.data.data.map((c) => (
                  <tr key={c.path}>
                    <td><code>{c.path}</code></td>
                    <td>{c.op}</td>
                    <td><code>{JSON.stringify(c.before)}</code></td>
                    <td><code>{JSON.stringify(c.after)}</code></td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {diff.data?.modules.map((m) => (
            <details key={m.path} open>
              <summary>
                {m.path} ({m.status})
              </summary>
              <table className="sbs" aria-label={`Changes to ${m.path}`}>
                <thead>
                  <tr>
                    <th>{sel}</th>
                    <th>{other}</th>
                  </tr>
                </thead>
                <tbody>
                  {sideBySide(m.diff).map((r, i) => (
                    <tr key={i} className={r.kind}>
                      <td className={r.kind === 'change' && r.left !== undefined ? 'del' : undefined}>{r.left}</td>
                      <td className={r.kind === 'change' && r.right !== undefined ? 'add' : undefined}>{r.right}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          ))}
        </section>
      )}
    </>
  )
}
