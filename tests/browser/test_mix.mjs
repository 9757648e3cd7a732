// Two speakers heard at once, between real Chromium peers inside a private
// network namespace (run through netns.sh): the server mixes them for the
// listener and gives each speaker a mix-minus; the session's Ogg Opus
// recording holds what was heard, on the server's clock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { joinPage } from './lib/harness.mjs';
import { audioStage, joinAudio, request, levels, readWav, toneLevel } from './lib/media.mjs';

const A_HZ = 440, B_HZ = 880;
const LOUD_DB = -62;   // a tone the page hears (the fake microphone's comes in around -46 dB here)
const QUIET_DB = -85;  // a tone that is not there (codec noise stays far below)
// In the recording, after the browsers' own audio processing: a tone is about 0.04 of full scale.
const TONE_AMP = 0.015, NO_TONE_AMP = 0.004;

const stage = await audioStage('mix', {
  rooms: [{ id: 'plenary', title: 'Plenary', open: true, policy: { floor: { max_holders: 2 } } }],
}, A_HZ, B_HZ);
const { dir, server, listenerBrowser, aBrowser, bBrowser } = stage;
after(() => stage.close());

function heard(db) { return db > LOUD_DB; }
function absent(db) { return db < QUIET_DB; }

async function expectTones(page, who, wantA, wantB) {
  const [a, b] = await levels(page, [A_HZ, B_HZ]);
  const say = `${who} hears ${A_HZ} Hz at ${a.toFixed(1)} dB and ${B_HZ} Hz at ${b.toFixed(1)} dB`;
  assert.ok(wantA ? heard(a) : absent(a), say);
  assert.ok(wantB ? heard(b) : absent(b), say);
}

async function listenerStats(page) {
  return page.evaluate(async () => {
    const stats = await window.rostrumAudio.pc.getStats();
    for (const s of stats.values())
      if (s.type === 'inbound-rtp' && s.kind === 'audio')
        return { lost: s.packetsLost, received: s.packetsReceived, ssrc: s.ssrc };
    return null;
  });
}

const times = {};

