// participant: "what to do now" in one place — raise a hand with a topic,
// your place in the queue, "you have the floor" with a sound and the page
// title, the time left, the reason when denied or revoked; written
// interventions with their status. Observers and captioners see the public
// queue only.
import { $, el, fmtTime, clock, announce } from './util.js';
import { t, reason, errorText, onLang } from './i18n.js';
import { whoMeta, clockEl, tickClocks, eventSentence, turnClock } from './floorui.js';

const WRITTEN_KEY = 'rostrum.written';

class Participant {
  constructor(ctx) {
    this.ctx = ctx;
    this.conn = ctx.conn;
    this.queue = null;
    this.you = null;
    this.last = null; // the reason a request ended, shown until the next one
    this.mine = this.loadWritten();
    const c = this.conn;
    this.canRequest = ctx.state.you.role === 'participant';
    c.on('floor.queue', (m) => { clock.sync(m.t); this.queue = m; this.render(); });
    c.on('floor.you', (m) => this.onYou(m));
    c.on('floor.event', (m) => this.onEvent(m));
    c.on('floor.timer', (m) => this.onTimer(m));
    c.on('written.event', (m) => this.onWritten(m));
    this.bind();
    setInterval(() => this.tick(), 1000);
    onLang(() => { this.render(); this.renderWritten(); });
    $('you-panel').hidden = !this.canRequest;
    $('public-queue').hidden = false;
  }

  loadWritten() {
    try { return JSON.parse(sessionStorage.getItem(`${WRITTEN_KEY}.${this.ctx.state.room}`)) || []; } catch { return []; }
  }

  saveWritten() { sessionStorage.setItem(`${WRITTEN_KEY}.${this.ctx.state.room}`, JSON.stringify(this.mine)); }

  async act(type, fields = {}) {
    $('floor-error').textContent = '';
    try {
      return await this.conn.request(type, fields);
    } catch (e) {
      $('floor-error').textContent = errorText(e);
      return null;
    }
  }

  bind() {
    $('btn-raise').addEventListener('click', async () => {
      const topic = $('floor-topic').value.trim();
      if (await this.act('floor.request', topic ? { topic } : {})) { this.last = null; $('floor-topic').value = ''; }
    });
    $('btn-lower').addEventListener('click', () => this.act('floor.cancel'));
    $('btn-hold').addEventListener('click', () => this.act('floor.hold'));
    $('btn-resume').addEventListener('click', () => this.act('floor.resume'));
    $('btn-release').addEventListener('click', () => this.act('floor.release'));
    $('btn-written').addEventListener('click', async () => {
      const text = $('written-text').value.trim();
      if (!text) return;
      const r = await this.act('written.submit', { text });
      if (r) {
        $('written-text').value = '';
        this.upsertWritten({ written: r.written, state: r.state, text });
        announce(t('written.sent'));
      }
    });
  }

  snapshot(s) {
    const f = s.floor || {};
    if (f.queue) { clock.sync(f.queue.t); this.queue = f.queue; }
    this.you = f.you || null;
    this.render();
    this.renderWritten();
  }

  onYou(m) {
    const was = this.you && this.you.state;
    this.you = m;
    if (m.state === 'granted' && was !== 'granted') this.granted();
    if (m.state !== 'granted' && was === 'granted') document.title = this.ctx.baseTitle;
    this.render();
  }

