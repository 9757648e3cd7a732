// A full session in the web client: a chair driven by the keyboard alone, two
// participants, a captioner and an observer. Hands raised in a moderated
// queue, a request accepted and granted, the time warning and time-up, one
// more minute, a revoke whose reason reaches the speaker, a written
// intervention read out and answered with its status shown to its author,
// captions in two tracks with a participant switching, the transcript
// downloaded; the countdown is not announced every second and focus stays on
// the control the chair used.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, joinPage } from './lib/harness.mjs';
import { tabTo, focusedKey } from './lib/keys.mjs';

const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'rostrum-session-'));
const cfg = join(dir, 'config.json');
writeFileSync(cfg, JSON.stringify({ rooms: [{ id: 'plenary', title: 'Plenary', open: true,
  policy: { floor: { moderated_queue: true, limit_s: 8, warn_s: 4, on_expiry: 'warn' } } }] }));
const server = await startServer(['--config', cfg]);
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

const laptop = { viewport: { width: 1366, height: 768 } };
const announced = (page) => page.evaluate(() => window.rostrumAnnouncements || []);

test('a full session, the chair on the keyboard alone', async () => {
  const chair = await joinPage(browser, server.base, { page: laptop,
    token: server.token('plenary', 'moderator', 'Chengetai Masango', '--group', 'intergovernmental') });
  const zoe = await joinPage(browser, server.base, { name: 'Zoë Ndiaye', group: 'civil_society' });
  const markus = await joinPage(browser, server.base, { name: 'Markus Kummer', group: 'government' });
  const cap = await joinPage(browser, server.base, { token: server.token('plenary', 'captioner', 'Lynn St. Amour') });
  const obs = await joinPage(browser, server.base, { token: server.token('plenary', 'observer', 'Archive') });

  // The chair's dashboard fits a laptop screen without scrolling.
  const size = await chair.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
  assert.ok(size[0] <= 1366 && size[1] <= 768, `chair's page is ${size}`);

  // Hands go up in a moderated queue: they wait for the chair.
  await zoe.getByTestId('floor-topic').fill('Community networks');
  await zoe.getByTestId('raise-hand').click();
  await zoe.getByTestId('floor-you').getByText('waits for the chair').waitFor();
  await markus.getByTestId('raise-hand').click();
  const pendingZoe = chair.getByTestId('floor-pending').locator('li', { hasText: 'Zoë Ndiaye' });
  await pendingZoe.getByText('Community networks').waitFor();
  await chair.getByTestId('floor-pending').locator('li', { hasText: 'Markus Kummer' }).waitFor();

  // Accept Zoë with the keyboard: focus stays on the acted-on control's place.
  await tabTo(chair, '[aria-label="Accept — Zoë Ndiaye"]');
  await chair.keyboard.press('Enter');
  await chair.getByTestId('floor-queue').locator('li', { hasText: 'Zoë Ndiaye' }).waitFor();
  await zoe.getByTestId('floor-you').getByText('number 1 in the queue').waitFor();
  assert.equal(await focusedKey(chair).then((k) => /:accept$/.test(k)), true, 'focus moved to the next Accept');
  await chair.keyboard.press('Enter'); // accepts Markus, now in the same place
  await chair.getByTestId('floor-queue').locator('li', { hasText: 'Markus Kummer' }).waitFor();
  await zoe.screenshot({ path: out + 'session-participant-queued.png' });

  // Reorder: Markus up, and focus stays on his button as his row moves.
  await tabTo(chair, '[aria-label="↑ Up — Markus Kummer"]');
  const key = await focusedKey(chair);
  await chair.keyboard.press('Enter');
  await chair.getByTestId('floor-queue').locator('li').first().getByText('Markus Kummer').waitFor();
  assert.equal(await focusedKey(chair), key, 'focus stays on the moved row');
  await markus.getByTestId('floor-you').getByText('number 1 in the queue').waitFor();
  await zoe.getByTestId('floor-you').getByText('number 2 in the queue').waitFor();
  await tabTo(chair, '[aria-label="↓ Down — Markus Kummer"]');
  await chair.keyboard.press('Enter');
  await chair.getByTestId('floor-queue').locator('li').first().getByText('Zoë Ndiaye').waitFor();
  assert.equal(await focusedKey(chair).then((k) => k.endsWith(':down')), true, 'focus stays after Down');

  // Grant next (Alt+Shift+N): Zoë has the floor, with the title changed.
  await chair.getByTestId('suggestion').getByText('Zoë Ndiaye').waitFor();
  const before = (await announced(zoe)).length;
  await chair.keyboard.press('Alt+Shift+N');
  await zoe.getByTestId('floor-you').getByText('You have the floor').waitFor();
  await chair.getByTestId('floor-holders').getByText('Zoë Ndiaye').waitFor();
  assert.match(await zoe.title(), /left|floor/);
  // The warning (4 s before the end) and time-up (8 s), shown and announced once each.
  await chair.getByTestId('holder-clock').getByText('Time is up').waitFor({ timeout: 15000 });
  await zoe.getByTestId('floor-time').getByText('Time is up').waitFor();
  await chair.screenshot({ path: out + 'session-chair-timeup.png' });
  const said = (await announced(zoe)).slice(before);
  assert.ok(said.some((s) => /left/.test(s)), `the warning was announced: ${JSON.stringify(said)}`);
  assert.ok(said.some((s) => /time is up/i.test(s)), `time-up was announced: ${JSON.stringify(said)}`);
  assert.ok(said.length <= 4, `8 s of countdown gave ${said.length} announcements: ${JSON.stringify(said)}`);
  assert.ok(await zoe.evaluate(() => !document.querySelector('[aria-live] .clock, [role="status"] .clock, [role="log"] .clock')));

  // One more minute (Alt+Shift+E): the countdown runs again.
  await chair.keyboard.press('Alt+Shift+E');
  await zoe.getByTestId('floor-time').getByText(/left/).waitFor();
  await chair.getByTestId('holder-clock').getByText(/left/).waitFor();

  // Revoke with a reason typed by the chair; Zoë sees it.
  await tabTo(chair, '[data-testid="revoke-reason"]');
  await chair.keyboard.type('Off topic');
  await chair.keyboard.press('Alt+Shift+R');
  await zoe.getByTestId('floor-reason').getByText('Off topic').waitFor();
  await zoe.getByTestId('floor-reason').getByText('The chair ended your turn.').waitFor();
  await chair.locator('#holders-empty').waitFor({ state: 'visible' });
  await zoe.screenshot({ path: out + 'session-participant-revoked.png' });

  // A written intervention, read out and answered: its author sees each status.
  await markus.locator('summary', { hasText: 'Written intervention' }).click();
  await markus.getByTestId('written-text').fill('How will the fund include civil society?');
  await markus.getByTestId('written-submit').click();
  await markus.getByTestId('my-written').getByText('[waiting]').waitFor();
  await chair.getByTestId('written-queue').getByText('How will the fund include').waitFor();
  await tabTo(chair, '[aria-label="Read out — Markus Kummer"]');
  await chair.keyboard.press('Enter');
  await markus.getByTestId('my-written').getByText('[read out]').waitFor();
  await tabTo(chair, '[aria-label="Answered — Markus Kummer"]', { back: true });
  await chair.keyboard.press('Enter');
  await markus.getByTestId('my-written').getByText('[answered]').waitFor();
  await chair.getByTestId('written-counts').getByText(/Asked 1 · read 1 · answered 1/).waitFor();

  // Speaking time by group, as shares.
  await chair.getByTestId('stats').getByText('Civil society').waitFor();
  assert.match(await chair.getByTestId('stats').textContent(), /100%/);

  // Captions in two tracks; Zoë switches from English to French.
  const input = cap.getByTestId('caption-input');
  await input.fill('The Forum is modest in its means but not in its aspirations.');
  await input.press('Enter');
  await cap.getByTestId('caption-lang').selectOption('fr');
  await input.fill('Le Forum est modeste dans ses moyens.');
  await input.press('Enter');
  await zoe.getByTestId('captions').getByText('modest in its means').waitFor();
  await obs.getByTestId('captions').getByText('modest in its means').waitFor();
  assert.equal(await zoe.getByTestId('captions').getByText('Le Forum').count(), 0, 'one track at a time');
  await zoe.getByTestId('caption-track').selectOption('fr');
  await zoe.getByTestId('captions').getByText('Le Forum est modeste').waitFor();
  assert.equal(await zoe.getByTestId('captions').getByText('modest in its means').count(), 0);
  // The choice is kept on the device.
  await zoe.reload();
  await zoe.locator('#room-view').waitFor({ state: 'visible' });
  assert.equal(await zoe.getByTestId('caption-track').inputValue(), 'fr');
  await cap.screenshot({ path: out + 'session-captioner.png' });
  // Hand-over: the console pauses and the roster tells the partner and the chair.
  await cap.getByTestId('caption-handover').click();
  assert.equal(await input.isDisabled(), true);
  await chair.waitForFunction(() => document.querySelector('[data-testid="roster"]').textContent.includes('standing by'));

  // The transcript so far, downloaded as text.
  await zoe.getByTestId('view-transcript').click();
  await zoe.getByTestId('transcript-track').selectOption('en');
  await zoe.getByTestId('transcript').getByText('modest in its means').waitFor();
  const [dl] = await Promise.all([zoe.waitForEvent('download'), zoe.getByTestId('transcript-download').click()]);
  const file = join(dir, 'transcript.txt');
  await dl.saveAs(file);
  assert.match(readFileSync(file, 'utf8'), /modest in its means but not in its aspirations\./);
  await obs.screenshot({ path: out + 'session-observer.png' });
});
