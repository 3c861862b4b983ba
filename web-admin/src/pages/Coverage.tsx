import { useState } from 'react'
import { get } from '../api'
import { ErrorBox, Loading, useLoad } from '../components/ui'

interface Coverage {
  decisions: number
  sampled: boolean
  seen: number
  unmapped: number
  mapped_topics: number
  revision: string
  unmapped_topics: { topic: string; count: number; draft_category?: string; regions: { region: string; count: number }[] }[]
}

export function Coverage() {
  const [region, setRegion] = useState('')
  const cov = useLoad(() => get<Coverage>(`/admin/v1/taxonomy/coverage?limit=200${region ? `&region=${encodeURIComponent(region)}` : ''}`), [region])
  return (
    <>
      <h1>Taxonomy coverage</h1>
      <p className="muted">Topics seen in traffic over the last 7 days that the taxonomy of the active revision does not map to a category, by volume. Classify them in the policy's topic taxonomy.</p>
      <label>
        Region <input value={region} onChange={(e) => setRegion(e.target.value.toUpperCase())} size={4} placeholder="all" />
      </label>
      {cov.loading && <Loading what="coverage" />}
      <ErrorBox error={cov.error} />
      {cov.data && (
        <>
          <p role="status">
            {cov.data.unmapped.toLocaleString()} of {cov.data.seen.toLocaleString()} topic mentions are unmapped in {cov.data.revision} ({cov.data.mapped_topics} topics mapped)
            {cov.data.sampled && `, among the newest ${cov.data.decisions.toLocaleString()} decisions`}.
          </p>
          <table className="list" aria-label="Unmapped topics">
            <thead>
              <tr>
                <th>Topic</th>
                <th>Mentions</th>
                <th>Top regions</th>
                <th>In the draft</th>
              </tr>
            </thead>
            <tbody>
              {cov.data.unmapped_topics.map((t) => (
                <tr key={t.topic}>
                  <td>{t.topic}</td>
                  <td className="num">{t.count.toLocaleString()}</td>
                  <td>{t.regions.slice(0, 5).map((r) => `${r.region || '?'} ${r.count}`).join(', ')}</td>
                  <td>{t.draft_category ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  )
}
