// The harness itself: a real server starts, answers, and leaves nothing
// behind when stopped; the system's Chromium starts and reaches it. When
// this fails, every other browser test would fail for the same reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { api, launchBrowser, newPage, startServer } from './harness.mjs';

const input = {
  signal: { source: 'ai_chat', topics: ['hiking'], observed_at: '2026-01-10T12:00:00Z' },
  subject: { id: 'u-42', region: 'FR' },
  purpose: 'ads',
};

test('a server starts, decides, and stops with its PostgreSQL', { timeout: 180_000 }, async () => {
  const server = await startServer();
  let stopped = false;
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await api(server.url, '', 'GET', '/readyz')).status, 200);

    const res = await api(server.url, server.token, 'POST', '/v1/decisions', { input });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.ok(res.body.decision_id, 'a decision id');
    assert.ok('result' in res.body, 'a result');

    const anonymous = await api(server.url, '', 'POST', '/v1/decisions', { input });
    assert.equal(anonymous.status, 401);

    const postgres = (await server.processes()).filter((p) => /postgres/.test(p));
    assert.ok(postgres.length > 0, 'the managed PostgreSQL runs on the data directory');

    await server.stop(); // throws if a process of the data directory remains
    stopped = true;
    assert.deepEqual(await server.processes(), []);
    await assert.rejects(access(server.dataDir), { code: 'ENOENT' }, 'the data directory is removed');
  } finally {
    if (!stopped) await server.stop();
  }
});

test('the system Chromium starts headless and reaches a loopback server', { timeout: 180_000 }, async () => {
  const server = await startServer();
  const browser = await launchBrowser();
  try {
    const page = await newPage(browser);
    await page.goto('about:blank');
    assert.equal(await page.evaluate(() => 1 + 1), 2);

    // / serves the UI, or without it the page saying how to build it.
    const res = await page.goto(server.url);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/html/);

    // Anything beyond loopback is refused inside the browser.
    await assert.rejects(page.goto('http://192.0.2.1/'), /ERR_BLOCKED_BY_CLIENT/);
  } finally {
    await browser.close();
    await server.stop();
  }
});
