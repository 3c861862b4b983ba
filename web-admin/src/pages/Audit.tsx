import { get } from '../api'
import { ErrorBox, Loading, useLoad, when } from '../components/ui'

interface Entry { seq: number; at: string; actor: string; action: string; target: string; detail?: unknown }

export function Audit() {
  const trail = useLoad(() => get<{ entries: Entry[] }>('/admin/v1/audit?limit=200'), [])
  const verify = useLoad(() => get<{ intact: boolean; entries: number; break?: { seq: number; reason: string } }>('/admin/v1/audit/verify'), [])
  return (
    <>
      <h1>Audit trail</h1>
      {verify.data && (
        <p role="status" className={verify.data.intact ? 'ok' : 'error'}>
          {verify.data.intact ? `Hash chain intact: ${verify.data.entries} entries.` : `Hash chain BROKEN at entry ${verify.data.break?.seq}: ${verify.data.break?.reason}`}
        </p>
      )}
      <ErrorBox error={verify.error} />
      {trail.loading && <Loading what="the audit trail" />}
      <ErrorBox error={trail.error} />
      <table className="list" aria-label="Audit trail">
        <thead>
          <tr>
            <th>#</th>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>Target</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {trail.data?.entries.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{when(e.at)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target}</td>
              <td>
                <code className="clip">{JSON.stringify(e.detail)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
