// Floor-gated audio between real Chromium peers inside a private network
// namespace (run through netns.sh): two speakers with fake microphones
// playing different tones, one listener measuring what it hears.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, joinPage } from './lib/harness.mjs';

// A mono 16-bit 48 kHz WAV of a sine tone.
function tone(path, hz, seconds = 30) {
  const rate = 48000, n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin(2 * Math.PI * hz * i / rate)), 44 + i * 2);
  writeFileSync(path, b);
}

const dir = mkdtempSync(join(tmpdir(), 'rostrum-audio-'));
tone(join(dir, 'a.wav'), 440);
tone(join(dir, 'b.wav'), 880);
const cfgPath = join(dir, 'config.json');
writeFileSync(cfgPath, JSON.stringify({ rtc: { announce: '10.213.0.1' } }));
const server = await startServer(['--config', cfgPath]);
const media = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];
const listenerBrowser = await launch(media);
const aBrowser = await launch([...media, `--use-file-for-fake-audio-capture=${join(dir, 'a.wav')}`]);
const bBrowser = await launch([...media, `--use-file-for-fake-audio-capture=${join(dir, 'b.wav')}`]);
after(async () => {
  for (const b of [listenerBrowser, aBrowser, bBrowser]) await b.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function joinAudio(page) {
  await page.getByTestId('audio-join').click();
  await page.waitForFunction(() => window.rostrumAudio.connected(), null, { timeout: 20000 });
}

// The dominant frequency the listener hears, over a few samples (0 when silent).
async function hears(page) {
  let got = [];
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(250);
    got.push(await page.evaluate(() => window.rostrumAudio.peak()));
  }
  const loud = got.filter((g) => g.rms > 0.02);
  if (loud.length < 4) return 0;
  loud.sort((x, y) => x.hz - y.hz);
  return loud[Math.floor(loud.length / 2)].hz;
}

async function request(page, type, fields = {}) {
  return page.evaluate(([t, f]) => window.rostrumConn.request(t, f), [type, fields]);
}

test('the listener hears only who holds the floor, on one stream', async () => {
  const mod = await joinPage(listenerBrowser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const listener = await joinPage(listenerBrowser, server.base, { name: 'Listener' });
  const a = await joinPage(aBrowser, server.base, { name: 'Speaker A' });
  const b = await joinPage(bBrowser, server.base, { name: 'Speaker B' });
  for (const p of [listener, a, b]) await joinAudio(p);
  await listener.waitForTimeout(1500);
  assert.equal(await hears(listener), 0, 'silence before anyone has the floor');

  const ra = await request(a, 'floor.request');
  await request(mod, 'floor.grant', { request: ra.request, limit_s: 0 });
  await listener.waitForTimeout(1500);
  const hzA = await hears(listener);
  assert.ok(Math.abs(hzA - 440) < 30, `speaker A's tone, heard ${hzA} Hz`);

  await request(mod, 'floor.revoke', { request: ra.request });
  await listener.waitForTimeout(1500);
  assert.equal(await hears(listener), 0, 'silence after revoke');

  const rb = await request(b, 'floor.request');
  await request(mod, 'floor.grant', { request: rb.request, limit_s: 0 });
  await listener.waitForTimeout(1500);
  const hzB = await hears(listener);
  assert.ok(Math.abs(hzB - 880) < 30, `speaker B's tone on the same stream, heard ${hzB} Hz`);
  const tracks = await listener.evaluate(() => window.rostrumAudio.pc.getReceivers().length);
  assert.equal(tracks, 1);

  // Garbage at the media port while B speaks: dropped and counted; the listener keeps hearing.
  const health = await (await fetch(`${server.base}/healthz`)).json();
  const port = health.audio.udp_port;
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '10.213.0.2', r));
  // A check naming the listener's real ICE ufrag, with a forged MESSAGE-INTEGRITY.
  const answer = await listener.evaluate(() => window.rostrumAudio.pc.remoteDescription.sdp);
  const ufrag = /a=ice-ufrag:(\S+)/.exec(answer)[1];
  const user = Buffer.from(`${ufrag}:zzzz`);
  const upad = Buffer.alloc((4 - (user.length % 4)) % 4);
  const attrs = Buffer.concat([Buffer.from([0, 6, 0, user.length]), user, upad,
    Buffer.from([0, 8, 0, 20]), Buffer.alloc(20, 0xab)]);
  const stunBadIntegrity = Buffer.concat([Buffer.from([0, 1, attrs.length >> 8, attrs.length & 255,
    0x21, 0x12, 0xa4, 0x42]), Buffer.alloc(12, 5), attrs]);
  const kinds = [Buffer.from('garbage!'), stunBadIntegrity,
    Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), Buffer.alloc(60, 7)]),       // DTLS, unknown address
    Buffer.concat([Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]), Buffer.alloc(80)]), // RTP, unknown
    Buffer.alloc(3000, 0x80), Buffer.from([0x80]), Buffer.alloc(0)];
  for (let round = 0; round < 50; round++)
    for (const k of kinds) sock.send(k, port, '10.213.0.1');
  await listener.waitForTimeout(1000);
  sock.close();
  const hzAfter = await hears(listener);
  assert.ok(Math.abs(hzAfter - 880) < 30, `still hearing B after the garbage, ${hzAfter} Hz`);
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(metrics, /rostrum_media_dropped_total\{reason="unknown_source"\} [1-9]/);
  assert.match(metrics, /rostrum_media_dropped_total\{reason="stun"\} [1-9]/);
  assert.match(metrics, /rostrum_media_dropped_total\{reason="no_floor"\} [1-9]/);
});
