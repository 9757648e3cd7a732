// The server restarts in the middle of a session (run through netns.sh, for
// audio), once with SIGTERM and once killed: a participant's raised hand
// stays up in the same place, the listener hears the floor holder again, and
// the captions typed after the restart reach every viewer, none missing. The
// pages reconnect and resume by themselves, with the secret their tab keeps.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { joinPage } from './lib/harness.mjs';
import { audioStage, joinAudio, request, hears } from './lib/media.mjs';

const BIN = process.env.ROSTRUM_BIN || 'build/server/rostrum';
const stage = await audioStage('restart', {});
const { server, listenerBrowser, aBrowser, bBrowser } = stage;
let again = null;
after(async () => {
  if (again && again.exitCode === null) {
    again.kill('SIGTERM');
    await new Promise((r) => again.once('exit', r));
  }
  await stage.close();
});

// The same server again: same port (the pages reconnect to it), same data, same config.
async function restart() {
  const port = new URL(server.base).port;
  const proc = spawn(BIN, ['--listen', `127.0.0.1:${port}`, '--data', server.data,
    '--config', join(stage.dir, 'config.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
  process.once('exit', () => proc.kill('SIGKILL'));
  await new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  proc.stdout.resume();
  return proc;
}

async function captionTexts(page) {
  return page.getByTestId('captions').evaluate((el) =>
    [...el.querySelectorAll('p:not(.partial)')].map((p) => p.textContent));
}

test('a restart costs nobody their place', async () => {
  const mod = await joinPage(listenerBrowser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const cap = await joinPage(listenerBrowser, server.base, { token: server.token('plenary', 'captioner', 'Lynn') });
  const listener = await joinPage(listenerBrowser, server.base, { name: 'Listener' });
  const speaker = await joinPage(aBrowser, server.base, { name: 'Speaker' });
  const hand = await joinPage(bBrowser, server.base, { name: 'Raúl', group: 'technical_community' });
  for (const p of [listener, speaker]) await joinAudio(p);
  const rs = await request(speaker, 'floor.request');
  await request(mod, 'floor.grant', { request: rs.request, limit_s: 0 });
  await hand.getByTestId('floor-topic').fill('Interconnection costs');
  await hand.getByTestId('raise-hand').click();
  await hand.getByTestId('floor-you').getByText('number 1 in the queue').waitFor();
  await listener.waitForTimeout(1500);
  assert.ok(Math.abs(await hears(listener) - 440) < 30, 'the floor holder is heard before');
  await request(cap, 'caption.final', { text: 'Before the restart.' });
  for (const p of [mod, listener, hand])
    await p.getByTestId('captions').getByText('Before the restart.').waitFor();

  assert.equal(await server.halt(), 0); // SIGTERM: the pages are told 1001 and resume
  again = await restart();
  const t0 = Date.now();
  for (const p of [mod, cap, listener, speaker, hand])
    await p.locator('#status').getByText('Connected as').waitFor({ timeout: 15000 });
  const back = Date.now() - t0;
  console.log(`every page back in role within ${back} ms of the server answering`);
  assert.ok(back < 5000, `back in ${back} ms`);
  // The hand is still up, in the same place, with its topic.
  await hand.getByTestId('floor-you').getByText('number 1 in the queue').waitFor();
  await mod.getByTestId('floor-queue').locator('li', { hasText: 'Raúl' })
    .getByText('Interconnection costs').waitFor();
  await mod.getByTestId('floor-holders').getByText('Speaker').first().waitFor();
  // The browsers offered audio again by themselves: the listener hears the floor again.
  await listener.waitForFunction(() => window.rostrumAudio.connected(), null, { timeout: 20000 });
  await speaker.waitForFunction(() => window.rostrumAudio.connected(), null, { timeout: 20000 });
  await listener.waitForTimeout(1500);
  assert.ok(Math.abs(await hears(listener) - 440) < 30, 'the floor holder is heard after');
  // Captions typed after the restart reach every viewer, none missing, none twice.
  const lines = ['After the restart, one.', 'Two.', 'And three.'];
  for (const text of lines) await request(cap, 'caption.final', { text });
  for (const p of [mod, listener, hand, speaker]) {
    await p.getByTestId('captions').getByText('And three.').waitFor();
    const got = await captionTexts(p);
    const after = got.slice(got.findIndex((t) => t.includes(lines[0])));
    assert.deepEqual(after.map((t) => lines.find((l) => t.includes(l))), lines);
  }
  const before = await captionTexts(listener);
  assert.equal(before.filter((t) => t.includes('Before the restart.')).length, 1);

  // A crash this time: SIGKILL, nothing said to the pages. The journal has it all.
  await listener.waitForTimeout(500); // the group commit reaches the disk
  again.kill('SIGKILL');
  await new Promise((r) => again.once('exit', r));
  again = await restart();
  await hand.getByTestId('floor-you').getByText('number 1 in the queue').waitFor({ timeout: 15000 });
  await mod.getByTestId('floor-holders').getByText('Speaker').first().waitFor({ timeout: 15000 });
  await cap.locator('#status').getByText('Connected as').waitFor({ timeout: 15000 });
  await request(cap, 'caption.final', { text: 'After the crash.' });
  for (const p of [mod, listener, hand, speaker])
    await p.getByTestId('captions').getByText('After the crash.').waitFor({ timeout: 15000 });
});
