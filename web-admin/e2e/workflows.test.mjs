// The admin UI's main workflows in a real browser against a real server:
// finding and replaying a decision, editing the policy (structured editors,
// save, conflict, validate, impact, publish, rollback), the playground, and
// pages that follow the user's roles.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, USER, api, launchBrowser, login, newPage, startServer } from './harness.mjs';

// Screenshots of the main pages, kept by each run as test artefacts.
const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

let server, browser, page;

const input = (region, topics = ['hiking'], source = 'ai_chat') => ({
  input: { signal: { source, topics }, subject: { id: `u-${region}`, region }, purpose: 'ads' },
});

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  for (const [region, topic] of [['FR', 'hiking'], ['FR', 'knitting'], ['US', 'knitting'], ['US', 'hiking'], ['DE', 'knitting']]) {
    const r = await api(server.url, server.token, 'POST', '/v1/decisions', input(region, [topic]));
    assert.equal(r.status, 200);
  }
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => {
  page = await newPage(browser);
  page.on('dialog', (d) => d.accept()); // confirmations (rollback) are accepted
  await login(page, server.url, USER, PASSWORD);
});
afterEach(async () => { await page.context().close(); });

const nav = (name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

test('the decision explorer filters, shows a decision and replays it', { timeout: 60_000 }, async () => {
  await nav('Decisions').click();
  await page.getByLabel('Region').fill('FR');
  await page.getByLabel('Outcome').selectOption('false');
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.getByRole('table', { name: 'Decisions' }).locator('tbody tr');
  await page.waitForURL(/region=FR/);
  // The unfiltered list may still be on screen a moment after the URL
  // changes: wait for the filtered one.
  await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Decisions"] tbody tr').length === 2, null, { timeout: 10_000 });
  for (const text of await rows.allInnerTexts()) assert.match(text, /deny.*region_excluded.*FR/s);
  assert.match(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'), /format=csv&.*region=FR/);

  await rows.first().getByRole('link').click();
  const detail = page.getByRole('complementary', { name: 'Decision detail' });
  await detail.locator('li').getByText('region_excluded').waitFor();
  await detail.getByRole('link', { name: 'r1' }).waitFor();
  await detail.getByRole('button', { name: 'Replay' }).click();
  await detail.getByRole('status').getByText('reproduces the logged result').waitFor();
});

// The walk: change a rollout date in the structured editor, see a
// syntax error marked in the editor and fix it, run impact, publish, see the
// new revision serve decisions, find one in the explorer and replay it, roll
// back. Screenshots of the main pages go to e2e/artifacts.
test('a rollout change goes from the editor to live decisions and back', { timeout: 180_000 }, async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'overview.png') });
  await nav('Policy').click();

  // A rollout date, through its date picker.
  const start = page.getByLabel('Start of follow/ads');
  await start.fill('2020-06-01T00:00');
  await page.getByText('unsaved changes').waitFor();
  // And a topic the taxonomy did not know, now sensitive.
  const taxonomy = page.getByRole('region', { name: 'Topic taxonomy' });
  await taxonomy.getByLabel('Topic').fill('knitting');
  await taxonomy.getByLabel('Category').fill('health');
  await taxonomy.getByRole('button', { name: 'Add to topic taxonomy' }).click();

  // A syntax error, marked where it is; then fixed.
  await page.getByRole('button', { name: 'minor.rego' }).click();
  const editor = page.locator('.cm-content');
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nbroken := := 1');
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByRole('status').getByText(/^Not valid/).waitFor();
  await page.locator('.cm-lintRange-error').first().waitFor();
  await page.getByRole('button', { name: /minor\.rego ⚠/ }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'policy-diagnostic.png') });
  await editor.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.getByRole('button', { name: 'Validate' }).click();
  await page.getByRole('status').getByText(/^Valid: 0 problems/).waitFor();
  const saved = await api(server.url, server.token, 'GET', '/admin/v1/draft');
  assert.doesNotMatch(saved.body.modules['minor.rego'], /broken/);
  assert.equal(saved.body.data.targeting.rollouts.follow.ads.start, '2020-06-01T00:00:00Z');

  await page.getByRole('button', { name: 'Analyse impact' }).click();
  await page.getByText('3 of 5 recent decisions would change.').waitFor({ timeout: 60_000 });
  const impact = page.getByRole('region', { name: 'Impact and publish' });
  await impact.getByRole('table').filter({ hasText: 'allow to deny' }).getByRole('link').first().waitFor();
  await impact.screenshot({ path: join(ARTIFACTS, 'impact.png') });

  await page.getByLabel('Message').fill('follow ads from June 2020');
  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByRole('status').getByText('Published r2.').waitFor();

  // The new revision serves decisions at once.
  let served;
  for (let i = 0; i < 50; i++) {
    served = await api(server.url, server.token, 'POST', '/v1/decisions', input('US', ['hiking'], 'follow'));
    if (served.body.revision === 'r2') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(served.body.revision, 'r2');

  await nav('Decisions').click();
  await page.getByLabel('Revision').fill('r2');
  await page.getByRole('button', { name: 'Search' }).click();
  const rows = page.getByRole('table', { name: 'Decisions' }).locator('tbody tr');
  await page.waitForURL(/revision=r2/);
  await rows.first().getByRole('link').click();
  const detail = page.getByRole('complementary', { name: 'Decision detail' });
  await detail.getByRole('heading', { name: `Decision ${served.body.decision_id}` }).waitFor();
  await detail.getByRole('button', { name: 'Replay' }).click();
  await detail.getByRole('status').getByText('Replay under r2 reproduces the logged result.').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'decisions.png') });

  await nav('Revisions').click();
  await page.getByRole('button', { name: 'Roll back to r1' }).click();
  await page.getByRole('status').getByText('r1 is now active.').waitFor();
  assert.equal((await api(server.url, server.token, 'GET', '/admin/v1/revisions')).body.active, 'r1');
});