test('two speakers together: the listener hears both, each speaker only the other', async () => {
  const mod = await joinPage(listenerBrowser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const listener = await joinPage(listenerBrowser, server.base, { name: 'Listener' });
  const a = await joinPage(aBrowser, server.base, { name: 'Speaker A' });
  const b = await joinPage(bBrowser, server.base, { name: 'Speaker B' });
  // The chair's microphone is open but silent: a quiet moderator is not mixed in.
  // The speakers open their microphones before their turn, so the mix is heard from the grant on.
  for (const p of [mod, listener]) await joinAudio(p);
  for (const p of [a, b]) await joinAudio(p, { openMic: true });
  await listener.waitForFunction(() => window.rostrumAudio.rec && window.rostrumAudio.rec.active,
    null, { timeout: 5000 });
  times.start = await listener.evaluate(() => window.rostrumAudio.rec.started_t);
  // Everyone sees that the session is recorded; the chair can stop it.
  await listener.getByTestId('rec-status').waitFor({ state: 'visible' });
  assert.equal(await listener.getByTestId('rec-toggle').isVisible(), false);
  assert.equal(await mod.getByTestId('rec-toggle').textContent(), 'Stop recording');
  await mod.getByTestId('recordings').locator('a').first().waitFor();
  assert.match(await mod.getByTestId('recordings').textContent(), /plenary-.*\.opus.*\(recording\)/);
  await listener.waitForTimeout(1500);
  await expectTones(listener, 'the listener before any grant', false, false);

  const ra = await request(a, 'floor.request');
  await request(mod, 'floor.grant', { request: ra.request, limit_s: 0 });
  times.grantA = Date.now();
  await listener.waitForTimeout(1500);
  await expectTones(listener, 'the listener with A alone', true, false);
  const before = await listenerStats(listener);
  const forwarding = await (await fetch(`${server.base}/metrics`)).text();
  assert.doesNotMatch(forwarding, /rostrum_mix_starts_total [1-9]/, 'one speaker and a quiet chair: forwarded');

  const rb = await request(b, 'floor.request');
  await request(mod, 'floor.grant', { request: rb.request, limit_s: 0 });
  times.grantB = Date.now();
  await listener.waitForTimeout(1500);
  await expectTones(listener, 'the listener with A and B', true, true);
  await expectTones(a, 'speaker A', false, true);
  await expectTones(b, 'speaker B', true, false);
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(metrics, /rostrum_mix_starts_total [1-9]/);

  await request(mod, 'floor.revoke', { request: ra.request });
  times.revokeA = Date.now();
  await listener.waitForTimeout(1500);
  await expectTones(listener, 'the listener with B alone again', false, true);

  // One stream throughout: forwarding, mixing and forwarding again kept the
  // SSRC and left no hole in the sequence numbers.
  const afterStats = await listenerStats(listener);
  assert.equal(afterStats.ssrc, before.ssrc);
  assert.ok(afterStats.received - before.received > 100, JSON.stringify({ before, afterStats }));
  assert.ok(afterStats.lost <= 2, `packets lost across the switches: ${afterStats.lost}`);
  assert.equal(await listener.evaluate(() => window.rostrumAudio.pc.getReceivers().length), 1);

  await request(mod, 'floor.revoke', { request: rb.request });
  times.revokeB = Date.now();
  await listener.waitForTimeout(1500);
  await expectTones(listener, 'the listener after both revokes', false, false);
  times.end = Date.now();
});

test('the recording holds each tone while it had the floor and silence outside', async () => {
  assert.equal(await server.halt(), 0);
  const recDir = join(server.data, 'recordings');
  const files = readdirSync(recDir).filter((f) => f.endsWith('.opus'));
  assert.equal(files.length, 1, `one recording: ${files}`);
  const wav = join(dir, 'rec.wav');
  execFileSync('opusdec', ['--quiet', '--rate', '48000', join(recDir, files[0]), wav]);
  const { rate, samples } = readWav(readFileSync(wav));
  const at = (t) => Math.max(0, Math.round((t - times.start) * rate / 1000));
  const spans = [
    ['before the first grant', times.start + 300, times.grantA - 200, false, false],
    ['A alone', times.grantA + 500, times.grantB - 200, true, false],
    ['A and B', times.grantB + 500, times.revokeA - 200, true, true],
    ['B alone', times.revokeA + 500, times.revokeB - 200, false, true],
    ['after both revokes', times.revokeB + 500, times.end - 200, false, false],
  ];
  assert.ok(samples.length >= at(times.end - 200), `the file covers the session: ${samples.length / rate} s`);
  for (const [what, from, to, wantA, wantB] of spans) {
    // 100 ms windows, so the timeline is checked throughout. Silence must be
    // silence in every one; a tone may dip in a few (a browser starved of CPU
    // on this shared machine sends late), but not in more than one in ten.
    const dips = [];
    let windows = 0;
    for (let t = from; t + 100 <= to; t += 100, windows++) {
      const la = toneLevel(samples, rate, A_HZ, at(t), at(t + 100));
      const lb = toneLevel(samples, rate, B_HZ, at(t), at(t + 100));
      const say = `${what}, ${((t - times.start) / 1000).toFixed(1)} s into the file: ` +
        `${A_HZ} Hz ${la.amp.toFixed(3)}, ${B_HZ} Hz ${lb.amp.toFixed(3)}, rms ${la.rms.toFixed(3)}`;
      if (!wantA) assert.ok(la.amp < NO_TONE_AMP, say);
      if (!wantB) assert.ok(lb.amp < NO_TONE_AMP, say);
      if (!wantA && !wantB) assert.ok(la.rms < NO_TONE_AMP, say);
      if ((wantA && la.amp <= TONE_AMP) || (wantB && lb.amp <= TONE_AMP)) dips.push(say);
    }
    assert.ok(windows >= 5, `${what}: ${windows} windows`);
    assert.ok(dips.length * 10 <= windows, `${what}: ${dips.length} of ${windows} windows dip:\n${dips.join('\n')}`);
  }
});
