// The captioner console reaches the participant's caption panel, and the
// session's WebVTT export loads in Chromium as a text track.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, joinPage } from './lib/harness.mjs';

const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

test('captions typed by a captioner appear for participants, and the VTT loads as a track', async () => {
  const cap = await joinPage(browser, server.base, { token: server.token('plenary', 'captioner', 'Lynn St. Amour') });
  const part = await joinPage(browser, server.base, { name: 'Listener' });
  const input = cap.getByTestId('caption-input');
  await input.pressSequentially('The Forum is modest in its means', { delay: 20 });
  await part.getByTestId('captions').locator('.partial', { hasText: 'modest in its' }).waitFor();
  await input.pressSequentially(' but not in its aspirations.');
  await input.press('Enter');
  await part.getByTestId('captions').locator('.final', { hasText: 'but not in its aspirations.' }).waitFor();
  assert.equal(await part.getByTestId('captions').locator('.partial').count(), 0);
  await input.fill('A second line, for the record.');
  await input.press('Enter');
  await part.getByTestId('captions').locator('.final', { hasText: 'second line' }).waitFor();
  await part.screenshot({ path: out + 'captions-participant.png', fullPage: true });

  const tok = server.token('plenary', 'observer', 'Archive');
  const cues = await part.evaluate(async (src) => {
    const video = document.createElement('video');
    const track = document.createElement('track');
    track.kind = 'captions';
    track.src = src;
    track.default = true;
    video.append(track);
    document.body.append(video);
    track.track.mode = 'hidden';
    await new Promise((resolve, reject) => {
      track.addEventListener('load', resolve);
      track.addEventListener('error', () => reject(new Error('track failed to load')));
    });
    return [...track.track.cues].map((c) => c.text);
  }, `/api/rooms/plenary/transcript.vtt?token=${tok}`);
  assert.ok(cues.some((t) => t.includes('but not in its aspirations.')), JSON.stringify(cues));
  assert.ok(cues.some((t) => t.includes('A second line, for the record.')));
});
