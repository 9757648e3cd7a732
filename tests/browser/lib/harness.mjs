// Browser test harness: the real server binary on a loopback port and Debian's
// Chromium driven by playwright-core. Everything is torn down in after().
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const BIN = process.env.ROSTRUM_BIN || 'build/server/rostrum';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

export async function startServer(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'rostrum-browser-'));
  const data = join(dir, 'data');
  const proc = spawn(BIN, ['--listen', '127.0.0.1:0', '--data', data, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  // Never let a failed test leave the server running (or keep node waiting on it).
  process.once('exit', () => proc.kill('SIGKILL'));
  proc.stdout.resume();
  const m = /listening on (https?):\/\/[^:]+:(\d+)\//.exec(line);
  if (!m) throw new Error(`unexpected first line: ${line}`);
  const base = `http://127.0.0.1:${m[2]}`;
  return {
    base, data, proc,
    token(room, role, name, ...extra) {
      const url = execFileSync(BIN, ['token', '--data', data, '--room', room, '--role', role,
        '--name', name, ...extra], { encoding: 'utf8' }).trim();
      return url.split('token=')[1];
    },
    // Stops the server as an operator would (SIGTERM) and keeps its data; returns the exit code.
    async halt() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
      }
      return proc.exitCode;
    },
    async stop() {
      await this.halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A fresh profile each time: playwright gives every launch a new temporary user-data-dir.
export async function launch(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true,
                           args: [...BASE_ARGS, ...extraArgs] });
}

// Opens the web client in a new page and joins: with a token, or with a name in an open room.
// page: options for browser.newPage (viewport, bypassCSP for axe); lang, view: URL parameters.
export async function joinPage(browser, base, { room = 'plenary', token, name, group, page: pageOpts, lang, view } = {}) {
  const page = await browser.newPage({ acceptDownloads: true, ...pageOpts });
  page.on('pageerror', (e) => { throw e; });
  const q = new URLSearchParams({ room });
  if (token) q.set('token', token);
  if (lang) q.set('lang', lang);
  if (view) q.set('view', view);
  await page.goto(`${base}/?${q}`);
  if (name) await page.getByTestId('join-name').fill(name);
  if (group) await page.getByTestId('join-group').selectOption(group);
  await page.getByTestId('join-button').click();
  const failed = page.locator('#join-error').filter({ hasText: /./ });
  await Promise.race([page.locator('#room-view').waitFor({ state: 'visible' }),
    failed.waitFor().then(async () => { throw new Error(`join refused: ${await failed.textContent()}`); })]);
  return page;
}
