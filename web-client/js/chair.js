// chair: the moderator's dashboard — speakers with their countdown, the next
// suggestion and why, the queue (pending, accepted, held) with actions named
// for each person, written interventions, speaking time by group, region and
// onsite/remote. Alt+Shift+N grants next, Alt+Shift+R ends the current turn,
// Alt+Shift+E gives it one more minute.
import { $, el, fmtTime, clock, announce, confirmStep } from './util.js';
import { t, group, errorText, onLang } from './i18n.js';
import { whoMeta, clockEl, tickClocks, eventSentence } from './floorui.js';

class Chair {
  constructor(ctx) {
    this.ctx = ctx;
    this.conn = ctx.conn;
    this.queue = null;
    this.stats = null;
    this.written = null;
    const c = this.conn;
    c.on('floor.queue', (m) => { clock.sync(m.t); this.queue = m; this.render(); });
    c.on('floor.stats', (m) => { this.stats = m; this.renderStats(); });
    c.on('written.queue', (m) => { this.written = m; this.renderWritten(); });
    c.on('floor.event', (m) => this.onEvent(m));
    c.on('floor.timer', (m) => this.onTimer(m));
    c.on('caption.captioners', (m) => this.showCaptioners(m.captioners));
    this.bind();
    this.tick = setInterval(() => {
      if (!this.queue) return;
      tickClocks(this.queue.holders || []);
      if ((this.queue.holders || []).length) this.renderStats();
    }, 1000);
    onLang(() => { this.render(); this.renderStats(); this.renderWritten(); this.showCaptioners(); });
    $('moderator-panel').hidden = false;
  }

  async act(type, fields = {}) {
    $('mod-error').textContent = '';
    try {
      return await this.conn.request(type, fields);
    } catch (e) {
      $('mod-error').textContent = errorText(e);
      return null;
    }
  }

  bind() {
    $('btn-grant-next').addEventListener('click', () => this.grantNext());
    confirmStep($('btn-clear'), () => t('chair.clearConfirm', { n: this.openCount() }),
      () => this.act('floor.clear', {}));
    $('btn-limit').addEventListener('click', () => {
      const min = Number($('mod-limit').value) || 0;
      this.act('floor.limit', { limit_s: Math.round(min * 60) });
    });
    document.addEventListener('keydown', (e) => {
      if (!e.altKey || !e.shiftKey || e.ctrlKey || e.metaKey) return;
      const k = e.code;
      if (k === 'KeyN') { e.preventDefault(); this.grantNext(); }
      else if (k === 'KeyR') { e.preventDefault(); this.revokeFirst(); }
      else if (k === 'KeyE') { e.preventDefault(); this.extendFirst(); }
    });
  }

  openCount() {
    const q = this.queue || {};
    return (q.queue || []).length + (q.pending || []).length + (q.held || []).length;
  }

  grantNext() { if (this.ctx.state.online) this.act('floor.grant', {}); }

  firstHolder() { return this.queue && (this.queue.holders || [])[0]; }

  revokeFirst() {
    const h = this.firstHolder();
    if (h) this.revoke(h);
  }

  extendFirst() {
    const h = this.firstHolder();
    if (h) this.extend(h);
  }

  revoke(h) {
    const input = document.querySelector(`input[data-reason-for="${h.request}"]`);
    const reason = input && input.value.trim();
    this.act('floor.revoke', reason ? { request: h.request, reason } : { request: h.request });
  }

  // One more minute: the turn's limit counts from its grant.
  extend(h) {
    const base = h.limit_s || Math.ceil((clock.now() - (h.granted_at || clock.now())) / 1000);
    this.act('floor.limit', { request: h.request, limit_s: Math.min(14400, base + 60) });
  }

  snapshot(s) {
    const f = s.floor || {};
    if (f.queue) { clock.sync(f.queue.t); this.queue = f.queue; }
    this.stats = f.stats || this.stats;
    this.written = f.written || this.written;
    if (this.queue) $('mod-limit').value = this.queue.limit_s ? String(Math.round(this.queue.limit_s / 60)) : '0';
    this.render();
    this.renderStats();
    this.renderWritten();
    if (s.captions) this.showCaptioners(s.captions.captioners || []);
  }

