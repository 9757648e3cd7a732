// Shared pieces of the audio browser tests: fake-microphone tones, joining
// audio, asking the server, and reading what a page hears.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch } from './harness.mjs';

export const MEDIA_ARGS = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];

// A mono 16-bit 48 kHz WAV of a sine tone.
export function tone(path, hz, seconds = 30) {
  const rate = 48000, n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + n * 2, 4); b.write('WAVE', 8); b.write('fmt ', 12);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24); b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34); b.write('data', 36); b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin(2 * Math.PI * hz * i / rate)), 44 + i * 2);
  writeFileSync(path, b);
}

// Listening asks for no microphone; openMic opens it at once, as a speaker
// would before the floor is given (the server drops what it sends until then).
export async function joinAudio(page, { openMic = false } = {}) {
  await page.getByTestId('audio-join').click();
  await page.waitForFunction(() => window.rostrumAudio.connected(), null, { timeout: 20000 });
  if (openMic) {
    await page.evaluate(() => window.rostrumAudio.openMic());
    await page.waitForFunction(() => window.rostrumAudio.hasMic(), null, { timeout: 5000 });
  }
}

export async function request(page, type, fields = {}) {
  return page.evaluate(([t, f]) => window.rostrumConn.request(t, f), [type, fields]);
}

// The dominant frequency a page hears, over a few samples (0 when silent).
export async function hears(page) {
  const got = [];
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(250);
    got.push(await page.evaluate(() => window.rostrumAudio.peak()));
  }
  const loud = got.filter((g) => g.rms > 0.02);
  if (loud.length < 4) return 0;
  loud.sort((x, y) => x.hz - y.hz);
  return loud[Math.floor(loud.length / 2)].hz;
}

// The median level (dB) of each frequency a page hears, over a few samples.
export async function levels(page, freqs) {
  const got = freqs.map(() => []);
  for (let i = 0; i < 6; i++) {
    await page.waitForTimeout(250);
    const l = await page.evaluate((f) => window.rostrumAudio.levels(f), freqs);
    l.forEach((v, k) => got[k].push(v));
  }
  return got.map((v) => v.sort((x, y) => x - y)[Math.floor(v.length / 2)]);
}

// Reads a 16-bit PCM WAV (as opusdec writes it): its rate, channels and samples of channel 0.
export function readWav(buf) {
  let off = 12, rate = 48000, channels = 1;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4), len = buf.readUInt32LE(off + 4);
    if (id === 'fmt ') { channels = buf.readUInt16LE(off + 10); rate = buf.readUInt32LE(off + 12); }
    if (id === 'data') {
      const end = Math.min(buf.length, off + 8 + len), n = Math.floor((end - off - 8) / (2 * channels));
      const s = new Float32Array(n);
      for (let i = 0; i < n; i++) s[i] = buf.readInt16LE(off + 8 + i * 2 * channels) / 32768;
      return { rate, channels, samples: s };
    }
    off += 8 + len + (len & 1);
  }
  throw new Error('no data chunk in the WAV');
}

// Amplitude of one frequency in samples[from, to) (Goertzel), and the window's RMS.
export function toneLevel(samples, rate, hz, from, to) {
  const w = 2 * Math.cos(2 * Math.PI * hz / rate);
  let s1 = 0, s2 = 0, sq = 0;
  for (let i = from; i < to; i++) {
    const s0 = samples[i] + w * s1 - s2;
    s2 = s1; s1 = s0; sq += samples[i] * samples[i];
  }
  const n = to - from, power = s1 * s1 + s2 * s2 - w * s1 * s2;
  return { amp: 2 * Math.sqrt(Math.max(power, 0)) / n, rms: Math.sqrt(sq / n) };
}

// A server with config (plus the namespace's announced address), a listener's
// browser whose microphone is silent, and two speakers' browsers whose
// microphones play hzA and hzB.
export async function audioStage(name, config, hzA = 440, hzB = 880) {
  const dir = mkdtempSync(join(tmpdir(), `rostrum-${name}-`));
  tone(join(dir, 'a.wav'), hzA);
  tone(join(dir, 'b.wav'), hzB);
  tone(join(dir, 'quiet.wav'), 0);
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify({ ...config, rtc: { announce: '10.213.0.1', ...config.rtc } }));
  const server = await startServer(['--config', cfgPath]);
  const listenerBrowser = await launch([...MEDIA_ARGS, `--use-file-for-fake-audio-capture=${join(dir, 'quiet.wav')}`]);
  const aBrowser = await launch([...MEDIA_ARGS, `--use-file-for-fake-audio-capture=${join(dir, 'a.wav')}`]);
  const bBrowser = await launch([...MEDIA_ARGS, `--use-file-for-fake-audio-capture=${join(dir, 'b.wav')}`]);
  return {
    dir, server, listenerBrowser, aBrowser, bBrowser,
    async close() {
      for (const b of [listenerBrowser, aBrowser, bBrowser]) await b.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
