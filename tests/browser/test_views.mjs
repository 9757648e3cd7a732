// Every view in every language, in a session with a queue and captions:
// axe-core finds no serious or critical violation; at 320x640 no view scrolls
// sideways and each role's primary action is on the first screen; the
// captions-only view stays under 60 KB on first load. Screenshots of each
// view (desktop and phone, English and Arabic) go to out/screens/.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, launch, joinPage } from './lib/harness.mjs';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const LANGS = ['en', 'ar', 'zh', 'fr', 'ru', 'es'];
const shots = new URL('./out/screens/', import.meta.url).pathname;
mkdirSync(shots, { recursive: true });
const dir = mkdtempSync(join(tmpdir(), 'rostrum-views-'));
const cfg = join(dir, 'config.json');
writeFileSync(cfg, JSON.stringify({ rooms: [{ id: 'plenary', title: 'Plenary', open: true,
  policy: { floor: { moderated_queue: true, limit_s: 300 } } }] }));
const server = await startServer(['--config', cfg]);
const browser = await launch();
after(async () => { await browser.close(); await server.stop(); });

const tokens = {
  chair: server.token('plenary', 'moderator', 'Chengetai Masango', '--group', 'intergovernmental'),
  captioner: server.token('plenary', 'captioner', 'Lynn St. Amour'),
  observer: server.token('plenary', 'observer', 'Archive'),
};

// Who each view is, and the control a person of that role needs first.
const VIEWS = {
  chair: { join: { token: tokens.chair }, primary: 'grant-next' },
  participant: { join: { name: 'Markus Kummer', group: 'government' }, primary: 'raise-hand' },
  speaker: { join: { name: 'Zoë Ndiaye', group: 'civil_society' }, primary: 'raise-hand' },
  captioner: { join: { token: tokens.captioner }, primary: 'caption-input' },
  observer: { join: { token: tokens.observer }, primary: 'captions' },
  captions: { join: { name: 'Caption reader', view: 'captions' }, primary: 'captions' },
  transcript: { join: { name: 'Reader' }, primary: 'transcript-download', after: (p) => p.getByTestId('view-transcript').click() },
};

const pages = {};
async function open(name, page) {
  const v = VIEWS[name];
  const p = await joinPage(browser, server.base, { ...v.join, page }).catch((e) => { throw new Error(`${name}: ${e.message}`); });
  if (v.after) await v.after(p);
  return p;
}

async function session() {
  for (const name of Object.keys(VIEWS)) pages[name] = await open(name, { bypassCSP: true, viewport: { width: 1366, height: 768 } });
  const { chair, participant, speaker, captioner } = pages;
  const req = (p, type, f = {}) => p.evaluate(([t, x]) => window.rostrumConn.request(t, x), [type, f]);
  const a = await req(speaker, 'floor.request', { topic: 'Community networks' });
  await req(chair, 'floor.grant', { request: a.request });
  await req(participant, 'floor.request', { topic: 'Follow-up on financing' });
  const w = await req(participant, 'written.submit', { text: 'How will the fund include civil society?' });
  await req(chair, 'written.read', { written: w.written });
  await req(pages.observer, 'ping');
  for (const [lang, text] of [['en', 'The Forum is modest in its means but not in its aspirations.'],
    ['fr', 'Le Forum est modeste dans ses moyens, non dans ses ambitions.']]) {
    await req(captioner, 'caption.final', { text, lang });
  }
  await req(captioner, 'caption.partial', { text: 'And now a line being typed', lang: 'en' });
  // A participant in the moderated queue waits for acceptance; the chair sees both lists.
  const third = await joinPage(browser, server.base, { name: 'Raúl Echeberría', group: 'technical_community' });
  await req(third, 'floor.request');
  await chair.getByTestId('floor-pending').getByText('Raúl Echeberría').waitFor();
  await pages.captions.getByTestId('captions').getByText('modest in its means').waitFor();
}

before(session);