  onEvent(m) {
    const s = eventSentence(m, this.ctx.state.you);
    if (s && m.event !== 'moved') announce(s);
  }

  onTimer(m) {
    const name = m.who ? m.who.name : '';
    announce(m.event === 'warning' ? t('timer.warningFor', { name, left: fmtTime(m.remaining_ms || 0) })
                                   : t('timer.expiredFor', { name }));
  }

  // Rebuilding lists would drop keyboard focus: remember which control had it
  // (by its request and action) and give it back to the same control.
  keepFocus(fn) {
    const a = document.activeElement;
    const key = a && a.dataset ? a.dataset.key : null;
    const row = key && a.closest('li');
    const index = row ? [...row.parentNode.children].indexOf(row) : -1;
    const listId = row ? row.parentNode.id : null;
    fn();
    if (!key) return;
    const same = document.querySelector(`[data-key="${key}"]`);
    if (same && !same.disabled) { same.focus(); return; }
    // The row left (granted, denied): the same action on the row now in its place, else Grant next.
    const action = key.split(':')[1];
    const list = listId && $(listId);
    const rows = list ? [...list.children] : [];
    const near = rows[Math.min(index, rows.length - 1)];
    const alt = near && near.querySelector(`[data-key$=":${action}"]`);
    (alt || $('btn-grant-next')).focus();
  }

  // A row's button: its visible word and, for screen readers, whose row it is.
  btn(visible, name, key, testid, onclick, cls) {
    return el('button', { type: 'button', class: cls || 'small-btn', 'aria-label': `${visible} — ${name}`,
      dataset: { key, testid }, onclick }, visible);
  }

  render() {
    if (!this.queue) return;
    this.keepFocus(() => {
      this.renderHolders();
      this.renderSuggestion();
      this.renderQueue();
    });
    this.ctx.guard($('moderator-panel'));
  }

  renderHolders() {
    const holders = this.queue.holders || [];
    $('holders-empty').hidden = holders.length > 0;
    $('floor-holders').replaceChildren(...holders.map((h) => {
      const name = h.who.name;
      const reasonId = `reason-${h.request}`;
      const extend = el('button', { type: 'button', dataset: { key: `${h.request}:extend`, testid: 'extend' },
        'aria-label': `${t('chair.extend')} — ${name}`, 'aria-keyshortcuts': 'Alt+Shift+E', onclick: () => this.extend(h) }, t('chair.extend'));
      const revoke = el('button', { type: 'button', class: 'danger', dataset: { key: `${h.request}:revoke`, testid: 'revoke' },
        'aria-label': `${t('chair.revoke')} — ${name}`, 'aria-keyshortcuts': 'Alt+Shift+R', onclick: () => this.revoke(h) }, t('chair.revoke'));
      const hold = el('button', { type: 'button', dataset: { key: `${h.request}:hold`, testid: 'hold-holder' },
        'aria-label': `${t('chair.hold')} — ${name}`, onclick: () => this.act('floor.hold', { request: h.request }) }, t('chair.hold'));
      return el('li', { class: 'holder', dataset: { request: h.request } },
        el('p', { class: 'name' }, el('strong', { text: name }), h.muted ? ` (${t('chair.muted')})` : ''),
        el('p', { class: 'meta', text: whoMeta(h.who) }),
        h.topic ? el('p', { class: 'topic', text: `“${h.topic}”` }) : null,
        el('p', { class: 'big-clock', 'data-testid': 'holder-clock' }, clockEl(h)),
        el('div', { class: 'row' },
          el('label', { for: reasonId, class: 'small', text: t('chair.reason') }),
          el('input', { id: reasonId, list: 'reasons', maxlength: '140', dataset: { reasonFor: h.request, testid: 'revoke-reason' } })),
        el('div', { class: 'actions' }, extend, hold, revoke));
    }));
    if (!$('reasons')) {
      document.body.append(el('datalist', { id: 'reasons' },
        ...['reason.time_up', 'reason.off_topic', 'reason.point_of_order', 'reason.audio'].map((k) => el('option', { value: t(k) }))));
    }
  }

