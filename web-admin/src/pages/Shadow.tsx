import { get } from '../api'
import { Disagreements, type Disagreement } from '../components/Disagreements'
import { Bars, ErrorBox, Loading, useLoad, when } from '../components/ui'

interface ShadowDoc {
  candidate: string
  from: string
  evaluated: number
  disagreed: number
  rate: number
  series: { start: string; evaluated: number; disagreed: number }[]
  by_region: Record<string, number>
  by_source: Record<string, number>
  by_reason: Record<string, number>
  samples: Disagreement[]
}

const ranked = (m: Record<string, number>) =>
  Object.entries(m)
    .sort(([a, x], [b, y]) => y - x || a.localeCompare(b))
    .slice(0, 10)
    .map(([label, value]) => ({ label: label || '(none)', value }))

export function Shadow() {
  const doc = useLoad(() => get<ShadowDoc>('/admin/v1/shadow'), [])
  const d = doc.data
  return (
    <>
      <h1>Shadow</h1>
      <p className="muted">
        A candidate revision in shadow decides every input again, off the response path, while the active revision keeps deciding. Choose it with the
        <code> shadow_revision</code> setting (Settings, or <code>PUT /admin/v1/settings</code>).
      </p>
      {doc.loading && <Loading what="shadow results" />}
      <ErrorBox error={doc.error} />
      {d && !d.candidate && <p role="status">No revision is in shadow.</p>}
      {d && d.candidate && (
        <>
          <p role="status">
            {d.candidate} disagreed with the active revision on {d.disagreed.toLocaleString()} of {d.evaluated.toLocaleString()} decisions since{' '}
            {when(d.from)} ({(100 * d.rate).toFixed(2)}%).
          </p>
          <div className="grid">
            <section aria-labelledby="rate">
              <h2 id="rate">Disagreement rate per minute</h2>
              <Bars label="Disagreement rate per minute" items={d.series.slice(-30).map((p) => ({ label: when(p.start), value: p.evaluated ? Math.round((1000 * p.disagreed) / p.evaluated) / 10 : 0 }))} />
            </section>
            <section aria-labelledby="by-reason">
              <h2 id="by-reason">By reason</h2>
              <Bars label="Disagreements by reason" items={ranked(d.by_reason)} />
            </section>
            <section aria-labelledby="by-region">
              <h2 id="by-region">By region</h2>
              <Bars label="Disagreements by region" items={ranked(d.by_region)} />
            </section>
            <section aria-labelledby="by-source">
              <h2 id="by-source">By source</h2>
              <Bars label="Disagreements by source" items={ranked(d.by_source)} />
            </section>
          </div>
          <Disagreements rows={d.samples} label="Recent disagreements" answered="active" />
        </>
      )}
    </>
  )
}
