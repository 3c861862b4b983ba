import { useEffect, useMemo, useState } from 'react'
import { ApiError, api, get, post } from '../api'
import type { Me } from '../App'
import { can } from '../App'
import { Editor } from '../components/Editor'
import { ErrorBox, Link, Loading } from '../components/ui'
import type { Problem } from '../lib/diagnostics'
import { fromLocalInput, setRollout, targeting, toLocalInput, withTargeting, type Data } from '../lib/data'
import { EU_EEA, UK, addRegions, normalizeRegion, removeRegion, sortKeys } from '../lib/regions'
import { setLeaveGuard } from '../router'

interface Draft { modules: Record<string, string>; data: Data; etag: string; content_hash: string; updated_by?: string }
interface Report { ok: boolean; errors: Problem[]; tests: { name: string; pass: boolean; message: string }[] }

const DATA_FILE = 'data.json'

export function Policy({ me }: { me: Me }) {
  const [draft, setDraft] = useState<Draft>()
  const [modules, setModules] = useState<Record<string, string>>({})
  const [data, setData] = useState<Data>({})
  const [raw, setRaw] = useState('')
  const [rawError, setRawError] = useState<string>()
  const [file, setFile] = useState<string>(DATA_FILE)
  const [dirty, setDirty] = useState(false)
  const [error, setError] = useState<Error | string>()
  const [notice, setNotice] = useState<string>()
  const [report, setReport] = useState<Report>()
  const [busy, setBusy] = useState('')
  const editable = can(me, 'editor')

  const load = async () => {
    setError(undefined)
    try {
      const d = await get<Draft>('/admin/v1/draft')
      setDraft(d)
      setModules(d.modules)
      setData(d.data)
      setRaw(JSON.stringify(d.data, null, 2))
      setDirty(false)
      setFile((f) => (f === DATA_FILE || f in d.modules ? f : DATA_FILE))
    } catch (e) {
      setError(e as Error)
    }
  }
  useEffect(() => {
    load()
  }, [])
  // Unsaved-change guard: leaving the page, or the app, asks first.
  useEffect(() => {
    if (!dirty) return
    const guard = (e: BeforeUnloadEvent) => e.preventDefault()
    window.addEventListener('beforeunload', guard)
    setLeaveGuard('The draft has unsaved changes. Leave and lose them?')
    return () => {
      window.removeEventListener('beforeunload', guard)
      setLeaveGuard(null)
    }
  }, [dirty])

  const changeData = (next: Data) => {
    setData(next)
    setRaw(JSON.stringify(next, null, 2))
    setRawError(undefined)
    setDirty(true)
  }
  const changeRaw = (text: string) => {
    setRaw(text)
    setDirty(true)
    try {
      const v = JSON.parse(text)
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('the data document must be a JSON object')
      setData(v)
      setRawError(undefined)
    } catch (e) {
      setRawError(`data.json: ${(e as Error).message}`)
    }
  }

  const save = async (): Promise<boolean> => {
    if (!draft) return false
    if (rawError) {
      setError(rawError)
      return false
    }
    setBusy('Saving')
    setError(undefined)
    try {
      await api('PUT', '/admin/v1/draft', { modules, data }, { 'If-Match': draft.etag })
      await load()
      setNotice('Draft saved.')
      return true
    } catch (e) {
      const err = e as ApiError
      setError(err.status === 412 ? 'Someone saved the draft after you opened it, so nothing was saved. Copy your changes, then reload the draft to see theirs.' : err)
      return false
    } finally {
      setBusy('')
    }
  }
  const validate = async () => {
    if (dirty && !(await save())) return
    setBusy('Validating')
    try {
      setReport(await post<Report>('/admin/v1/draft/validate'))
    } catch (e) {
      setError(e as Error)
    } finally {
      setBusy('')
    }
  }

  const problems = useMemo(() => (report?.errors ?? []).filter((p) => p.file === file), [report, file])
  if (!draft) return <>{error ? <ErrorBox error={error} /> : <Loading what="the draft" />}</>
  const t = targeting(data)
  return (
    <>
      <h1>Policy</h1>
      <p className="muted">
        Draft {draft.content_hash.slice(0, 19)}… {draft.updated_by ? `saved by ${draft.updated_by}` : '(the active revision, unchanged)'}
        {dirty && <strong className="dirty"> — unsaved changes</strong>}
      </p>
      <div className="toolbar">
        {editable && (
          <>
            <button onClick={save} disabled={!dirty || !!busy}>Save</button>
            <button onClick={validate} disabled={!!busy}>Validate</button>
            <button onClick={load} disabled={!!busy}>Reload</button>
          </>
        )}
        {busy && <span aria-live="polite">{busy}…</span>}
      </div>
      <ErrorBox error={error} />
      {notice && !error && <p role="status" className="ok">{notice}</p>}
      {report && <ReportView report={report} />}
      <div className="workspace">
        <nav aria-label="Files" className="files">
          <ul>
            {[...Object.keys(modules).sort(), DATA_FILE].map((f) => (
              <li key={f}>
                <button className={f === file ? 'current' : undefined} onClick={() => setFile(f)} aria-current={f === file}>
                  {f}
                  {report?.errors.some((p) => p.file === f) && ' ⚠'}
                </button>
              </li>
            ))}
          </ul>
        </nav>
        <div className="pane">
          {file === DATA_FILE ? (
            <>
              <Editor label="data.json" language="json" value={raw} onChange={changeRaw} problems={problems} />
              <ErrorBox error={rawError} />
            </>
          ) : (
            <Editor
              label={file}
              language="rego"
              value={modules[file] ?? ''}
              onChange={(v) => {
                setModules((m) => ({ ...m, [file]: v }))
                setDirty(true)
              }}
              problems={problems}
            />
          )}
        </div>
      </div>
      {editable && !rawError && (
        <>
          <RolloutsEditor data={data} onChange={changeData} />
          <MapEditor title="Sensitive categories" keyLabel="Category" valueLabel="Description" map={t.sensitive_categories ?? {}} onChange={(m) => changeData(withTargeting(data, 'sensitive_categories', m))} />
          <MapEditor title="Topic taxonomy" keyLabel="Topic" valueLabel="Category" map={t.topic_categories ?? {}} onChange={(m) => changeData(withTargeting(data, 'topic_categories', m))} />
        </>
      )}
      {can(me, 'editor') && <Publish me={me} draft={draft} dirty={dirty} />}
    </>
  )
}