  // The floor is yours: a sound, the page title, a polite announcement.
  granted() {
    document.title = `● ${t('you.granted')} — ${this.ctx.baseTitle}`;
    try {
      const a = new AudioContext();
      for (const [f, at] of [[660, 0], [880, 0.18]]) {
        const o = a.createOscillator(), g = a.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.15, a.currentTime + at);
        g.gain.exponentialRampToValueAtTime(0.001, a.currentTime + at + 0.16);
        o.connect(g).connect(a.destination);
        o.start(a.currentTime + at);
        o.stop(a.currentTime + at + 0.17);
      }
      setTimeout(() => a.close(), 800);
    } catch { /* no sound output: the title and the announcement remain */ }
  }

  onEvent(m) {
    const me = this.ctx.state.you;
    const mine = m.who && m.who.pid === me.pid;
    if (mine && ['denied', 'revoked', 'expired', 'cleared'].includes(m.event)) {
      this.last = { event: m.event, reason: m.reason };
      this.render();
    }
    // Others hear about their own request and about who takes the floor.
    if (mine || m.event === 'granted') {
      const s = eventSentence(m, me);
      if (s) announce(s);
    }
  }

  onTimer(m) {
    if (!this.you || m.request !== this.you.request) return;
    announce(m.event === 'warning' ? t('timer.warning', { left: fmtTime(m.remaining_ms || 0) }) : t('timer.expired'));
    this.render();
  }

  // My own entry in the public queue is the freshest place and time.
  myEntry() {
    if (!this.queue || !this.you || !this.you.request) return null;
    const all = [...(this.queue.holders || []), ...(this.queue.queue || []), ...(this.queue.pending || []), ...(this.queue.held || [])];
    return all.find((x) => x.request === this.you.request) || null;
  }

  render() {
    if (this.canRequest) this.renderYou();
    this.renderPublic();
    this.ctx.guard($('layout'));
  }

  renderYou() {
    const had = document.activeElement;
    const you = this.you && this.you.request ? this.you : null;
    const st = you ? you.state : null;
    const open = ['pending', 'accepted', 'granted', 'held'].includes(st);
    const entry = this.myEntry();
    const show = (id, on) => { $(id).hidden = !on; };
    show('btn-raise', !open);
    show('topic-row', !open);
    show('btn-lower', st === 'pending' || st === 'accepted' || st === 'held');
    show('btn-hold', st === 'pending' || st === 'accepted');
    show('btn-resume', st === 'held');
    show('btn-release', st === 'granted');
    const audio = this.ctx.audio;
    show('btn-speak', st === 'granted' && !(audio && audio.hasMic()));
    const el0 = $('floor-you');
    el0.className = 'you' + (st === 'granted' ? ' granted' : '');
    const position = entry && entry.position ? entry.position : you && you.position;
    if (st === 'granted') el0.textContent = t('you.granted');
    else if (st === 'accepted') el0.textContent = t('you.position', { n: position });
    else if (st === 'pending') el0.textContent = t('you.pending');
    else if (st === 'held') el0.textContent = t('you.held');
    else el0.textContent = t('you.idle');
    if (this.you && this.you.muted) el0.textContent += ` (${t('you.muted')})`;
    const time = $('floor-time');
    time.hidden = st !== 'granted';
    if (st === 'granted') time.replaceChildren(clockEl({ ...(entry || {}), ...you, request: you.request,
      granted_at: entry ? entry.granted_at : undefined, ends_at: entry ? entry.ends_at : you.ends_at }));
    const r = $('floor-reason');
    r.hidden = !(this.last && !open);
    if (this.last && !open) {
      const why = this.last.reason ? reason(this.last.reason) : '';
      r.textContent = t('you.ended.' + this.last.event) + (why ? ' ' + t('ev.reason', { reason: why }) : '');
    }
    // Focus stays with the person: if the control they used went away, the next action takes it.
    if (had && had !== document.body && had.closest('#floor-actions') && had.offsetParent === null) {
      const next = [...$('floor-actions').querySelectorAll('button')].find((b) => !b.hidden);
      if (next) next.focus();
    }
  }

  renderPublic() {
    const q = this.queue;
    if (!q) return;
    const me = this.ctx.state.you.pid;
    const you = (w) => (w.pid === me ? ` ${t('roster.you')}` : '');
    $('pub-holders').replaceChildren(...(q.holders || []).map((h) => el('li', {},
      el('strong', { text: h.who.name + you(h.who) }), ' ', el('span', { class: 'meta', text: whoMeta(h.who) }), ' ', clockEl(h))));
    if (!(q.holders || []).length) $('pub-holders').append(el('li', { class: 'muted', text: t('chair.nobody') }));
    const queue = q.queue || [];
    $('pub-queue').replaceChildren(...queue.map((it) => el('li', { class: it.who.pid === me ? 'mine' : null },
      el('span', { text: `${it.position}. ` }), el('strong', { text: it.who.name + you(it.who) }), ' ',
      el('span', { class: 'meta', text: whoMeta(it.who) }), it.topic ? el('span', { class: 'topic', text: ` “${it.topic}”` }) : '')));
    if (!queue.length) $('pub-queue').append(el('li', { class: 'muted', text: t('queue.empty') }));
    $('pub-count').textContent = `(${queue.length})`;
  }

  tick() {
    if (!this.queue) return;
    tickClocks(this.queue.holders || []);
    const e = this.myEntry();
    if (e && this.you && this.you.state === 'granted') {
      const c = turnClock(e);
      document.title = `${c.over ? '⚠' : '●'} ${c.text} — ${this.ctx.baseTitle}`;
    }
  }

  upsertWritten(w) {
    const i = this.mine.findIndex((x) => x.written === w.written);
    if (i >= 0) this.mine[i] = { ...this.mine[i], ...w }; else this.mine.push(w);
    this.saveWritten();
    this.renderWritten();
  }

  onWritten(m) {
    if (!m.who || m.who.pid !== this.ctx.state.you.pid) return;
    this.upsertWritten({ written: m.written, state: m.to || m.event, text: m.text });
    if (m.event !== 'submitted') announce(t('written.now', { state: t('wstate.' + (m.to || m.event)) }));
  }

  renderWritten() {
    $('my-written').replaceChildren(...this.mine.slice(-5).map((w) => el('li', { dataset: { written: w.written } },
      el('span', { class: 'state', text: `[${t('wstate.' + w.state)}] ` }), el('span', { class: 'wtext', dir: 'auto', text: w.text }),
      w.state === 'queued' ? el('button', { type: 'button', class: 'small-btn', dataset: { testid: 'written-withdraw' },
        'aria-label': `${t('written.withdraw')} — ${w.text.slice(0, 40)}`,
        onclick: () => this.act('written.withdraw', { written: w.written }) }, t('written.withdraw')) : '')));
    this.ctx.guard($('you-panel'));
  }
}

export function mount(ctx) { return new Participant(ctx); }
