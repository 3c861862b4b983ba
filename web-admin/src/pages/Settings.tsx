import { useEffect, useState } from 'react'
import { api, get, type GuardRails } from '../api'
import { can, type Me } from '../App'
import { ErrorBox, Loading } from '../components/ui'

interface Rule { path: string; action: 'hash' | 'erase' }
interface SettingsDoc { four_eyes: boolean; retention_days: number; masking: Rule[]; max_staleness_seconds: number; shadow_revision: string; rollout_guard_rails: GuardRails }

export function Settings({ me }: { me: Me }) {
  const [s, setS] = useState<SettingsDoc>()
  const [error, setError] = useState<Error>()
  const [saved, setSaved] = useState<string>()
  const admin = can(me, 'admin')
  useEffect(() => {
    get<SettingsDoc>('/admin/v1/settings').then(setS, setError)
  }, [])
  if (!s) return <>{error ? <ErrorBox error={error} /> : <Loading what="settings" />}</>
  const save = async () => {
    setError(undefined)
    setSaved(undefined)
    try {
      setS(await api<SettingsDoc>('PUT', '/admin/v1/settings', s))
      setSaved('Settings saved; every instance applies them within a second.')
    } catch (e) {
      setError(e as Error)
    }
  }
  const rails = (g: Partial<GuardRails>) => setS({ ...s, rollout_guard_rails: { ...s.rollout_guard_rails, ...g } })
  const rule = (i: number, r: Partial<Rule>) => setS({ ...s, masking: s.masking.map((m, j) => (i === j ? { ...m, ...r } : m)) })
  return (
    <>
      <h1>Settings</h1>
      <fieldset disabled={!admin}>
        <label className="check">
          <input type="checkbox" checked={s.four_eyes} onChange={(e) => setS({ ...s, four_eyes: e.target.checked })} /> Four-eyes publishing: a second
          publisher approves the exact draft before it is published
        </label>
        <label>
          Keep decisions for (days, 0 = forever){' '}
          <input type="number" min={0} max={36500} value={s.retention_days} onChange={(e) => setS({ ...s, retention_days: Number(e.target.value) })} />
        </label>
        <label>
          Refuse decisions when the policy is unconfirmed for (seconds, 0 = never){' '}
          <input type="number" min={0} max={86400} value={s.max_staleness_seconds} onChange={(e) => setS({ ...s, max_staleness_seconds: Number(e.target.value) })} />
        </label>
        <label>
          Revision in shadow (empty = none){' '}
          <input value={s.shadow_revision} onChange={(e) => setS({ ...s, shadow_revision: e.target.value })} placeholder="e.g. r7" size={6} />
        </label>
        <h2>Rollout guard rails</h2>
        <p className="muted">A rollout's candidate is rolled back on its own when, on the same inputs, it denies or fails more often than the active revision by more than these (points of percentage).</p>
        <label>
          Deny rate increase at most (points){' '}
          <input type="number" min={0} max={100} step={0.1} value={Math.round(1000 * s.rollout_guard_rails.max_deny_rate_increase) / 10}
            onChange={(e) => rails({ max_deny_rate_increase: Number(e.target.value) / 100 })} />
        </label>
        <label>
          Error rate increase at most (points){' '}
          <input type="number" min={0} max={100} step={0.1} value={Math.round(1000 * s.rollout_guard_rails.max_error_rate_increase) / 10}
            onChange={(e) => rails({ max_error_rate_increase: Number(e.target.value) / 100 })} />
        </label>
        <label>
          Compared decisions needed{' '}
          <input type="number" min={1} max={1000000} value={s.rollout_guard_rails.min_decisions} onChange={(e) => rails({ min_decisions: Number(e.target.value) })} />
        </label>
        <label>
          Over the last (seconds){' '}
          <input type="number" min={60} max={86400} value={s.rollout_guard_rails.window_seconds} onChange={(e) => rails({ window_seconds: Number(e.target.value) })} />
        </label>
        <h2>Masking before storage</h2>
        <p className="muted">A JSON pointer under /input; hash keeps one subject's decisions linkable without storing the value.</p>
        <table aria-label="Masking rules">
          <tbody>
            {s.masking.map((m, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Path of rule ${i + 1}`} value={m.path} onChange={(e) => rule(i, { path: e.target.value })} />
                </td>
                <td>
                  <select aria-label={`Action of rule ${i + 1}`} value={m.action} onChange={(e) => rule(i, { action: e.target.value as Rule['action'] })}>
                    <option value="hash">hash</option>
                    <option value="erase">erase</option>
                  </select>
                </td>
                <td>
                  <button onClick={() => setS({ ...s, masking: s.masking.filter((_, j) => j !== i) })} aria-label={`Remove rule ${i + 1}`}>
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button onClick={() => setS({ ...s, masking: [...s.masking, { path: '/input/subject/id', action: 'hash' }] })}>Add a masking rule</button>{' '}
        <button onClick={save}>Save settings</button>
      </fieldset>
      {!admin && <p className="muted">Only admins change settings.</p>}
      <ErrorBox error={error} />
      {saved && <p role="status" className="ok">{saved}</p>}
    </>
  )
}