function ReportView({ report }: { report: Report }) {
  const failed = report.tests.filter((t) => !t.pass)
  return (
    <section aria-label="Validation" className={report.ok ? 'ok' : 'error'}>
      <p role="status">
        {report.ok ? 'Valid' : 'Not valid'}: {report.errors.length} problems, {report.tests.length - failed.length} of {report.tests.length} tests pass.
      </p>
      <ul>
        {report.errors.map((p, i) => (
          <li key={i}>
            {p.file}:{p.row}:{p.col}: {p.message}
          </li>
        ))}
      </ul>
      <details>
        <summary>Tests</summary>
        <ul className="tests">
          {report.tests.map((t) => (
            <li key={t.name} className={t.pass ? 'ok' : 'error'}>
              {t.pass ? '✓' : '✗'} {t.name} {t.message}
            </li>
          ))}
        </ul>
      </details>
    </section>
  )
}

function RolloutsEditor({ data, onChange }: { data: Data; onChange: (d: Data) => void }) {
  const t = targeting(data)
  const rollouts = t.rollouts ?? {}
  const aliases = t.region_aliases ?? {}
  const [adding, setAdding] = useState<Record<string, string>>({})
  const [error, setError] = useState<string>()
  const update = (source: string, purpose: string, next: { start?: string; excluded_regions?: Record<string, string> }) =>
    onChange(withTargeting(data, 'rollouts', setRollout(rollouts, source, purpose, next)))
  return (
    <section aria-labelledby="rollouts">
      <h2 id="rollouts">Rollouts and excluded regions</h2>
      <p className="muted">
        Aliases: {Object.entries(aliases).map(([a, c]) => `${a} = ${c}`).join(', ') || 'none'}. Dates are UTC.
      </p>
      <ErrorBox error={error} />
      {Object.entries(rollouts).sort().map(([source, purposes]) =>
        Object.entries(purposes).sort().map(([purpose, r]) => {
          const key = `${source}/${purpose}`
          const excluded = r.excluded_regions ?? {}
          return (
            <fieldset key={key} className="rollout">
              <legend>
                {source} · {purpose}
              </legend>
              <label>
                Start of {key}
                <input type="datetime-local" value={toLocalInput(r.start)} onChange={(e) => update(source, purpose, { ...r, start: fromLocalInput(e.target.value) })} />
              </label>
              <div className="chips" role="group" aria-label={`Excluded regions of ${key}`}>
                {Object.entries(excluded).map(([code, name]) => (
                  <span key={code} className="chip">
                    {code} {name}
                    <button aria-label={`Remove ${code} from ${key}`} onClick={() => update(source, purpose, { ...r, excluded_regions: removeRegion(excluded, code) })}>
                      ×
                    </button>
                  </span>
                ))}
              </div>
              <form
                onSubmit={(e) => {
                  e.preventDefault()
                  try {
                    const [code, ...name] = (adding[key] ?? '').trim().split(/\s+/)
                    const c = normalizeRegion(code ?? '', aliases)
                    update(source, purpose, { ...r, excluded_regions: addRegions(excluded, { [c]: name.join(' ') || c }) })
                    setAdding({ ...adding, [key]: '' })
                    setError(undefined)
                  } catch (err) {
                    setError((err as Error).message)
                  }
                }}
              >
                <label>
                  Exclude region of {key}
                  <input placeholder="e.g. CH Switzerland" value={adding[key] ?? ''} onChange={(e) => setAdding({ ...adding, [key]: e.target.value })} />
                </label>
                <button type="submit">Exclude</button>
                <button type="button" onClick={() => update(source, purpose, { ...r, excluded_regions: addRegions(excluded, EU_EEA) })}>
                  + EU/EEA
                </button>
                <button type="button" onClick={() => update(source, purpose, { ...r, excluded_regions: addRegions(excluded, UK) })}>
                  + UK
                </button>
              </form>
            </fieldset>
          )
        }),
      )}
    </section>
  )
}

