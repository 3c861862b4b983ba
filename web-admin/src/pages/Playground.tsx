import { useState } from 'react'
import { post } from '../api'
import { ErrorBox, Json } from '../components/ui'
import { fromLocalInput } from '../lib/data'

// One example input per reason code, to start from.
const examples: Record<string, unknown> = {
  allowed: { signal: { source: 'ai_chat', topics: ['hiking'], observed_at: '2026-01-10T12:00:00Z' }, subject: { id: 'u-42', region: 'US' }, purpose: 'ads' },
  region_excluded: { signal: { source: 'ai_chat', topics: ['hiking'] }, subject: { id: 'u-1', region: 'fr' }, purpose: 'ads' },
  sensitive_category: { signal: { source: 'ai_chat', topics: ['depression'] }, subject: { region: 'US' }, purpose: 'content_recommendation' },
  before_rollout: { signal: { source: 'ai_chat', topics: [], observed_at: '2025-12-15T23:59:59Z' }, subject: { region: 'US' }, purpose: 'ads' },
  no_rollout: { signal: { source: 'podcast' }, subject: { region: 'US' }, purpose: 'ads' },
  minor: { signal: { source: 'like' }, subject: { region: 'US', minor: true }, purpose: 'ads' },
  invalid_input: { signal: { source: 'ai_chat' }, subject: { region: 'France' }, purpose: 'ads' },
}

interface Evaluation {
  revision: string
  as_of: string
  result: { allow: boolean; reasons: { code: string; detail: string }[] }
  eval_ns: number
  explanation: { reasons: { code: string; detail: string; rules: { rule: string; file: string; row: number }[] }[]; fails: string[] }
}

export function Playground() {
  const [input, setInput] = useState(JSON.stringify(examples.allowed, null, 2))
  const [target, setTarget] = useState('draft')
  const [asOf, setAsOf] = useState('')
  const [out, setOut] = useState<Evaluation>()
  const [error, setError] = useState<Error | string>()
  const run = async () => {
    setError(undefined)
    let parsed: unknown
    try {
      parsed = JSON.parse(input)
    } catch (e) {
      setError(`The input is not JSON: ${(e as Error).message}`)
      return
    }
    try {
      const body: Record<string, unknown> = { input: parsed, revision: target }
      if (asOf) body.as_of = fromLocalInput(asOf)
      setOut(await post<Evaluation>('/admin/v1/evaluate', body))
    } catch (e) {
      setError(e as Error)
    }
  }
  return (
    <>
      <h1>Playground</h1>
      <div className="toolbar">
        <label>
          Example{' '}
          <select aria-label="Example" onChange={(e) => setInput(JSON.stringify(examples[e.target.value], null, 2))} defaultValue="allowed">
            {Object.keys(examples).map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          Evaluate against <input aria-label="Evaluate against" value={target} onChange={(e) => setTarget(e.target.value)} size={8} />
        </label>
        <label>
          As of (UTC) <input type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
        </label>
        <button onClick={run}>Evaluate</button>
      </div>
      <label className="block">
        Input
        <textarea value={input} onChange={(e) => setInput(e.target.value)} rows={12} spellCheck={false} />
      </label>
      <ErrorBox error={error} />
      {out && (
        <section aria-label="Evaluation">
          <p role="status" className={out.result.allow ? 'ok' : 'deny'}>
            {out.result.allow ? 'Allowed' : 'Denied'} by {out.revision} as of {out.as_of} in {(out.eval_ns / 1000).toFixed(0)} µs
          </p>
          <ul>
            {out.explanation.reasons.map((r) => (
              <li key={r.code + r.detail}>
                <code>{r.code}</code> {r.detail}{' '}
                <span className="muted">{r.rules.map((h) => `${h.rule} (${h.file}:${h.row})`).join(', ')}</span>
              </li>
            ))}
          </ul>
          <details>
            <summary>Failed expressions</summary>
            <pre>{out.explanation.fails.join('\n')}</pre>
          </details>
          <Json value={out.result} label="Result" />
        </section>
      )}
    </>
  )
}
