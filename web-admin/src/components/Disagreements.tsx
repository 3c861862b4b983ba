import { Link, when } from './ui'

export interface Disagreement {
  decision_id: string
  decided_at: string
  region: string
  source: string
  active_allow: boolean
  candidate_allow: boolean
  active_reasons: string[]
  candidate_reasons: string[]
}

const answer = (allow: boolean, reasons: string[]) => `${allow ? 'allow' : 'deny'} ${reasons.join(', ')}`

// Disagreements lists decisions the candidate and the active revision
// answered differently, the answer given first: the active revision's in
// shadow, the candidate's during a rollout.
export function Disagreements({ rows, label, answered }: { rows: Disagreement[]; label: string; answered: 'active' | 'candidate' }) {
  const active = { title: 'Active', answer: (d: Disagreement) => answer(d.active_allow, d.active_reasons) }
  const candidate = { title: 'Candidate', answer: (d: Disagreement) => answer(d.candidate_allow, d.candidate_reasons) }
  const columns = answered === 'active' ? [active, candidate] : [candidate, active]
  return (
    <table className="list" aria-label={label}>
      <thead>
        <tr>
          <th>Decision</th><th>Region</th><th>Source</th>
          {columns.map((c, i) => <th key={c.title}>{c.title}{i === 0 && ' (answered)'}</th>)}
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => (
          <tr key={d.decision_id}>
            <td><Link to={`/decisions?id=${d.decision_id}`}>{when(d.decided_at)}</Link></td>
            <td>{d.region}</td>
            <td>{d.source}</td>
            {columns.map((c) => <td key={c.title}>{c.answer(d)}</td>)}
          </tr>
        ))}
      </tbody>
    </table>
  )
}
