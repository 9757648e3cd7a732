// floorui: pieces the chair's and the participant's views share — how a
// person is described, the live countdown, and floor events as sentences.
import { el, fmtTime, clock } from './util.js';
import { t, group, reason } from './i18n.js';

export function whoMeta(who = {}) {
  const bits = [];
  if (who.group) bits.push(group(who.group));
  if (who.region) bits.push(who.region);
  if (who.onsite !== undefined) bits.push(who.onsite ? t('where.onsite') : t('where.remote'));
  if (who.label) bits.push(who.label);
  return bits.join(' · ');
}

// The countdown of a turn: text and a state that is not told by colour alone.
export function turnClock(h) {
  const now = clock.now();
  if (h.ends_at) {
    const left = h.ends_at - now;
    if (left <= 0) return { over: true, text: t('time.up', { over: fmtTime(-left) }) };
    return { over: false, warn: left <= 30000, text: t('time.left', { left: fmtTime(left) }) };
  }
  const since = h.granted_at || now;
  return { over: false, text: t('time.speaking', { time: fmtTime(now - since) }) };
}

export function clockEl(h) {
  const c = turnClock(h);
  return el('span', { class: 'clock' + (c.over ? ' over' : c.warn ? ' warn' : ''), dataset: { request: h.request } },
    c.over ? el('span', { 'aria-hidden': 'true', text: '⚠ ' }) : null, c.text);
}

// Refreshes every countdown on the page once a second; they are not live regions.
export function tickClocks(holders) {
  for (const h of holders) {
    for (const span of document.querySelectorAll(`.clock[data-request="${h.request}"]`)) {
      const c = turnClock(h);
      span.className = 'clock' + (c.over ? ' over' : c.warn ? ' warn' : '');
      span.replaceChildren(c.over ? el('span', { 'aria-hidden': 'true', text: '⚠ ' }) : '', c.text);
    }
  }
}

// A floor event as one sentence for the polite announcer (null: not worth saying).
export function eventSentence(m, you) {
  const mine = you && m.who && m.who.pid === you.pid;
  const name = m.who ? m.who.name : '';
  const r = m.reason ? reason(m.reason) : '';
  const key = {
    requested: 'ev.requested', accepted: 'ev.accepted', granted: 'ev.granted', denied: 'ev.denied',
    cancelled: 'ev.cancelled', released: 'ev.released', revoked: 'ev.revoked', held: 'ev.held',
    resumed: 'ev.resumed', expired: 'ev.expired', cleared: 'ev.cleared', left: 'ev.left',
  }[m.event];
  if (!key) return null;
  const s = t(mine ? key + '.you' : key, { name });
  return r ? `${s} ${t('ev.reason', { reason: r })}` : s;
}
