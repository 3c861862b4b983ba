import { get, getReadiness, type Revision } from '../api'
import { Bars, Columns, ErrorBox, Link, Loading, useLoad, when } from '../components/ui'
import { fillMinutes, perBucket, topDenied, type Point, type Total } from '../lib/stats'

interface Stats { series: Point[]; totals: Total[] }

export function Overview() {
  const hour = new Date(Date.now() - 3600_000).toISOString()
  const minutes = useLoad(() => get<Stats>(`/admin/v1/decisions/stats?bucket=minute&by=outcome&from=${encodeURIComponent(hour)}`), [])
  const reasons = useLoad(() => get<Stats>('/admin/v1/decisions/stats?bucket=hour&by=reason'), [])
  const regions = useLoad(() => get<Stats>('/admin/v1/decisions/stats?bucket=hour&by=region'), [])
  const revisions = useLoad(() => get<{ revisions: Revision[] }>('/admin/v1/revisions'), [])
  const rollouts = useLoad(() => get<{ rollouts: { id: number; candidate: string; state: string; percent: number }[] }>('/admin/v1/rollouts'), [])
  const running = rollouts.data?.rollouts.find((r) => r.state === 'running')
  const ready = useLoad(getReadiness, [])
  const active = revisions.data?.revisions.find((r) => r.active)
  return (
    <>
      <h1>Overview</h1>
      <div className="grid">
        <section aria-labelledby="per-minute">
          <h2 id="per-minute">Decisions per minute, last hour</h2>
          {minutes.loading ? <Loading what="decisions" /> : <ErrorBox error={minutes.error} />}
          {minutes.data && <Columns buckets={fillMinutes(perBucket(minutes.data.series), new Date(), 60)} label="Decisions per minute, allowed and denied" />}
        </section>
        <section aria-labelledby="active">
          <h2 id="active">Active policy</h2>
          {revisions.loading ? <Loading what="revisions" /> : <ErrorBox error={revisions.error} />}
          {active && (
            <p>
              <Link to={`/revisions?rev=${active.revision}`}>{active.revision}</Link>, published by <strong>{active.author}</strong> on {when(active.created_at)}
              {active.message && <> — “{active.message}”</>}
            </p>
          )}
          {running && (
            <p>
              <Link to="/rollouts">Rollout {running.id}</Link>: {running.candidate} decides for {running.percent}% of subjects.
            </p>
          )}
          <ErrorBox error={rollouts.error} />
          <h2>Log pipeline</h2>
          {ready.data && (
            <p className={ready.data.ok ? 'ok' : 'error'}>
              {ready.data.ok ? 'Decisions are being recorded.' : 'Decisions cannot be recorded: the API refuses them (503).'}{' '}
              {ready.data.checks && Object.entries(ready.data.checks).map(([k, v]) => `${k}: ${v}`).join(', ')}
            </p>
          )}
          <ErrorBox error={ready.error} />
        </section>
        <section aria-labelledby="top-reasons">
          <h2 id="top-reasons">Top deny reasons, last 24 hours</h2>
          {reasons.loading ? <Loading what="reasons" /> : <ErrorBox error={reasons.error} />}
          {reasons.data && <Bars label="Denials by reason" items={topDenied(reasons.data.totals, 8).map((t) => ({ label: t.value, value: t.deny }))} />}
        </section>
        <section aria-labelledby="by-region">
          <h2 id="by-region">Denials by region, last 24 hours</h2>
          {regions.loading ? <Loading what="regions" /> : <ErrorBox error={regions.error} />}
          {regions.data && <Bars label="Denials by region" items={topDenied(regions.data.totals, 12).map((t) => ({ label: t.value, value: t.deny }))} />}
        </section>
      </div>
    </>
  )
}
