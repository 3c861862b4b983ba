// End-to-end test helpers: a real `signalgate serve` on a fresh data
// directory (so it starts its own managed PostgreSQL) and the system's
// Chromium driven by playwright-core. Everything stays on loopback and every
// wait has a deadline, so a hung server or browser fails a test instead of
// hanging the run.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';

export const USER = 'admin'; // the bootstrap admin's name
export const PASSWORD = 'e2e admin password';
export const TOKEN = 'sgt_e2e-bootstrap-token-0123456789abcdef';

// The first start runs initdb, which takes several seconds on a slow machine.
const START_TIMEOUT = 90_000;
const STOP_TIMEOUT = 30_000;
const REQUEST_TIMEOUT = 10_000;
const UI_TIMEOUT = 10_000;

// Flags for a browser in a container: no sandbox (we run as root), no GPU,
// and none of Chromium's own traffic to Google's services.
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const running = new Set();
// A test file that dies early must not leave a server (and its PostgreSQL)
// behind: serve stops its cluster on SIGTERM even when we are gone.
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

/**
 * startServer starts SIGNALGATE_BIN serve on 127.0.0.1 with a temporary data
 * directory and known admin credentials, and resolves once /readyz answers
 * 200. processes() lists the processes running on the data directory (the
 * managed PostgreSQL). stop() ends serve with SIGTERM, fails if any of those
 * processes is left, and removes the directory.
 */
export async function startServer() {
  const bin = process.env.SIGNALGATE_BIN;
  if (!bin) throw new Error('SIGNALGATE_BIN is not set: run the browser tests with make e2e');
  const dataDir = await mkdtemp(join(tmpdir(), 'signalgate-e2e-'));

  // Only our settings: a SIGNALGATE_DATABASE_URL in the caller's environment
  // would point the test at a real database.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SIGNALGATE_')));
  Object.assign(env, {
    SIGNALGATE_ADDR: '127.0.0.1:0',
    SIGNALGATE_DATA_DIR: dataDir,
    SIGNALGATE_BOOTSTRAP_TOKEN: TOKEN,
    SIGNALGATE_BOOTSTRAP_PASSWORD: PASSWORD,
    SIGNALGATE_LOG_LEVEL: 'warn',
  });
  const child = spawn(bin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code));
    child.once('error', (err) => resolve(err.message)); // could not start it at all
  }).finally(() => running.delete(child));

  let output = ''; // the tail of stdout and stderr, for failure messages
  const keep = (chunk) => { output = (output + chunk).slice(-8000); };
  child.stderr.setEncoding('utf8').on('data', keep);
  const url = new Promise((resolve) => {
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      keep(chunk);
      pending += chunk;
      const m = /signalgate serving (https?) on (\S+)/.exec(pending);
      if (m) resolve(`${m[1]}://${m[2]}`);
    });
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const status = await within(exited, STOP_TIMEOUT, 'serve did not stop');
    const dirs = await clusterDirs(dataDir);
    const left = await processesUnder(dirs);
    if (left.length > 0) {
      throw new Error(`processes left after serve exited (${status}): ${left.join('; ')}; kept ${dataDir}`);
    }
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  };

  try {
    const started = await within(Promise.race([url, exited.then((s) => {
      throw new Error(`serve exited (${s}) before serving`);
    })]), START_TIMEOUT, 'serve did not start');
    await waitReady(started);
    const processes = async () => processesUnder(await clusterDirs(dataDir));
    return { url: started, token: TOKEN, user: USER, password: PASSWORD, dataDir, logs: () => output, processes, stop };
  } catch (err) {
    await stop().catch(() => child.kill('SIGKILL'));
    throw new Error(`${err.message}\n--- serve output ---\n${output}`);
  }
}

async function waitReady(url) {
  const deadline = Date.now() + START_TIMEOUT;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 within ${START_TIMEOUT} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// clusterDirs lists the data directory and, when the cluster had to be
// placed elsewhere (pg.location), that cluster's own directory.
async function clusterDirs(dataDir) {
  const dirs = [dataDir];
  try {
    dirs.push(dirname((await readFile(join(dataDir, 'pg.location'), 'utf8')).trim()));
  } catch { /* the cluster lives inside the data directory */ }
  return dirs;
}

// processesUnder lists processes whose command line names one of dirs:
// PostgreSQL runs with -D <cluster directory>.
async function processesUnder(dirs) {
  const found = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let cmd;
    try {
      cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ').trim();
    } catch { continue; } // gone meanwhile
    if (dirs.some((d) => cmd.includes(d))) found.push(`${pid}: ${cmd}`);
  }
  return found;
}

function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** launchBrowser starts the system's headless Chromium; one per test file. */
export function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * newPage opens a page in a fresh context (no cookies or storage from
 * another test). Requests that leave the loopback interface are refused, so
 * a UI that reaches for the Internet fails here rather than in the field.
 */
export async function newPage(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(UI_TIMEOUT);
  context.setDefaultNavigationTimeout(UI_TIMEOUT);
  await context.route((u) => !isLoopback(u), (route) => route.abort('blockedbyclient'));
  return context.newPage();
}

function isLoopback(u) {
  return u.protocol === 'data:' || ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** login signs in through the login form and waits for the app's nav. */
export async function login(page, url, user, password) {
  await page.goto(url);
  await page.getByLabel('User', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('nav').getByRole('link', { name: 'Decisions' }).waitFor();
}

/**
 * api calls the server with the bearer token (none when token is empty) and
 * returns {status, headers, body}: body is parsed JSON when the answer is
 * JSON, else text.
 */
export async function api(url, token, method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(new URL(path, url), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT),
  });
  const text = await res.text();
  const isJSON = (res.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: res.status, headers: res.headers, body: isJSON && text ? JSON.parse(text) : text };
}
