import { get, getReadiness } from '../api'
import { ErrorBox, Loading, useLoad, when } from '../components/ui'

interface Agent { id: string; version: string; revision: string; lagging: boolean; plugins: Record<string, string>; errors: string[]; last_seen: string }
interface Instance { node: string; version: string; revision: string; lagging: boolean; started_at: string; last_seen: string }
interface FleetDoc { active: string; instances: Instance[]; agents: Agent[]; lagging: number; quarantined: number; recent_quarantined: { agent: string; reason: string; event: string }[] }

export function Fleet() {
  const fleet = useLoad(() => get<FleetDoc>('/admin/v1/agents'), [])
  const ready = useLoad(getReadiness, [])
  return (
    <>
      <h1>Fleet</h1>
      {fleet.loading && <Loading what="the fleet" />}
      <ErrorBox error={fleet.error} />
      <section aria-labelledby="instances">
        <h2 id="instances">signalgate instances</h2>
        {ready.data && (
          <p className={ready.data.status === 'ok' ? 'ok' : 'error'}>
            This instance: {Object.entries(ready.data.checks ?? {}).map(([k, v]) => `${k}: ${v}`).join(', ')}
          </p>
        )}
        <ErrorBox error={ready.error} />
        {fleet.data && (
          <table className="list" aria-label="Instances">
            <thead>
              <tr><th>Instance</th><th>Version</th><th>Revision</th><th>Started</th><th>Last seen</th></tr>
            </thead>
            <tbody>
              {fleet.data.instances.map((i) => (
                <tr key={i.node}>
                  <td>{i.node}</td>
                  <td>{i.version}</td>
                  <td className={i.lagging ? 'error' : 'ok'}>{i.revision}{i.lagging && ' (lagging)'}</td>
                  <td>{when(i.started_at)}</td>
                  <td>{when(i.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {fleet.data && (
        <>
          <section aria-labelledby="agents">
            <h2 id="agents">OPA agents</h2>
            <p role="status">
              {fleet.data.agents.length} agents; active revision {fleet.data.active};{' '}
              <span className={fleet.data.lagging ? 'error' : 'ok'}>{fleet.data.lagging} lagging</span>.
            </p>
            <table className="list" aria-label="Agents">
              <thead>
                <tr><th>Agent</th><th>OPA</th><th>Revision</th><th>Plugins</th><th>Last seen</th><th>Errors</th></tr>
              </thead>
              <tbody>
                {fleet.data.agents.map((a) => (
                  <tr key={a.id}>
                    <td><code>{a.id}</code></td>
                    <td>{a.version}</td>
                    <td className={a.lagging ? 'error' : 'ok'}>{a.revision || '—'}{a.lagging && ' (lagging)'}</td>
                    <td>{Object.entries(a.plugins).map(([k, v]) => `${k} ${v}`).join(', ')}</td>
                    <td>{when(a.last_seen)}</td>
                    <td>{a.errors.join('; ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {fleet.data.agents.length === 0 && <p className="muted">No agent has reported yet. Point an OPA's bundle, decision_logs and status services at this server with an agent token.</p>}
          </section>
          <section aria-labelledby="quarantine">
            <h2 id="quarantine">Quarantined events</h2>
            <p>{fleet.data.quarantined.toLocaleString()} uploaded decision events could not be stored.</p>
            <table className="list" aria-label="Quarantined events">
              <thead>
                <tr><th>Agent</th><th>Why</th><th>Event</th></tr>
              </thead>
              <tbody>
                {fleet.data.recent_quarantined.map((q, i) => (
                  <tr key={i}>
                    <td>{q.agent}</td>
                    <td>{q.reason}</td>
                    <td><code className="clip">{q.event}</code></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      )}
    </>
  )
}
