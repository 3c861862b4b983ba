import { useState, type FormEvent } from 'react'
import { get, post, type GuardRails, type Revision } from '../api'
import { can, type Me } from '../App'
import { Disagreements, type Disagreement } from '../components/Disagreements'
import { Bars, ErrorBox, Link, Loading, useLoad, when } from '../components/ui'
import { PERCENTS, drift, percent, plan, type Step } from '../lib/rollout'

interface Rollout {
  id: number
  candidate: string
  baseline: string
  state: string
  percent: number
  steps: Required<Step>[]
  next_step: Required<Step> | null
  created_by: string
  created_at: string
  ended_at?: string
  ended_by?: string
  end_reason?: string
}
interface Tally { start?: string; decisions: number; candidate_deny_rate: number; baseline_deny_rate: number; candidate_error_rate: number; baseline_error_rate: number; disagreed: number }
interface Report {
  rollout: Rollout
  guard_rails: GuardRails
  window: Tally
  series: Tally[]
  samples: Disagreement[]
}

export function Rollouts({ me }: { me: Me }) {
  const list = useLoad(() => get<{ rollouts: Rollout[]; guard_rails: GuardRails }>('/admin/v1/rollouts'), [])
  const [chosen, setChosen] = useState<number>()
  const [error, setError] = useState<Error>()
  const [status, setStatus] = useState<string>()
  const running = list.data?.rollouts.find((r) => r.state === 'running')
  const shown = chosen ?? running?.id ?? list.data?.rollouts[0]?.id
  const publisher = can(me, 'publisher')

  const change = async (what: string, path: string, body?: unknown) => {
    setError(undefined)
    try {
      const r = await post<Rollout>(path, body)
      setStatus(`${what}: rollout ${r.id} of ${r.candidate} is ${r.state.replace('_', ' ')}${r.state === 'running' ? ` at ${r.percent}%` : ''}.`)
      list.reload()
    } catch (err) {
      setError(err as Error)
    }
  }
  const g = list.data?.guard_rails
  return (
    <>
      <h1>Rollouts</h1>
      <p className="muted">
        A published candidate decides for a stable share of subjects on the decision API while the active revision decides for everyone else (OPA
        agents keep the active revision). The active revision decides the candidate's inputs again off the response path; when the candidate drifts
        past the guard rails, it is rolled back on its own.
      </p>
      {g && (
        <p aria-label="Guard rails">
          Guard rails: deny rate at most {drift(g.max_deny_rate_increase, 0)}, error rate at most {drift(g.max_error_rate_increase, 0)} above the
          active revision, over the last {Math.round(g.window_seconds / 60)} minutes once {g.min_decisions.toLocaleString()} decisions are compared.{' '}
          <Link to="/settings">Change them in Settings</Link>.
        </p>
      )}
      <ErrorBox error={error ?? list.error} />
      {status && <p role="status" className="ok">{status}</p>}
      {list.loading && <Loading what="rollouts" />}
      {publisher && list.data && !running && <StartForm onStart={(candidate, steps) => change('Started', '/admin/v1/rollouts', { candidate, steps })} />}
      {running && publisher && <Controls rollout={running} change={change} />}
      {shown !== undefined && <Comparison id={shown} key={`${shown}-${list.data?.rollouts.find((r) => r.id === shown)?.state}`} />}
      <h2>History</h2>
      <table className="list" aria-label="Rollouts">
        <thead>
          <tr><th>Rollout</th><th>Candidate</th><th>Against</th><th>State</th><th>Share</th><th>Started</th><th>Ended</th></tr>
        </thead>
        <tbody>
          {list.data?.rollouts.map((r) => (
            <tr key={r.id} aria-selected={r.id === shown}>
              <td><button className="linkish" onClick={() => setChosen(r.id)} aria-label={`Show rollout ${r.id}`}>{r.id}</button></td>
              <td><Link to={`/revisions?rev=${r.candidate}`}>{r.candidate}</Link></td>
              <td>{r.baseline}</td>
              <td className={r.state === 'rolled_back' || r.state === 'cancelled' ? 'error' : r.state === 'completed' ? 'ok' : undefined}>
                {r.state.replace('_', ' ')}
              </td>
              <td>{r.state === 'running' ? `${r.percent}%` : ''}</td>
              <td>{when(r.created_at)} by {r.created_by}</td>
              <td>{r.ended_at && `${when(r.ended_at)} by ${r.ended_by}: ${r.end_reason}`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}

function StartForm({ onStart }: { onStart: (candidate: string, steps: Step[]) => void }) {
  const revisions = useLoad(() => get<{ revisions: Revision[] }>('/admin/v1/revisions'), [])
  const [candidate, setCandidate] = useState('')
  const [first, setFirst] = useState(1)
  const [every, setEvery] = useState(0)
  const submit = (e: FormEvent) => {
    e.preventDefault()
    onStart(candidate, plan(first, every, new Date()))
  }
  return (
    <form onSubmit={submit} aria-label="New rollout" className="toolbar">
      <ErrorBox error={revisions.error} />
      <label>
        Candidate
        <select value={candidate} onChange={(e) => setCandidate(e.target.value)} required>
          <option value="">choose…</option>
          {revisions.data?.revisions.filter((r) => !r.active).map((r) => (
            <option key={r.revision} value={r.revision}>
              {r.revision} {r.message}
            </option>
          ))}
        </select>
      </label>
      <label>
        Start at
        <select value={first} onChange={(e) => setFirst(Number(e.target.value))}>
          {PERCENTS.map((p) => <option key={p} value={p}>{p}%</option>)}
        </select>
      </label>
      <label>
        Then step up every (minutes, 0 by hand)
        <input type="number" min={0} max={10080} value={every} onChange={(e) => setEvery(Number(e.target.value))} />
      </label>
      <button type="submit">Start rollout</button>
    </form>
  )
}

function Controls({ rollout: r, change }: { rollout: Rollout; change: (what: string, path: string, body?: unknown) => void }) {
  const [to, setTo] = useState(PERCENTS.find((p) => p > r.percent) ?? 100)
  const [reason, setReason] = useState('')
  return (
    <section aria-labelledby="running">
      <h2 id="running">Rollout {r.id}: {r.candidate} for {r.percent}% of subjects</h2>
      <progress max={100} value={r.percent} aria-label="Share of subjects on the candidate">{r.percent}%</progress>
      <p>
        Against {r.baseline}, started {when(r.created_at)} by {r.created_by}.{' '}
        {r.next_step ? `Next: ${r.next_step.percent}% at ${when(r.next_step.at)}.` : 'No step is scheduled.'}
      </p>
      <div className="toolbar">
        <label>
          Share
          <select value={to} onChange={(e) => setTo(Number(e.target.value))}>
            {PERCENTS.map((p) => <option key={p} value={p}>{p}%</option>)}
          </select>
        </label>
        <button onClick={() => change('Stepped', `/admin/v1/rollouts/${r.id}/step`, { percent: to })}>Set share now</button>
        <label>
          Reason
          <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="why roll back" />
        </label>
        <button
          onClick={() => window.confirm(`Roll ${r.candidate} back? ${r.baseline} decides for everyone again.`) && change('Rolled back', `/admin/v1/rollouts/${r.id}/rollback`, { reason })}
        >
          Roll back
        </button>
        <button onClick={() => window.confirm(`Make ${r.candidate} the active revision for everyone?`) && change('Completed', `/admin/v1/rollouts/${r.id}/complete`)}>
          Complete
        </button>
      </div>
    </section>
  )
}

function Comparison({ id }: { id: number }) {
  const doc = useLoad(() => get<Report>(`/admin/v1/rollouts/${id}`), [id])
  const d = doc.data
  if (doc.loading) return <Loading what={`rollout ${id}`} />
  if (!d) return <ErrorBox error={doc.error} />
  const w = d.window
  const series = d.series.slice(-30)
  return (
    <section aria-labelledby="comparison">
      <h2 id="comparison">Rollout {id}: {d.rollout.candidate} against {d.rollout.baseline}</h2>
      <table className="list" aria-label="Guard rail comparison">
        <thead>
          <tr><th /><th>{d.rollout.candidate} (candidate)</th><th>{d.rollout.baseline} (active), same inputs</th><th>Drift</th></tr>
        </thead>
        <tbody>
          <tr>
            <th scope="row">Deny rate</th>
            <td>{percent(w.candidate_deny_rate)}</td>
            <td>{percent(w.baseline_deny_rate)}</td>
            <td>{drift(w.candidate_deny_rate, w.baseline_deny_rate)}</td>
          </tr>
          <tr>
            <th scope="row">Error rate</th>
            <td>{percent(w.candidate_error_rate)}</td>
            <td>{percent(w.baseline_error_rate)}</td>
            <td>{drift(w.candidate_error_rate, w.baseline_error_rate)}</td>
          </tr>
        </tbody>
      </table>
      <p className="muted">
        {w.decisions.toLocaleString()} decisions compared in the last {Math.round(d.guard_rails.window_seconds / 60)} minutes, {w.disagreed.toLocaleString()}{' '}
        answered differently.
      </p>
      <div className="grid">
        <section aria-labelledby="deny-candidate">
          <h3 id="deny-candidate">Candidate deny rate per minute (%)</h3>
          <Bars label="Candidate deny rate per minute" items={series.map((p) => ({ label: when(p.start), value: Math.round(1000 * p.candidate_deny_rate) / 10 }))} />
        </section>
        <section aria-labelledby="deny-active">
          <h3 id="deny-active">Active deny rate per minute (%)</h3>
          <Bars label="Active deny rate per minute" items={series.map((p) => ({ label: when(p.start), value: Math.round(1000 * p.baseline_deny_rate) / 10 }))} />
        </section>
        <section aria-labelledby="disagreements">
          <h3 id="disagreements">Disagreements per minute</h3>
          <Bars label="Disagreements per minute" items={series.map((p) => ({ label: when(p.start), value: p.disagreed }))} />
        </section>
      </div>
      <Disagreements rows={d.samples} label="Rollout disagreements" answered="candidate" />
    </section>
  )
}