function MapEditor({ title, keyLabel, valueLabel, map, onChange }: {
  title: string
  keyLabel: string
  valueLabel: string
  map: Record<string, string>
  onChange: (m: Record<string, string>) => void
}) {
  const [k, setK] = useState('')
  const [v, setV] = useState('')
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      <details>
        <summary>{Object.keys(map).length} entries</summary>
        <table>
          <tbody>
            {Object.entries(map).map(([key, value]) => (
              <tr key={key}>
                <th scope="row">{key}</th>
                <td>{value}</td>
                <td>
                  <button
                    aria-label={`Remove ${key}`}
                    onClick={() => {
                      const next = { ...map }
                      delete next[key]
                      onChange(next)
                    }}
                  >
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          if (!k.trim()) return
          onChange(sortKeys({ ...map, [k.trim().toLowerCase()]: v.trim() }))
          setK('')
          setV('')
        }}
      >
        <label>
          {keyLabel} <input value={k} onChange={(e) => setK(e.target.value)} />
        </label>
        <label>
          {valueLabel} <input value={v} onChange={(e) => setV(e.target.value)} />
        </label>
        <button type="submit">Add to {title.toLowerCase()}</button>
      </form>
    </section>
  )
}

interface Impact {
  job: string
  state: string
  progress: number
  done: number
  total: number
  error?: string
  result?: {
    evaluated: number
    changed: number
    transitions: { transition: string; count: number; samples: string[] }[]
    by_reason: { code: string; added: number; removed: number; samples: string[] }[]
    by_region: { region: string; allow_to_deny: number; deny_to_allow: number; reasons_changed: number; samples: string[] }[]
  }
}