test('saving over someone else\'s save is refused with a message', { timeout: 60_000 }, async () => {
  await nav('Policy').click();
  const categories = page.getByRole('region', { name: 'Sensitive categories' });
  await categories.getByLabel('Category').fill('finances');
  await categories.getByLabel('Description').fill('Financial hardship.');
  await categories.getByRole('button', { name: 'Add to sensitive categories' }).click();
  // Meanwhile another admin saves the draft through the API.
  const draft = await api(server.url, server.token, 'GET', '/admin/v1/draft');
  draft.body.modules['extra.rego'] = 'package signalgate.extra\n';
  const saved = await fetch(`${server.url}/admin/v1/draft`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${server.token}`, 'If-Match': draft.body.etag, 'Content-Type': 'application/json' },
    body: JSON.stringify({ modules: draft.body.modules, data: draft.body.data }),
  });
  assert.equal(saved.status, 200);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('alert').getByText(/Someone saved the draft after you opened it/).waitFor();
  await page.getByRole('button', { name: 'Reload' }).click();
  await page.getByRole('button', { name: 'extra.rego' }).waitFor();
});

test('the playground explains an example decision', { timeout: 60_000 }, async () => {
  await nav('Playground').click();
  await page.getByLabel('Example').selectOption('region_excluded');
  await page.getByRole('button', { name: 'Evaluate' }).click();
  const status = page.getByRole('region', { name: 'Evaluation' }).getByRole('status');
  await status.getByText(/^Denied by draft/).waitFor();
  await page.getByRole('region', { name: 'Evaluation' }).getByText('region_excluded').first().waitFor();
});

test('a viewer sees what viewers may see, and no more', { timeout: 60_000 }, async () => {
  const created = await api(server.url, server.token, 'POST', '/admin/v1/users', { name: 'vera', roles: ['viewer'], password: 'a viewer password 123' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const viewer = await newPage(browser);
  try {
    await login(viewer, server.url, 'vera', 'a viewer password 123');
    const main = viewer.getByRole('navigation', { name: 'Main' });
    assert.equal(await main.getByRole('link', { name: 'Access' }).count(), 0);
    await main.getByRole('link', { name: 'Policy', exact: true }).click();
    await viewer.getByRole('button', { name: 'data.json' }).waitFor();
    assert.equal(await viewer.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    await main.getByRole('link', { name: 'Overview' }).click();
    await viewer.getByRole('heading', { name: 'Active policy' }).waitFor();
  } finally {
    await viewer.context().close();
  }
});

test('the audit trail shows its verify status', { timeout: 60_000 }, async () => {
  await nav('Audit trail').click();
  await page.getByRole('status').getByText(/Hash chain intact/).waitFor();
  await page.getByRole('table', { name: 'Audit trail' }).getByText('policy.publish').first().waitFor();
});

test('the fleet page lists agents, laggards and quarantined events', { timeout: 60_000 }, async () => {
  const token = await api(server.url, server.token, 'POST', '/admin/v1/tokens', { name: 'sidecar', role: 'agent' });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  const as = (path, body, headers = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${token.body.token}`, ...headers }, body });
  const status = await as('/status', JSON.stringify({ labels: { id: 'sidecar-7', version: '1.22.3' }, bundles: { signalgate: { active_revision: 'r0' } }, plugins: { bundle: { state: 'OK' } } }));
  assert.equal(status.status, 200);
  const upload = await as('/logs', gzipSync(JSON.stringify([{ decision_id: 'nope', timestamp: '2026-11-29T10:00:00Z' }])));
  assert.equal(upload.status, 200);

  await nav('Fleet').click();
  await page.getByRole('table', { name: 'Instances' }).locator('tbody tr').first().waitFor();
  const agents = page.getByRole('table', { name: 'Agents' });
  await agents.getByText('sidecar-7').waitFor();
  await agents.getByText('r0 (lagging)').waitFor();
  await page.getByText('1 uploaded decision events could not be stored.').waitFor();
  await page.getByRole('table', { name: 'Quarantined events' }).getByText(/is not a UUID/).waitFor();
});

