// app: joining, the connection state and the views. One page serves every
// role: the chair's dashboard (moderator), the participant's view, the
// captioner's console and the observer's; ?view=captions is the
// low-bandwidth captions-only mode (no audio, no roster, no floor modules).
// Role modules are loaded only when the role needs them.
import { Conn } from './conn.js';
import { $, el, announce } from './util.js';
import { t, setLang, pickLang, lang, group, errorText, onLang } from './i18n.js';
import { Captions } from './captions.js';

const params = new URLSearchParams(location.search);
const lowband = params.get('view') === 'captions';
const state = {
  room: params.get('room') || 'plenary', token: params.get('token'), you: null,
  roster: new Map(), joinFields: null, online: false, lowband, snap: null,
};
const store = {
  key: (k) => `rostrum.${k}.${state.room}`,
  get(k) { try { return JSON.parse(sessionStorage.getItem(this.key(k))); } catch { return null; } },
  set(k, v) { sessionStorage.setItem(this.key(k), JSON.stringify(v)); },
  drop(k) { sessionStorage.removeItem(this.key(k)); },
};

const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const conn = new Conn(wsUrl);
window.rostrumConn = conn; // for tests and diagnostics
const talking = new Set();
const ctx = { conn, state, guard, talking, renderRoster: () => renderRoster(), modules: [] };
const captions = new Captions(ctx);
ctx.captions = captions;

function setStatus(text) { $('status').textContent = text; }

export function describe(p) {
  const bits = [];
  if (p.role && p.role !== 'participant') bits.push(t('role.' + p.role));
  if (p.group) bits.push(group(p.group));
  if (p.region) bits.push(p.region);
  if (p.onsite !== undefined) bits.push(p.onsite ? t('where.onsite') : t('where.remote'));
  if (p.label) bits.push(p.label);
  if (p.state === 'reconnecting') bits.push(t('roster.reconnecting'));
  return bits.join(' · ');
}
ctx.describe = describe;

function renderRoster() {
  if (lowband) return;
  const ul = $('roster');
  const order = { moderator: 0, captioner: 1, participant: 2, observer: 3 };
  const people = [...state.roster.values()].sort((a, b) =>
    (order[a.role] - order[b.role]) || a.name.localeCompare(b.name));
  ul.replaceChildren(...people.map((p) => el('li', { dataset: { pid: p.pid }, class: talking.has(p.pid) ? 'talking' : null },
    talking.has(p.pid) ? el('span', { class: 'sr-tag', text: t('roster.talking') + ' ' }) : null,
    el('span', { text: p.name + (state.you && p.pid === state.you.pid ? ' ' + t('roster.you') : '') }),
    el('span', { class: 'meta', text: ' ' + describe(p) }))));
  $('roster-count').textContent = `(${state.count ?? people.length})`; // a large room lists only some
}

// Offline: every control that needs the server is disabled (and says why);
// local ones (caption settings, views, language, downloads) stay usable.
function guard(root = $('room-view')) {
  for (const c of root.querySelectorAll('button, input, select, textarea')) {
    if (c.closest('[data-local]') || c.hasAttribute('data-local')) continue;
    if (!state.online) { if (!c.disabled) { c.disabled = true; c.dataset.offline = '1'; } }
    else if (c.dataset.offline) { c.disabled = false; delete c.dataset.offline; }
  }
}

function setOnline(on, wait) {
  state.online = on;
  document.body.classList.toggle('is-offline', !on && !!state.you);
  $('offline').hidden = on || !state.you;
  if (!on && state.you) {
    $('offline-text').textContent = t('conn.reconnecting', { s: Math.max(1, Math.round((wait || 0) / 1000)) });
    announce(t('conn.lost'));
  }
  if (state.you) guard();
}

function joinFieldsFromForm() {
  const f = $('join-form');
  const attrs = {};
  if (!lowband) {
    attrs.onsite = f.onsite.value === 'onsite';
    if (f.group.value) attrs.group = f.group.value;
    if (f.region.value.trim()) attrs.region = f.region.value.trim();
    if (f.label.value.trim()) attrs.label = f.label.value.trim();
  }
  const fields = { room: state.room, attrs };
  if (state.token) fields.token = state.token;
  else fields.name = f.name.value.trim();
  return fields;
}

// Joins with the resume secret when there is one (PROTOCOL.md, "Resumption"):
// the same membership, its place in the queue and the captions missed. A
// secret the server no longer knows (or a server that does not resume) gets a
// fresh join from the form's fields.
async function requestJoin() {
  const secret = store.get('resume');
  if (secret) {
    try {
      return await conn.request('join', { room: state.room, resume: secret, last_caption_seq: captions.lastSeq });
    } catch (e) {
      if (e.code === 'offline') throw e;
      store.drop('resume');
    }
  }
  if (!state.joinFields) throw Object.assign(new Error('join again'), { code: 'resume_expired' });
  return conn.request('join', state.joinFields);
}

