// A participant raises a hand in the web client; the moderator grants it from theirs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, joinPage } from './lib/harness.mjs';

const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

test('raise hand, grant, release', async () => {
  const mod = await joinPage(browser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const part = await joinPage(browser, server.base, { name: 'Raúl Echeberría', group: 'technical_community' });
  await part.getByTestId('floor-topic').fill('Interconnection costs');
  await part.getByTestId('raise-hand').click();
  await part.getByTestId('floor-you').getByText('number 1 in the queue').waitFor();
  const row = mod.getByTestId('floor-queue').locator('li', { hasText: 'Raúl Echeberría' });
  await row.getByText('Interconnection costs').waitFor();
  await mod.getByTestId('suggestion').getByText('Raúl Echeberría').waitFor();
  await mod.screenshot({ path: out + 'floor-moderator.png', fullPage: true });
  await row.getByTestId('grant').click();
  await part.getByTestId('floor-you').getByText('You have the floor').waitFor();
  await mod.getByTestId('floor-holders').getByText('Raúl Echeberría').waitFor();
  await part.screenshot({ path: out + 'floor-participant.png', fullPage: true });
  await part.getByTestId('release').click();
  await mod.getByTestId('floor-holders').locator('li').waitFor({ state: 'detached' });
  assert.equal(await part.getByTestId('raise-hand').isVisible(), true);
});