test('a revision is scheduled and the schedule cancelled', { timeout: 60_000 }, async () => {
  await nav('Schedules').click();
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Revision').selectOption('r1');
  await form.getByLabel('Activate at (UTC)').fill('2099-01-01T00:00');
  await form.getByRole('button', { name: 'Schedule' }).click();
  await page.getByRole('status').getByText('r1 becomes active on every instance at 2099-01-01T00:00:00Z.').waitFor();
  const table = page.getByRole('table', { name: 'Schedules' });
  await table.getByText('pending').waitFor();
  await page.getByRole('button', { name: 'Cancel the activation of r1' }).click();
  await page.getByRole('status').getByText('The activation of r1 is cancelled.').waitFor();
  await table.getByText('cancelled').waitFor();
});

test('a revision in shadow shows its disagreements', { timeout: 60_000 }, async () => {
  // r1 is active; put r2 (published above, knitting is health) in shadow.
  const put = await fetch(`${server.url}/admin/v1/settings`, {
    method: 'PUT',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ shadow_revision: 'r2' }),
  });
  assert.equal(put.status, 200);
  const deadline = Date.now() + 15_000;
  for (;;) {
    await api(server.url, server.token, 'POST', '/v1/decisions', input('US', ['knitting']));
    const s = await api(server.url, server.token, 'GET', '/admin/v1/shadow');
    if (s.body.disagreed > 0) break;
    assert.ok(Date.now() < deadline, 'no disagreement recorded');
    await new Promise((r) => setTimeout(r, 200));
  }
  await nav('Shadow').click();
  await page.getByRole('status').getByText(/^r2 disagreed with the active revision on/).waitFor();
  await page.getByRole('table', { name: 'Disagreements by reason' }).getByText('sensitive_category').waitFor();
  await page.getByRole('table', { name: 'Recent disagreements' }).locator('tbody tr').first().waitFor();
});

test('a rollout is started, stepped, compared and rolled back', { timeout: 90_000 }, async () => {
  // r1 is active and r2 (knitting is health) is published: roll r2 out.
  await nav('Rollouts').click();
  await page.getByLabel('Guard rails').getByText(/deny rate at most \+5\.0 points/).waitFor();
  const form = page.getByRole('form', { name: 'New rollout' });
  await form.getByLabel('Candidate').selectOption('r2');
  await form.getByLabel('Start at').selectOption('5');
  await form.getByRole('button', { name: 'Start rollout' }).click();
  await page.getByRole('status').getByText(/^Started: rollout \d+ of r2 is running at 5%\.$/).waitFor();
  await page.getByRole('heading', { name: /r2 for 5% of subjects/ }).waitFor();

  await page.getByRole('combobox', { name: /^Share/ }).selectOption('50');
  await page.getByRole('button', { name: 'Set share now' }).click();
  await page.getByRole('status').getByText(/^Stepped: rollout \d+ of r2 is running at 50%\.$/).waitFor();

  // Decisions about knitting: the candidate denies what r1 allows for the
  // subjects on it; the comparison shows them once they are counted.
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i++) {
    await api(server.url, server.token, 'POST', '/v1/decisions', { input: { signal: { source: 'ai_chat', topics: ['knitting'] }, subject: { id: `rollout-${i}`, region: 'US' }, purpose: 'ads' } });
    const list = await api(server.url, server.token, 'GET', '/admin/v1/rollouts');
    const id = list.body.rollouts[0].id;
    const r = await api(server.url, server.token, 'GET', `/admin/v1/rollouts/${id}`);
    if (r.body.window.disagreed > 0) break;
    assert.ok(Date.now() < deadline, 'no rollout decision compared');
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.reload();
  const comparison = page.getByRole('table', { name: 'Guard rail comparison' });
  await comparison.getByText('100.0%').waitFor();
  await page.getByRole('table', { name: 'Rollout disagreements' }).getByText(/deny.*sensitive_category/).first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, 'rollouts.png'), fullPage: true });

  await page.getByLabel('Reason').fill('knitting is not health');
  await page.getByRole('button', { name: 'Roll back' }).click();
  await page.getByRole('status').getByText(/^Rolled back: rollout \d+ of r2 is rolled back\.$/).waitFor();
  await page.getByRole('table', { name: 'Rollouts' }).getByText(/knitting is not health/).waitFor();
  await page.getByRole('form', { name: 'New rollout' }).waitFor();
});
