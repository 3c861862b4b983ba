// Signing in and out of the admin UI, in a real browser against a real
// server: the login form is the only way in for a person, so it must work
// end to end (cookie, session endpoint, UI state), not just in unit tests.
import { after, afterEach, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, USER, api, launchBrowser, login, newPage, startServer } from './harness.mjs';

let server, browser, page;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
}, { timeout: 120_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
});

beforeEach(async () => { page = await newPage(browser); });
afterEach(async () => { await page.context().close(); });

const signIn = () => page.getByRole('button', { name: 'Sign in' });
const decisionsLink = () => page.locator('nav').getByRole('link', { name: 'Decisions' });

test('an anonymous visitor gets the login page at /', { timeout: 30_000 }, async () => {
  await page.goto(server.url);
  await signIn().waitFor();
  await page.getByLabel('User', { exact: true }).waitFor();
  await page.getByLabel('Password', { exact: true }).waitFor();
  assert.equal(await decisionsLink().count(), 0, 'no navigation before signing in');
});

test('a wrong password shows an error and stays on the login page', { timeout: 30_000 }, async () => {
  await page.goto(server.url);
  await page.getByLabel('User', { exact: true }).fill(USER);
  await page.getByLabel('Password', { exact: true }).fill('not the password');
  await signIn().click();

  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.notEqual((await alert.innerText()).trim(), '', 'the error says something');
  assert.ok(await signIn().isVisible(), 'still on the login page');
  assert.equal(await decisionsLink().count(), 0);
});

test('the right password shows the nav and the user; Sign out returns to the login page', { timeout: 30_000 }, async () => {
  await login(page, server.url, USER, PASSWORD);
  await page.locator('header').getByText(USER, { exact: true }).waitFor();

  // The session is a cookie, so a reload keeps the person signed in.
  await page.reload();
  await decisionsLink().waitFor();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn().waitFor();
  assert.equal(await decisionsLink().count(), 0);
  // Signing out ends the session on the server too, not only in the page.
  const res = await page.request.get(`${server.url}/admin/v1/session`);
  assert.equal(res.status(), 401);
});

test('/admin/v1/session without credentials is a 401 JSON error', { timeout: 30_000 }, async () => {
  const res = await api(server.url, '', 'GET', '/admin/v1/session');
  assert.equal(res.status, 401);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.equal(res.body.code, 'unauthenticated');
});