async function join() {
  const snap = await requestJoin();
  state.snap = snap;
  if (snap.resume && snap.resume.secret) store.set('resume', snap.resume.secret);
  store.set('join', state.joinFields);
  state.you = snap.you;
  state.roster = new Map((snap.roster || []).map((p) => [p.pid, p]));
  state.count = snap.count;
  $('room-title').textContent = '— ' + snap.room.title;
  document.title = `${snap.room.title} — Rostrum`;
  ctx.baseTitle = document.title;
  setStatus(t('conn.as', { name: state.you.name, role: t('role.' + state.you.role) }));
  await loadRole(); // the room is shown once its role's modules are there: no half-built view
  $('join-view').hidden = true;
  $('room-view').hidden = false;
  $('view-nav').hidden = false;
  for (const e of document.querySelectorAll('#room-view .error')) e.textContent = ''; // errors of the offline period
  setOnline(true);
  renderRoster();
  captions.snapshot(snap.captions);
  for (const m of ctx.modules) m.snapshot(snap);
  guard();
}

let loaded = false;
async function loadRole() {
  if (loaded) return;
  loaded = true;
  const role = state.you.role;
  document.body.dataset.role = role;
  document.body.classList.toggle('lowband', lowband);
  const want = [];
  if (!lowband) {
    want.push(import('./audio.js'));
    if (role === 'moderator') want.push(import('./chair.js'));
    else want.push(import('./participant.js'));
    if (role === 'captioner') want.push(import('./captioner.js'));
    $('roster-panel').hidden = false;
    $('audio-panel').hidden = false;
  }
  for (const mod of await Promise.all(want)) ctx.modules.push(mod.mount(ctx));
  if (lowband) { showView('captions'); document.querySelector('#view-nav [data-view="main"]').hidden = true; }
}

function showView(v) {
  for (const b of document.querySelectorAll('#view-nav .tab')) b.setAttribute('aria-pressed', String(b.dataset.view === v));
  document.body.dataset.view = v;
  $('layout').hidden = v === 'transcript';
  $('transcript-panel').hidden = v !== 'transcript';
  if (v === 'transcript') captions.renderTranscript();
}

conn.on('open', async () => {
  if (!state.joinFields && !store.get('resume')) { setStatus(t('conn.connected')); return; }
  setStatus(t('conn.rejoining'));
  try { await join(); } catch (e) {
    if (e.code !== 'offline') setStatus(t('conn.rejoinFailed', { reason: errorText(e) }));
  }
});
conn.on('close', (e) => {
  setOnline(false, e.wait);
  setStatus(e.retry ? (e.code === 1001 ? t('conn.restarting') : t('conn.offline')) : t('conn.closed'));
});
conn.on('error', (m) => setStatus(errorText(m)));
// One delta per server tick: who joined, changed and left since the last one.
conn.on('roster.delta', (m) => {
  for (const p of [...(m.joined || []), ...(m.updated || [])]) state.roster.set(p.pid, p);
  for (const pid of m.left || []) state.roster.delete(pid);
  state.count = m.count;
  renderRoster();
});
conn.on('audio.talking', (m) => {
  if (m.talking) talking.add(m.pid); else talking.delete(m.pid);
  renderRoster();
});

$('join-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('join-error').textContent = '';
  state.joinFields = joinFieldsFromForm();
  if (!state.token && !state.joinFields.name) {
    $('join-error').textContent = t('join.needName');
    $('join-name').focus();
    return;
  }
  try {
    await join();
    $('main').focus();
  } catch (e) {
    state.joinFields = null;
    $('join-error').textContent = errorText(e);
  }
});

$('presence-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const attrs = { region: $('p-region').value.trim(), label: $('p-label').value.trim() };
  try {
    await conn.request('presence', { attrs });
    Object.assign(state.joinFields.attrs, attrs);
    store.set('join', state.joinFields);
  } catch (e) { setStatus(errorText(e)); }
});

for (const b of document.querySelectorAll('#view-nav .tab')) {
  b.dataset.local = '';
  b.addEventListener('click', () => showView(b.dataset.view));
}
$('lang-select').addEventListener('change', (e) => setLang(e.target.value, true));
onLang(() => {
  $('lang-select').value = lang();
  renderRoster();
  if (state.you) setStatus(state.online ? t('conn.as', { name: state.you.name, role: t('role.' + state.you.role) }) : t('conn.offline'));
  if (state.token) $('join-as').textContent = t('join.asToken');
});

await setLang(pickLang());
if (lowband) {
  document.body.classList.add('lowband');
  for (const e of document.querySelectorAll('#join-form .extra')) e.hidden = true;
}
if (state.token) $('name-row').hidden = true;
// A reload in the same tab joins again as the same person, with the resume secret.
const saved = store.get('join');
if (saved && saved.room === state.room && (saved.token || null) === (state.token || null)) state.joinFields = saved;
conn.open();
