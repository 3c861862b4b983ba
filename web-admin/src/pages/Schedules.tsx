import { useState, type FormEvent } from 'react'
import { api, get, post, type Revision } from '../api'
import { can, type Me } from '../App'
import { ErrorBox, Loading, useLoad, when } from '../components/ui'
import { fromLocalInput } from '../lib/data'

interface Schedule { id: number; revision: string; at: string; state: string; created_by: string; resolved_by?: string; resolved_at?: string }

export function Schedules({ me }: { me: Me }) {
  const list = useLoad(() => get<{ schedules: Schedule[] }>('/admin/v1/schedules'), [])
  const revisions = useLoad(() => get<{ revisions: Revision[] }>('/admin/v1/revisions'), [])
  const [revision, setRevision] = useState('')
  const [at, setAt] = useState('')
  const [error, setError] = useState<Error>()
  const [status, setStatus] = useState<string>()
  const publisher = can(me, 'publisher')

  const schedule = async (e: FormEvent) => {
    e.preventDefault()
    setError(undefined)
    try {
      const s = await post<Schedule>('/admin/v1/schedules', { revision, at: fromLocalInput(at) })
      setStatus(`${s.revision} becomes active on every instance at ${s.at}.`)
      list.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const cancel = async (s: Schedule) => {
    if (!window.confirm(`Cancel the activation of ${s.revision} at ${s.at}?`)) return
    setError(undefined)
    try {
      await api('DELETE', `/admin/v1/schedules/${s.id}`)
      setStatus(`The activation of ${s.revision} is cancelled.`)
      list.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  return (
    <>
      <h1>Schedules</h1>
      <p className="muted">
        A published revision becomes active at an instant on every instance at once: publish it without activating, then schedule it.
      </p>
      <ErrorBox error={error ?? list.error ?? revisions.error} />
      {status && <p role="status" className="ok">{status}</p>}
      {publisher && (
        <form onSubmit={schedule} aria-label="New schedule" className="toolbar">
          <label>
            Revision
            <select value={revision} onChange={(e) => setRevision(e.target.value)} required>
              <option value="">choose…</option>
              {revisions.data?.revisions.map((r) => (
                <option key={r.revision} value={r.revision}>
                  {r.revision} {r.active ? '(active)' : ''} {r.message}
                </option>
              ))}
            </select>
          </label>
          <label>
            Activate at (UTC)
            <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} required />
          </label>
          <button type="submit">Schedule</button>
        </form>
      )}
      {list.loading && <Loading what="schedules" />}
      <table className="list" aria-label="Schedules">
        <thead>
          <tr><th>Revision</th><th>At</th><th>State</th><th>By</th><th /></tr>
        </thead>
        <tbody>
          {list.data?.schedules.map((s) => (
            <tr key={s.id}>
              <td>{s.revision}</td>
              <td>{when(s.at)}</td>
              <td className={s.state === 'done' ? 'ok' : undefined}>{s.state}{s.resolved_by && ` (${s.resolved_by})`}</td>
              <td>{s.created_by}</td>
              <td>
                {s.state === 'pending' && publisher && (
                  <button onClick={() => cancel(s)} aria-label={`Cancel the activation of ${s.revision}`}>
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