  // Why the room's policy suggests this person.
  why(sug) {
    const order = this.queue.order;
    if (order === 'balanced') return t('why.balanced', { group: group(sug.who.group) });
    if (order === 'alternate') return t('why.alternate', { side: sug.who.onsite ? t('where.onsite') : t('where.remote') });
    return t('why.fifo');
  }

  renderSuggestion() {
    const q = this.queue;
    const all = [...(q.queue || []), ...(q.pending || [])];
    const sug = all.find((x) => x.request === q.suggested);
    const box = $('mod-suggestion');
    if (sug) box.replaceChildren(el('strong', { text: sug.who.name }), ' — ', el('span', { text: this.why(sug) }),
      sug.topic ? el('span', { class: 'topic', text: ` “${sug.topic}”` }) : '');
    else if ((q.pending || []).length) box.textContent = t('chair.pendingWait', { n: q.pending.length });
    else box.textContent = t('queue.empty');
    $('btn-grant-next').disabled = !sug;
  }

  row(it, actions, pos) {
    return el('li', { dataset: { request: it.request } },
      el('div', { class: 'who' }, pos ? el('span', { class: 'pos', text: `${pos}.` }) : null, ' ',
        el('strong', { text: it.who.name }), ' ', el('span', { class: 'meta', text: whoMeta(it.who) })),
      it.topic ? el('div', { class: 'topic', dir: 'auto', text: `“${it.topic}”` }) : null,
      el('div', { class: 'meta small', text: t('queue.waiting', { time: fmtTime(it.waiting_ms || 0) }) }),
      el('div', { class: 'actions' }, ...actions));
  }

  denyBtn(it) {
    const name = it.who.name;
    const b = this.btn(t('chair.deny'), name, `${it.request}:deny`, 'deny', null, 'small-btn danger');
    confirmStep(b, () => t('chair.denyConfirm'), () => this.act('floor.deny', { request: it.request }));
    return b;
  }

  renderQueue() {
    const q = this.queue;
    const grant = (it) => this.btn(t('chair.grant'), it.who.name, `${it.request}:grant`, 'grant',
      () => this.act('floor.grant', { request: it.request }));
    const queue = q.queue || [];
    $('floor-queue').replaceChildren(...queue.map((it, i) => this.row(it, [
      grant(it),
      this.btn('↑ ' + t('chair.up'), it.who.name, `${it.request}:up`, 'move-up',
        () => this.act('floor.move', { request: it.request, by: -1 })),
      this.btn('↓ ' + t('chair.down'), it.who.name, `${it.request}:down`, 'move-down',
        () => this.act('floor.move', { request: it.request, by: 1 })),
      this.btn(t('chair.hold'), it.who.name, `${it.request}:hold`, 'mod-hold',
        () => this.act('floor.hold', { request: it.request })),
      this.denyBtn(it)], it.position || i + 1)));
    const pending = q.pending || [];
    $('pending-block').hidden = !pending.length;
    $('floor-pending').replaceChildren(...pending.map((it) => this.row(it, [
      this.btn(t('chair.accept'), it.who.name, `${it.request}:accept`, 'accept',
        () => this.act('floor.accept', { request: it.request })),
      grant(it), this.denyBtn(it)])));
    const held = q.held || [];
    $('held-block').hidden = !held.length;
    $('floor-held').replaceChildren(...held.map((it) => this.row(it, [
      this.btn(t('chair.resume'), it.who.name, `${it.request}:resume`, 'mod-resume',
        () => this.act('floor.resume', { request: it.request })),
      this.denyBtn(it)])));
    const n = this.openCount();
    $('queue-count').textContent = `(${n})`;
    $('queue-empty').hidden = queue.length + pending.length + held.length > 0;
    $('btn-clear').disabled = n === 0;
  }

