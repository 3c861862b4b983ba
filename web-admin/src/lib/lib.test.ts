import { describe, expect, it } from 'vitest'
import { fromQuery, toQuery } from './query'
import { EU_EEA, addRegions, normalizeRegion, removeRegion } from './regions'
import { perBucket, topDenied } from './stats'
import { offsetOf } from './diagnostics'

describe('filters', () => {
  it('round-trips through the query string, dropping empty ones', () => {
    const q = toQuery({ region: 'FR', allow: 'false', reason: '', from: '2026-01-02T03:04:05Z' }, { cursor: 'abc' })
    expect(q).toBe('from=2026-01-02T03%3A04%3A05Z&allow=false&region=FR&cursor=abc')
    expect(fromQuery(q)).toEqual({ from: '2026-01-02T03:04:05Z', allow: 'false', region: 'FR' })
  })
  it('turns a date-time input, in UTC, into an instant', () => {
    const q = new URLSearchParams(toQuery({ from: '2026-01-02T03:04' }))
    expect(q.get('from')).toBe('2026-01-02T03:04:00Z')
  })
})

describe('regions', () => {
  it('has the 30 EU/EEA countries', () => {
    expect(Object.keys(EU_EEA)).toHaveLength(30)
  })
  it('normalises codes and aliases', () => {
    expect(normalizeRegion(' uk', { UK: 'GB' })).toBe('GB')
    expect(normalizeRegion('fr', {})).toBe('FR')
  })
  it('adds sorted, refuses malformed codes, removes', () => {
    expect(Object.keys(addRegions({ FR: 'France' }, { BE: 'Belgium' }))).toEqual(['BE', 'FR'])
    expect(() => addRegions({}, { France: 'France' })).toThrow(/two letters/)
    expect(removeRegion({ FR: 'France', BE: 'Belgium' }, 'FR')).toEqual({ BE: 'Belgium' })
  })
})

describe('stats', () => {
  const series = [
    { start: '2026-01-01T01:00:00Z', value: 'FR', allow: 1, deny: 2, undefined: 0 },
    { start: '2026-01-01T00:00:00Z', value: 'US', allow: 5, deny: 0, undefined: 1 },
    { start: '2026-01-01T01:00:00Z', value: 'US', allow: 3, deny: 1, undefined: 0 },
  ]
  it('sums per bucket in time order, undefined counted as not allowed', () => {
    expect(perBucket(series)).toEqual([
      { start: '2026-01-01T00:00:00Z', allow: 5, deny: 1 },
      { start: '2026-01-01T01:00:00Z', allow: 4, deny: 3 },
    ])
  })
  it('ranks denials', () => {
    expect(topDenied([{ value: 'a', allow: 0, deny: 1, undefined: 0 }, { value: 'b', allow: 9, deny: 5, undefined: 0 }, { value: 'c', allow: 1, deny: 0, undefined: 0 }], 5)).toEqual([
      { value: 'b', deny: 5 },
      { value: 'a', deny: 1 },
    ])
  })
})

describe('diagnostics', () => {
  const text = 'package x\nimport rego.v1\np := 1\n'
  it('maps row and column to an offset', () => {
    expect(offsetOf(text, 1, 1)).toBe(0)
    expect(offsetOf(text, 2, 8)).toBe(17)
    expect(offsetOf(text, 3, 99)).toBe(31)
    expect(offsetOf(text, 0, 0)).toBe(0)
    expect(offsetOf(text, 9, 1)).toBe(text.length)
  })
})

import { fromLocalInput, setRollout, toLocalInput, withTargeting } from './data'

describe('data', () => {
  it('edits one rollout and drops empty exclusions', () => {
    const r = setRollout({ ai_chat: { ads: { start: 'a', excluded_regions: { FR: 'France' } } } }, 'ai_chat', 'ads', { start: 'b', excluded_regions: {} })
    expect(r).toEqual({ ai_chat: { ads: { start: 'b' } } })
  })
  it('replaces one targeting key, keeping the rest', () => {
    expect(withTargeting({ targeting: { purposes: { ads: 'x' } }, other: 1 }, 'topic_categories', { flu: 'health' })).toEqual({
      targeting: { purposes: { ads: 'x' }, topic_categories: { flu: 'health' } },
      other: 1,
    })
  })
  it('round-trips rollout starts through a datetime-local input in UTC', () => {
    expect(toLocalInput('2025-12-16T00:00:00Z')).toBe('2025-12-16T00:00')
    expect(fromLocalInput('2025-12-16T00:00')).toBe('2025-12-16T00:00:00Z')
    expect(toLocalInput('not a date')).toBe('')
  })
})

import { sideBySide } from './diff'

describe('side-by-side diff', () => {
  it('pairs removals with the additions that follow them', () => {
    const d = '--- a\n+++ b\n@@ -1,3 +1,3 @@\n same\n-old 1\n-old 2\n+new 1\n tail\n+added\n'
    expect(sideBySide(d)).toEqual([
      { left: '@@ -1,3 +1,3 @@', right: '@@ -1,3 +1,3 @@', kind: 'hunk' },
      { left: 'same', right: 'same', kind: 'same' },
      { left: 'old 1', right: 'new 1', kind: 'change' },
      { left: 'old 2', right: undefined, kind: 'change' },
      { left: 'tail', right: 'tail', kind: 'same' },
      { left: undefined, right: 'added', kind: 'change' },
    ])
  })
})

import { fillMinutes } from './stats'

describe('fillMinutes', () => {
  it('has a bucket for every minute, counts where there were decisions', () => {
    const end = new Date('2026-01-01T00:10:30Z')
    const got = fillMinutes([{ start: '2026-01-01T00:08:00Z', allow: 2, deny: 1 }], end, 5)
    expect(got.map((b) => b.start.slice(11, 16))).toEqual(['00:06', '00:07', '00:08', '00:09', '00:10'])
    expect(got[2]).toEqual({ start: '2026-01-01T00:08:00.000Z', allow: 2, deny: 1 })
    expect(got[0].allow + got[0].deny).toBe(0)
  })
})

import { drift, percent, plan } from './rollout'

describe('rollout plans', () => {
  const now = new Date('2026-01-01T00:00:00Z')
  it('starts now and steps through each larger share on a schedule', () => {
    expect(plan(5, 30, now)).toEqual([
      { percent: 5 },
      { percent: 25, at: '2026-01-01T00:30:00.000Z' },
      { percent: 50, at: '2026-01-01T01:00:00.000Z' },
      { percent: 100, at: '2026-01-01T01:30:00.000Z' },
    ])
  })
  it('leaves later steps to be taken by hand without an interval', () => {
    expect(plan(1, 0, now)).toEqual([{ percent: 1 }])
  })
  it('shows rates and their drift in points', () => {
    expect(percent(0.1234)).toBe('12.3%')
    expect(drift(0.9, 0.1)).toBe('+80.0 points')
    expect(drift(0.1, 0.15)).toBe('-5.0 points')
  })
})
