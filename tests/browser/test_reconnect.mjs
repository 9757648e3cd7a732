// The connection drops: the page says it is reconnecting and disables what
// needs the server; it comes back with jittered backoff, joins again (with
// the resume secret when the server gave one) and rebuilds the view from the
// server's snapshot.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, joinPage } from './lib/harness.mjs';

const server = await startServer();
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

function joins(page) {
  const sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => {
    try { const m = JSON.parse(f.payload); if (m.type === 'join') sent.push(m); } catch { /* not ours */ }
  }));
  return sent;
}

test('offline: controls paused; back online: rebuilt from the snapshot', async () => {
  const chair = await joinPage(browser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const page = await browser.newPage();
  const sent = joins(page);
  await page.goto(`${server.base}/?room=plenary`);
  await page.getByTestId('join-name').fill('Amina');
  await page.getByTestId('join-button').click();
  await page.locator('#room-view').waitFor({ state: 'visible' });
  await page.getByTestId('raise-hand').click();
  await page.getByTestId('floor-you').getByText('number 1').waitFor();
  const secret = await page.evaluate(() => sessionStorage.getItem('rostrum.resume.plenary'));

  await page.evaluate(() => window.rostrumConn.drop());
  await page.getByTestId('offline').waitFor({ state: 'visible' });
  assert.equal(await page.getByTestId('lower-hand').isDisabled(), true, 'controls are disabled offline');
  assert.equal(await page.getByTestId('caption-size').isDisabled(), false, 'local settings stay usable');
  await page.getByTestId('offline').waitFor({ state: 'hidden', timeout: 10000 });
  assert.equal(sent.length, 2);
  if (secret) assert.equal(sent[1].resume, JSON.parse(secret), 'the resume secret goes with the new join');
  // Whatever the server kept (a resumed hand, or none), the page shows the server's state.
  let agree = false, said = '';
  for (let i = 0; i < 50 && !agree; i++) {
    const queued = await chair.getByTestId('floor-queue').locator('li', { hasText: 'Amina' }).count();
    said = `${queued} queued for the chair, the page says "${await page.getByTestId('floor-you').textContent()}"`;
    agree = queued ? /number 1/.test(said) : /Raise your hand/.test(said);
    if (!agree) await page.waitForTimeout(100);
  }
  assert.ok(agree, said);
  assert.equal(await page.getByTestId(/number 1/.test(said) ? 'lower-hand' : 'raise-hand').isDisabled(), false);

  // A reload in the same tab joins again as the same person, without the form.
  await page.reload();
  await page.locator('#room-view').waitFor({ state: 'visible' });
  await page.locator('#status').getByText('Connected as Amina').waitFor();
  assert.ok(sent.at(-1).resume || sent.at(-1).name === 'Amina', JSON.stringify(sent.at(-1)));
});

test('the backoff is exponential with jitter', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}/?room=plenary`);
  const delays = await page.evaluate(async () => {
    const { Conn } = await import('/js/conn.js');
    const c = new Conn('ws://127.0.0.1:1/');
    return Array.from({ length: 8 }, () => c.delay());
  });
  for (let i = 0; i < delays.length; i++) {
    const ceiling = Math.min(3000, 250 * 2 ** i);
    assert.ok(delays[i] >= ceiling / 2 && delays[i] <= ceiling, `attempt ${i}: ${delays[i]} ms`);
  }
});

test('a request made while the socket is still opening waits for it', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}/?room=plenary`);
  const outcome = await page.evaluate(async () => {
    const { Conn } = await import('/js/conn.js');
    const c = new Conn(`ws://${location.host}/ws`);
    c.open();
    const opening = c.ws.readyState === WebSocket.CONNECTING;
    try {
      await c.request('nonsense');
      return { opening, code: 'result' };
    } catch (e) {
      return { opening, code: e.code };
    } finally {
      c.closedByUs = true;
      c.ws.close();
    }
  });
  assert.ok(outcome.opening, 'the request was made before the socket opened');
  assert.notEqual(outcome.code, 'offline', 'it reached the server instead of failing as offline');
});