test('axe finds no serious or critical violation in any view and language', async () => {
  const found = [];
  for (const lang of LANGS) {
    for (const [name, p] of Object.entries(pages)) {
      await p.getByTestId('lang-select').selectOption(lang);
      await p.waitForFunction((l) => document.documentElement.lang === l, lang);
      if (!(await p.evaluate(() => !!window.axe))) await p.evaluate(AXE);
      const res = await p.evaluate(() => window.axe.run(document, {
        runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      }));
      for (const v of res.violations)
        if (v.impact === 'serious' || v.impact === 'critical')
          found.push(`${name}/${lang}: ${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
      if (lang === 'ar') assert.equal(await p.evaluate(() => document.documentElement.dir), 'rtl');
    }
  }
  assert.deepEqual(found, []);
});

test('at 320x640 nothing scrolls sideways and the primary action is on the first screen', async () => {
  const bad = [];
  for (const lang of ['en', 'ar', 'ru']) {
    for (const name of Object.keys(VIEWS)) {
      const p = await open(name, { viewport: { width: 320, height: 640 } });
      await p.getByTestId('lang-select').selectOption(lang);
      await p.waitForFunction((l) => document.documentElement.lang === l, lang);
      const r = await p.evaluate((id) => {
        const e = document.querySelector(`[data-testid="${id}"]`);
        const b = e && e.getBoundingClientRect();
        return { sw: document.documentElement.scrollWidth, top: b && b.top, bottom: b && b.bottom, shown: !!(e && e.offsetParent) };
      }, VIEWS[name].primary);
      if (r.sw > 320) bad.push(`${name}/${lang}: ${r.sw} px wide`);
      if (!r.shown || r.top < 0 || r.top > 640 - 24) bad.push(`${name}/${lang}: ${VIEWS[name].primary} at y=${r.top}`);
      await p.close();
    }
  }
  assert.deepEqual(bad, []);
});

test('targets are at least 24 px and the focus ring is visible', async () => {
  const p = pages.chair;
  await p.getByTestId('lang-select').selectOption('en');
  const small = await p.evaluate(() => [...document.querySelectorAll('button, select, input, summary')]
    .filter((e) => e.offsetParent && !e.closest('.skips'))
    .map((e) => [e.dataset.testid || e.id || e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])
    .filter(([, b]) => b.height < 24 || b.width < 24).map(([n, b]) => `${n}: ${Math.round(b.width)}x${Math.round(b.height)}`));
  assert.deepEqual(small, []);
  await p.keyboard.press('Tab');
  const ring = await p.evaluate(() => getComputedStyle(document.activeElement).outlineWidth);
  assert.equal(ring, '3px');
});

test('the chair with 31 hands up still sees everything on a laptop screen', async () => {
  const crowd = await browser.newPage();
  await crowd.goto(`${server.base}/?room=plenary`);
  // 31 more people, each on their own WebSocket from one page, raise their hands.
  await crowd.evaluate(async (n) => {
    const groups = ['government', 'private_sector', 'civil_society', 'technical_community', 'academia'];
    const one = (i) => new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${location.host}/ws`, 'rostrum.v1');
      let id = 0;
      const send = (type, f) => ws.send(JSON.stringify({ type, id: ++id, ...f }));
      ws.onopen = () => send('join', { room: 'plenary', name: `Delegate ${i + 1}`, attrs: { group: groups[i % 5], onsite: i % 2 === 0 } });
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.type === 'result' && m.re === 1) send('floor.request', { topic: `Point ${i + 1}` });
        else if (m.type === 'result' && m.re === 2) resolve();
        else if (m.type === 'error') reject(new Error(m.message));
      };
      (window.crowd = window.crowd || []).push(ws);
    });
    await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  }, 31);
  const chair = pages.chair;
  await chair.setViewportSize({ width: 1366, height: 768 });
  await chair.getByTestId('lang-select').selectOption('en');
  await chair.getByTestId('floor-pending').getByText('Delegate 31').waitFor();
  const r = await chair.evaluate(() => {
    const b = document.querySelector('[data-testid="grant-next"]').getBoundingClientRect();
    const h = document.querySelector('[data-testid="floor-holders"]').getBoundingClientRect();
    return { w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight, grant: b.bottom, holders: h.top };
  });
  assert.ok(r.w <= 1366 && r.h <= 768, `the page is ${r.w}x${r.h}`);
  assert.ok(r.grant <= 768 && r.holders <= 768, JSON.stringify(r));
  await chair.screenshot({ path: `${shots}chair-crowd-desktop-en.png` });
  await crowd.close();
});

test('the captions-only view loads in under 60 KB', async () => {
  const p = await browser.newPage();
  let bytes = 0;
  const files = [];
  p.on('response', async (r) => {
    const len = Number((await r.allHeaders())['content-length'] || 0);
    bytes += len;
    files.push(`${new URL(r.url()).pathname} ${len} ${r.headers()['content-encoding'] || ''}`);
  });
  await p.goto(`${server.base}/?room=plenary&view=captions`);
  await p.getByTestId('join-name').fill('Low bandwidth');
  await p.getByTestId('join-button').click();
  await p.getByTestId('captions').getByText('modest in its means').waitFor();
  await p.waitForTimeout(300);
  console.log(`captions-only first load: ${bytes} bytes\n${files.join('\n')}`);
  assert.ok(bytes < 60 * 1024, `${bytes} bytes`);
  assert.ok(files.every((f) => !f.includes('audio.js') && !f.includes('chair.js')), files.join('\n'));
  // Revalidation: a second load sends 304s for unchanged files.
  const r = await fetch(`${server.base}/style.css`);
  const again = await fetch(`${server.base}/style.css`, { headers: { 'if-none-match': r.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  await p.close();
});

// The session's own pages, so the speaker is seen with the floor and the chair with a queue.
test('screenshots of each view, desktop and phone, English and Arabic', async () => {
  for (const lang of ['en', 'ar']) {
    for (const [size, viewport] of [['desktop', { width: 1366, height: 768 }], ['phone', { width: 360, height: 740 }]]) {
      for (const name of ['chair', 'participant', 'speaker', 'captioner', 'captions', 'transcript']) {
        const p = pages[name];
        await p.setViewportSize(viewport);
        await p.getByTestId('lang-select').selectOption(lang);
        await p.waitForFunction((l) => document.documentElement.lang === l, lang);
        await p.evaluate(() => { document.activeElement.blur(); window.scrollTo(0, 0); });
        await p.waitForTimeout(200);
        await p.screenshot({ path: `${shots}${name}-${size}-${lang}.png` });
      }
    }
  }
});