  // Speaking time as shares of the session; a turn going on counts up to now.
  renderStats() {
    const s = this.stats;
    const box = $('stats');
    if (!s) { box.replaceChildren(el('p', { class: 'muted', text: t('stats.none') })); return; }
    const groups = { ...(s.groups || {}) };
    const sides = { ...(s.onsite || {}) };
    const regions = new Map((s.regions || []).map((r) => [r.region, r.spoken_ms]));
    let total = s.total_ms || 0;
    const extra = this.queue ? (this.queue.holders || []) : [];
    for (const h of extra) {
      const since = Math.max(h.granted_at || 0, s.t || 0);
      const add = Math.max(0, clock.now() - since);
      total += add;
      const g = h.who.group || 'undeclared';
      groups[g] = (groups[g] || 0) + add;
      const side = h.who.onsite === undefined ? 'unknown' : h.who.onsite ? 'onsite' : 'remote';
      sides[side] = (sides[side] || 0) + add;
      regions.set(h.who.region || '', (regions.get(h.who.region || '') || 0) + add);
    }
    const table = (title, rows) => el('table', { class: 'stats' },
      el('caption', { text: title }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: t('stats.who') }), el('th', { scope: 'col', text: t('stats.time') }),
        el('th', { scope: 'col', text: t('stats.share') }))),
      el('tbody', {}, ...rows.map(([label, ms]) => {
        const pct = total ? Math.round((ms / total) * 100) : 0;
        return el('tr', {}, el('th', { scope: 'row', text: label }), el('td', { text: fmtTime(ms) }),
          el('td', {}, el('span', { class: 'bar', 'aria-hidden': 'true' }, el('span', { style: `width:${pct}%` })), ` ${pct}%`));
      })));
    const groupRows = Object.entries(groups).filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1])
      .map(([g, ms]) => [group(g === 'undeclared' ? '' : g), ms]);
    const sideRows = Object.entries(sides).filter(([, ms]) => ms > 0)
      .map(([k, ms]) => [k === 'onsite' ? t('where.onsite') : k === 'remote' ? t('where.remote') : t('where.unknown'), ms]);
    const regionRows = [...regions].filter(([, ms]) => ms > 0).sort((a, b) => b[1] - a[1])
      .map(([r, ms]) => [r || t('stats.noRegion'), ms]);
    box.replaceChildren(
      el('p', { class: 'small', text: t('stats.total', { time: fmtTime(total) }) }),
      total ? table(t('stats.byGroup'), groupRows) : el('p', { class: 'muted', text: t('stats.none') }),
      total ? table(t('stats.bySide'), sideRows) : '',
      total ? table(t('stats.byRegion'), regionRows) : '');
  }

  renderWritten() {
    const w = this.written;
    if (!w) return;
    const c = w.counts || {};
    $('written-counts').textContent = t('written.counts', { asked: c.asked || 0, read: c.read || 0, answered: c.answered || 0 });
    this.keepFocus(() => {
      $('written-queue').replaceChildren(...(w.items || []).map((it) => {
        const name = it.who.name;
        const acts = [];
        const b = (label, key, testid, type) => this.btn(t(label), name, `w${it.written}:${key}`, testid,
          () => this.act(type, { written: it.written }));
        if (it.state === 'queued') acts.push(b('written.read', 'read', 'written-read', 'written.read'));
        if (it.state === 'read') acts.push(b('written.answer', 'answer', 'written-answer', 'written.answer'));
        acts.push(b('written.dismiss', 'dismiss', 'written-dismiss', 'written.dismiss'));
        return el('li', { dataset: { written: it.written } },
          el('div', {}, el('strong', { text: name }), ' ', el('span', { class: 'state', text: `[${t('wstate.' + it.state)}]` })),
          el('div', { class: 'wtext', dir: 'auto', text: it.text }), el('div', { class: 'actions' }, ...acts));
      }));
    });
    this.ctx.guard($('moderator-panel'));
  }

  showCaptioners(list = this.captioners || []) {
    this.captioners = list;
    const people = [...this.ctx.state.roster.values()];
    $('captioners').textContent = list.length
      ? t('cap.live', { list: list.map((c) => {
        const p = people.find((x) => x.role === 'captioner' && x.name === c.name && x.label);
        return `${c.name} (${c.lang}${p ? ', ' + p.label : ''})`;
      }).join(', ') })
      : t('cap.noneLive');
  }
}

export function mount(ctx) { return new Chair(ctx); }