function Publish({ me, draft, dirty }: { me: Me; draft: Draft; dirty: boolean }) {
  const [impact, setImpact] = useState<Impact>()
  const [message, setMessage] = useState('')
  const [error, setError] = useState<Error | string>()
  const [done, setDone] = useState<string>()
  const [fourEyes, setFourEyes] = useState(false)
  const [asOf, setAsOf] = useState('')
  useEffect(() => {
    get<{ four_eyes: boolean }>('/admin/v1/settings').then((s) => setFourEyes(s.four_eyes), () => undefined)
    get<{ jobs: Impact[] }>(`/admin/v1/impact?limit=1&draft_hash=${encodeURIComponent(draft.content_hash)}`).then((l) => setImpact(l.jobs[0]), () => undefined)
  }, [draft.content_hash])
  useEffect(() => {
    if (impact?.state !== 'running') return
    const t = setTimeout(() => get<Impact>(`/admin/v1/impact/${impact.job}`).then(setImpact, setError), 400)
    return () => clearTimeout(t)
  }, [impact])
  const start = async () => {
    setError(undefined)
    try {
      setImpact(await post<Impact>('/admin/v1/draft/impact', asOf ? { as_of: fromLocalInput(asOf) } : {}))
    } catch (e) {
      setError(e as Error)
    }
  }
  const publish = async () => {
    setError(undefined)
    try {
      const r = await post<{ revision: string }>('/admin/v1/draft/publish', { message })
      setDone(`Published ${r.revision}.`)
    } catch (e) {
      const err = e as ApiError
      setError(err.status === 422 ? 'The draft does not validate: run Validate and fix the problems.' : err)
    }
  }
  const approve = async () => {
    try {
      await post('/admin/v1/draft/approve', { content_hash: draft.content_hash })
      setDone('Approved: another publisher may now publish this exact draft.')
    } catch (e) {
      setError(e as Error)
    }
  }
  return (
    <section aria-labelledby="publish">
      <h2 id="publish">Impact and publish</h2>
      {dirty && <p className="muted">Save the draft first: impact and publish use the saved draft.</p>}
      <div className="toolbar">
        <label>
          As of (UTC, optional: replay recent inputs as if they arrived then)
          <input type="datetime-local" value={asOf} onChange={(e) => setAsOf(e.target.value)} />
        </label>
        <button onClick={start} disabled={dirty || impact?.state === 'running'}>
          Analyse impact
        </button>
      </div>
      {impact && <ImpactView impact={impact} />}
      {can(me, 'publisher') && (
        <div className="publish">
          <label>
            Message <input value={message} onChange={(e) => setMessage(e.target.value)} placeholder="what changes and why" />
          </label>
          <button onClick={publish} disabled={dirty || !message}>
            Publish
          </button>
          {fourEyes && (
            <button onClick={approve} disabled={dirty}>
              Approve this draft
            </button>
          )}
          {fourEyes && <span className="muted"> Four-eyes mode: publishing needs another publisher's approval of this exact draft.</span>}
        </div>
      )}
      <ErrorBox error={error} />
      {done && (
        <p role="status" className="ok">
          {done} <Link to="/revisions">See the revisions</Link>
        </p>
      )}
    </section>
  )
}

function ImpactView({ impact }: { impact: Impact }) {
  if (impact.state === 'failed') return <p role="alert" className="error">Impact analysis failed: {impact.error}</p>
  if (impact.state === 'running' || !impact.result)
    return (
      <p aria-live="polite">
        Analysing… <progress value={impact.progress} max={1} aria-label="Impact analysis progress" /> {impact.done.toLocaleString()} of {impact.total.toLocaleString()}
      </p>
    )
  const r = impact.result
  const sample = (ids: string[]) =>
    ids.slice(0, 3).map((id) => (
      <Link key={id} to={`/decisions?id=${id}`}>
        …{id.slice(-8)}
      </Link>
    ))
  return (
    <div aria-label="Impact" className="impact">
      <p role="status">
        {r.changed.toLocaleString()} of {r.evaluated.toLocaleString()} recent decisions would change.
      </p>
      <table>
        <caption>By transition</caption>
        <tbody>
          {r.transitions.map((t) => (
            <tr key={t.transition}>
              <th scope="row">{t.transition.replaceAll('_', ' ')}</th>
              <td className="num">{t.count.toLocaleString()}</td>
              <td>{sample(t.samples)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>By reason</caption>
        <tbody>
          {r.by_reason.map((t) => (
            <tr key={t.code}>
              <th scope="row">{t.code}</th>
              <td>+{t.added.toLocaleString()} / −{t.removed.toLocaleString()}</td>
              <td>{sample(t.samples)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table>
        <caption>By region</caption>
        <tbody>
          {r.by_region.slice(0, 15).map((t) => (
            <tr key={t.region}>
              <th scope="row">{t.region || '(none)'}</th>
              <td>
                {t.allow_to_deny} allow→deny, {t.deny_to_allow} deny→allow, {t.reasons_changed} reasons changed
              </td>
              <td>{sample(t.samples)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
