// The shares a progressive rollout steps through, as the server accepts them.
export const PERCENTS = [1, 5, 25, 50, 100]

export interface Step {
  percent: number
  at?: string
}

// plan is a rollout that starts at `first` % now and, when `everyMinutes`
// is more than 0, steps on its own through each larger share that many
// minutes apart; with 0, later steps are taken by hand.
export function plan(first: number, everyMinutes: number, now: Date): Step[] {
  const steps: Step[] = [{ percent: first }]
  if (everyMinutes > 0) {
    PERCENTS.filter((p) => p > first).forEach((percent, i) => {
      steps.push({ percent, at: new Date(now.getTime() + (i + 1) * everyMinutes * 60_000).toISOString() })
    })
  }
  return steps
}

// percent shows a rate (a fraction) as a percentage with one decimal.
export const percent = (rate: number) => `${(100 * rate).toFixed(1)}%`

// drift is how far the candidate's rate exceeds the active revision's, in
// points, signed.
export const drift = (candidate: number, active: number) => {
  const d = 100 * (candidate - active)
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)} points`
}
