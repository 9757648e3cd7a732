// floor: the speaking queue — the participant's controls and the moderator panel.
const $ = (id) => document.getElementById(id);

function fmtTime(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function button(label, testid, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = label;
  if (testid) b.dataset.testid = testid;
  b.addEventListener('click', onclick);
  return b;
}

export class FloorView {
  constructor(conn, state) {
    this.conn = conn;
    this.state = state;
    this.you = null;
    this.queue = null;
    this.timer = null;
    conn.on('floor.queue', (m) => { this.queue = m; this.render(); });
    conn.on('floor.you', (m) => { this.you = m; this.render(); });
    conn.on('floor.timer', (m) => this.onTimer(m));
    conn.on('floor.stats', (m) => this.renderStats(m));
    conn.on('written.queue', (m) => this.renderWritten(m));
    this.bind();
  }

  isModerator() { return this.state.you && this.state.you.role === 'moderator'; }

  async act(type, fields = {}, errorId = 'floor-error') {
    $(errorId).textContent = '';
    try {
      return await this.conn.request(type, fields);
    } catch (e) {
      $(errorId).textContent = e.message;
      return null;
    }
  }

  bind() {
    $('btn-raise').addEventListener('click', () => {
      const topic = $('floor-topic').value.trim();
      this.act('floor.request', topic ? { topic } : {});
    });
    $('btn-lower').addEventListener('click', () => this.act('floor.cancel'));
    $('btn-hold').addEventListener('click', () => this.act('floor.hold'));
    $('btn-resume').addEventListener('click', () => this.act('floor.resume'));
    $('btn-release').addEventListener('click', () => this.act('floor.release'));
    $('btn-written').addEventListener('click', async () => {
      const text = $('written-text').value.trim();
      if (text && await this.act('written.submit', { text })) $('written-text').value = '';
    });
    $('btn-grant-next').addEventListener('click', () => this.act('floor.grant', {}, 'mod-error'));
    $('btn-clear').addEventListener('click', () => this.act('floor.clear', {}, 'mod-error'));
    $('btn-limit').addEventListener('click', () =>
      this.act('floor.limit', { limit_s: Number($('mod-limit').value) || 0 }, 'mod-error'));
  }

  snapshot(s) {
    if (!s) return;
    this.queue = s.queue;
    this.you = s.you;
    this.render();
    if (s.stats) this.renderStats(s.stats);
    if (s.written) this.renderWritten(s.written);
  }

  onTimer(m) {
    if (m.event === 'warning' && this.you && m.request === this.you.request)
      $('floor-you').textContent = `You have the floor — ${fmtTime(m.remaining_ms)} left`;
  }

  renderYou() {
    const you = this.you && this.you.request ? this.you : null;
    const st = you ? you.state : null;
    const live = ['pending', 'accepted', 'granted', 'held'].includes(st);
    const el = $('floor-you');
    el.className = 'you' + (st === 'granted' ? ' granted' : '');
    const role = this.state.you ? this.state.you.role : 'participant';
    const canRequest = role === 'participant';
    $('floor-actions').hidden = !canRequest;
    $('btn-raise').hidden = live;
    $('btn-lower').hidden = !(st === 'pending' || st === 'accepted' || st === 'held');
    $('btn-hold').hidden = !(st === 'pending' || st === 'accepted');
    $('btn-resume').hidden = st !== 'held';
    $('btn-release').hidden = st !== 'granted';
    clearInterval(this.timer);
    if (role === 'moderator') el.textContent = 'As moderator you may speak at any time.';
    else if (st === 'granted') this.showGranted(you);
    else if (st === 'accepted') el.textContent = `Your hand is up: number ${you.position} in the queue`;
    else if (st === 'pending') el.textContent = 'Your request waits for the moderator';
    else if (st === 'held') el.textContent = 'Your request is on hold';
    else el.textContent = canRequest ? 'Raise your hand to ask for the floor' : '';
    if (this.you && this.you.muted) el.textContent += ' (muted by the moderator)';
  }

  showGranted(you) {
    const el = $('floor-you');
    const tick = () => {
      el.textContent = you.ends_at ? `You have the floor — ${fmtTime(you.ends_at - Date.now())} left`
                                   : 'You have the floor';
    };
    tick();
    if (you.ends_at) this.timer = setInterval(tick, 1000);
  }

  renderList(ul, items, withActions) {
    ul.replaceChildren();
    for (const it of items) {
      const li = document.createElement('li');
      li.dataset.request = it.request;
      const who = it.who || {};
      li.append(`${who.name}`);
      const meta = document.createElement('span');
      meta.className = 'meta';
      const bits = [who.group, who.label, who.onsite === undefined ? null : (who.onsite ? 'onsite' : 'remote')]
        .filter(Boolean);
      if (it.topic) bits.push(`“${it.topic}”`);
      if (it.waiting_ms !== undefined) bits.push(`waiting ${fmtTime(it.waiting_ms)}`);
      if (it.ends_at) bits.push(`ends in ${fmtTime(it.ends_at - Date.now())}`);
      meta.textContent = ' ' + bits.join(' · ');
      li.append(meta);
      if (withActions) withActions(li, it);
      ul.append(li);
    }
  }

  render() {
    this.renderYou();
    if (!this.queue) return;
    const mod = this.isModerator();
    const m = (label, testid, type, fields) => button(label, testid, () => this.act(type, fields, 'mod-error'));
    this.renderList($('floor-holders'), this.queue.holders || [], mod ? (li, it) =>
      li.append(m('Revoke', 'revoke', 'floor.revoke', { request: it.request })) : null);
    this.renderList($('floor-queue'), this.queue.queue || [], mod ? (li, it) => li.append(
      m('Grant', 'grant', 'floor.grant', { request: it.request }),
      m('Up', 'move-up', 'floor.move', { request: it.request, by: -1 }),
      m('Down', 'move-down', 'floor.move', { request: it.request, by: 1 }),
      m('Hold', 'mod-hold', 'floor.hold', { request: it.request }),
      m('Deny', 'deny', 'floor.deny', { request: it.request, reason: 'declined by the chair' })) : null);
    const held = (this.queue.held || []).map((h) => h.who.name);
    $('floor-held').textContent = held.length ? `On hold: ${held.join(', ')}` : '';
    const sug = (this.queue.queue || []).find((q) => q.request === this.queue.suggested);
    $('mod-suggestion').textContent = sug ? `Suggested next (${this.queue.order}): ${sug.who.name}` : 'Queue empty';
  }

  renderStats(s) {
    const body = $('stats').querySelector('tbody');
    body.replaceChildren();
    for (const [group, ms] of Object.entries(s.groups || {})) {
      const tr = document.createElement('tr');
      const a = document.createElement('td');
      const b = document.createElement('td');
      a.textContent = group.replace('_', ' ');
      b.textContent = fmtTime(ms);
      tr.append(a, b);
      body.append(tr);
    }
  }

  renderWritten(w) {
    const ul = $('written-queue');
    ul.replaceChildren();
    for (const it of w.items || []) {
      const li = document.createElement('li');
      li.textContent = `${it.who.name}: ${it.text} `;
      const meta = document.createElement('span');
      meta.className = 'meta';
      meta.textContent = `(${it.state})`;
      li.append(meta);
      const act = (label, type) => button(label, null, () => this.act(type, { written: it.written }, 'mod-error'));
      if (it.state === 'queued') li.append(act('Read out', 'written.read'));
      li.append(act('Answered', 'written.answer'), act('Dismiss', 'written.dismiss'));
      ul.append(li);
    }
  }
}
