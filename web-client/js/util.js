// util: small DOM helpers, the server clock and the polite announcer shared by every view.
export const $ = (id) => document.getElementById(id);

// el('button', {class: 'x', onclick: f}, 'text', child…)
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function fmtTime(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? h + ':' : ''}${mm}:${String(r).padStart(2, '0')}`;
}

// Server time: messages carry the server's t; the offset corrects this device's clock.
let offset = 0;
export const clock = {
  now: () => Date.now() + offset,
  sync(t) { if (typeof t === 'number') offset = t - Date.now(); },
};

// One polite live region: a message is set after clearing it, so repeating
// the same words is announced again. Only events and whole caption lines come here.
let announceTimer = null;
export function announce(text) {
  const box = $('announcer');
  clearTimeout(announceTimer);
  box.textContent = '';
  announceTimer = setTimeout(() => { box.textContent = text; }, 60);
  window.rostrumAnnounced = (window.rostrumAnnounced || 0) + 1; // counted by the tests
  (window.rostrumAnnouncements = window.rostrumAnnouncements || []).push(text);
}

// A two-step button for destructive actions: the first press asks, the second acts.
export function confirmStep(btn, askText, act) {
  let armed = false, timer = null;
  const label = () => btn.dataset.label || btn.textContent;
  btn.addEventListener('click', async () => {
    if (!armed) {
      btn.dataset.label = label();
      if (btn.hasAttribute('aria-label')) btn.dataset.aria = btn.getAttribute('aria-label');
      btn.textContent = askText();
      if (btn.dataset.aria) btn.setAttribute('aria-label', `${askText()} — ${btn.dataset.aria}`);
      btn.classList.add('armed');
      armed = true;
      timer = setTimeout(reset, 6000);
      return;
    }
    reset();
    await act();
  });
  btn.addEventListener('blur', () => { if (armed) setTimeout(() => { if (document.activeElement !== btn) reset(); }, 0); });
  btn.addEventListener('keydown', (e) => { if (e.key === 'Escape' && armed) reset(); });
  function reset() {
    clearTimeout(timer);
    if (!armed) return;
    armed = false;
    btn.classList.remove('armed');
    btn.textContent = btn.dataset.label;
    if (btn.dataset.aria) btn.setAttribute('aria-label', btn.dataset.aria);
  }
}
