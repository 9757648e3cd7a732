// app: state and views of the web client. One page adapts to the role the
// server gives: participant, moderator, captioner or observer.
import { Conn } from './conn.js';
import { FloorView } from './floor.js';
import { CaptionView } from './captions.js';
import { AudioView } from './audio.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = { room: params.get('room') || 'plenary', token: params.get('token'), you: null,
                roster: new Map(), joinFields: null };

const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
const conn = new Conn(wsUrl);
window.rostrumConn = conn; // for tests and diagnostics
const floor = new FloorView(conn, state);
const captions = new CaptionView(conn, state);
const talking = new Set();
const audio = new AudioView(conn, state, (pid, on) => {
  if (on) talking.add(pid); else talking.delete(pid);
  renderRoster();
});

function setStatus(text) { $('status').textContent = text; }

export function describe(p) {
  const bits = [];
  if (p.group) bits.push(p.group.replace('_', ' '));
  if (p.region) bits.push(p.region);
  if (p.onsite !== undefined) bits.push(p.onsite ? 'in the room' : 'remote');
  if (p.label) bits.push(p.label);
  return bits.join(' · ');
}

function renderRoster() {
  const ul = $('roster');
  ul.replaceChildren();
  const order = { moderator: 0, captioner: 1, participant: 2, observer: 3 };
  const people = [...state.roster.values()].sort((a, b) =>
    (order[a.role] - order[b.role]) || a.name.localeCompare(b.name));
  for (const p of people) {
    const li = document.createElement('li');
    li.dataset.pid = p.pid;
    if (talking.has(p.pid)) li.classList.add('talking');
    const name = document.createElement('span');
    name.textContent = p.name + (state.you && p.pid === state.you.pid ? ' (you)' : '');
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = ` ${p.role !== 'participant' ? p.role + ' · ' : ''}${describe(p)}` +
      (p.state === 'reconnecting' ? ' · reconnecting…' : '');
    li.append(name, meta);
    ul.append(li);
  }
  $('roster-count').textContent = `(${state.count ?? people.length})`; // a large room lists only some
}

function joinFieldsFromForm() {
  const f = $('join-form');
  const attrs = { onsite: f.onsite.value === 'onsite' };
  if (f.group.value) attrs.group = f.group.value;
  if (f.region.value.trim()) attrs.region = f.region.value.trim();
  if (f.label.value.trim()) attrs.label = f.label.value.trim();
  const fields = { room: state.room, attrs };
  if (state.token) fields.token = state.token;
  else fields.name = f.name.value.trim();
  return fields;
}

// The resume secret of this tab's membership (PROTOCOL.md, "Resumption"): kept
// for the tab, so a dropped link, a server restart or a reload keeps our place.
const resumeKey = 'rostrum.resume.' + state.room;

// A resumed join when we hold a secret, else a fresh one from the join form.
async function joinRequest() {
  const secret = sessionStorage.getItem(resumeKey);
  if (secret) {
    try {
      return await conn.request('join', { room: state.room, resume: secret,
                                          last_caption_seq: captions.lastSeq });
    } catch (e) {
      if (e.code !== 'resume_invalid' && e.code !== 'resume_expired') throw e;
      sessionStorage.removeItem(resumeKey);
    }
  }
  if (!state.joinFields) throw new Error('please join again');
  return conn.request('join', state.joinFields);
}

async function join() {
  const snap = await joinRequest();
  if (snap.resume) sessionStorage.setItem(resumeKey, snap.resume.secret);
  state.you = snap.you;
  state.roster = new Map(snap.roster.map((p) => [p.pid, p]));
  state.count = snap.count;
  $('room-title').textContent = '— ' + snap.room.title;
  document.title = `${snap.room.title} — Rostrum`;
  $('join-view').hidden = true;
  $('room-view').hidden = false;
  $('moderator-panel').hidden = state.you.role !== 'moderator';
  setStatus(`Connected as ${state.you.name} (${state.you.role})`);
  renderRoster();
  if (audio.pc) { // the server dropped our audio with the old connection: offer again
    audio.close();
    audio.join();
  }
  floor.snapshot(snap.floor);
  captions.snapshot(snap.captions);
  audio.recording(snap.recording);
}

conn.on('open', async () => {
  setStatus('Connected');
  if (!state.joinFields && !sessionStorage.getItem(resumeKey)) return;
  try { await join(); } catch (e) { setStatus(`Could not re-join: ${e.message}`); }
});
conn.on('close', (e) => setStatus(e.code === 1001 ? 'The server is restarting; reconnecting…'
                                                   : 'Disconnected; reconnecting…'));
conn.on('error', (m) => setStatus(`Server: ${m.message}`));
// One delta per server tick: who joined, changed and left since the last one.
conn.on('roster.delta', (m) => {
  for (const p of [...m.joined, ...m.updated]) state.roster.set(p.pid, p);
  for (const pid of m.left) state.roster.delete(pid);
  state.count = m.count;
  renderRoster();
});

$('join-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('join-error').textContent = '';
  state.joinFields = joinFieldsFromForm();
  try {
    await join();
  } catch (e) {
    state.joinFields = null;
    $('join-error').textContent = e.message;
  }
});

$('presence-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const attrs = { region: $('p-region').value.trim(), label: $('p-label').value.trim() };
  try {
    await conn.request('presence', { attrs });
    Object.assign(state.joinFields.attrs, attrs);
  } catch (e) { setStatus(e.message); }
});

if (state.token) {
  $('name-row').hidden = true;
  $('join-as').textContent = 'Your join link says who you are; the details below are optional.';
}
conn.open();
