// Two people join the demo room in the web client and see each other.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, joinPage } from './lib/harness.mjs';

const out = new URL('./out/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const server = await startServer();
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

test('moderator and participant see each other, and presence updates', async () => {
  const mod = await joinPage(browser, server.base, { token: server.token('plenary', 'moderator', 'Chengetai Masango', '--group', 'intergovernmental') });
  const part = await joinPage(browser, server.base, { name: 'Zoë Ndiaye', group: 'civil_society' });
  // The list of participants is folded away (it is long in a plenary): open it.
  for (const p of [mod, part]) await p.locator('summary', { hasText: 'Participants' }).click();
  await mod.getByTestId('roster').getByText('Zoë Ndiaye').waitFor();
  await part.getByTestId('roster').getByText('Chengetai Masango').waitFor();
  assert.equal(await mod.locator('#moderator-panel').isVisible(), true);
  assert.equal(await part.locator('#moderator-panel').isVisible(), false);
  await part.locator('summary', { hasText: 'My details' }).click();
  await part.getByTestId('presence-label').fill('remote hub: Dakar');
  await part.getByTestId('presence-save').click();
  await mod.getByTestId('roster').getByText('remote hub: Dakar').waitFor();
  await mod.screenshot({ path: out + 'roster-moderator.png', fullPage: true });
  await part.screenshot({ path: out + 'roster-participant.png', fullPage: true });
});
