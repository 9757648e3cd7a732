// i18n: one JSON file of strings per language (i18n/xx.json), the browser's
// language by default, the choice kept on the device. t(key, vars) fills {name}s.
const LANGS = ['ar', 'zh', 'en', 'fr', 'ru', 'es'];
const RTL = new Set(['ar']);
let strings = {}, fallback = {}, current = 'en';
const listeners = [];

export function pickLang() {
  const q = new URLSearchParams(location.search).get('lang');
  const saved = localStorage.getItem('rostrum.lang');
  for (const c of [q, saved, ...(navigator.languages || [navigator.language])]) {
    const base = (c || '').toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function load(lang) {
  const r = await fetch(`i18n/${lang}.json`);
  if (!r.ok) throw new Error(`no strings for ${lang}`);
  return r.json();
}

export async function setLang(lang, save = false) {
  if (!LANGS.includes(lang)) lang = 'en';
  if (lang !== 'en' && !Object.keys(fallback).length) fallback = await load('en');
  strings = await load(lang);
  if (lang === 'en') fallback = strings;
  current = lang;
  if (save) localStorage.setItem('rostrum.lang', lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = RTL.has(lang) ? 'rtl' : 'ltr';
  apply(document);
  for (const fn of listeners) fn(lang);
}

export const lang = () => current;
export const onLang = (fn) => listeners.push(fn);

export function t(key, vars = {}) {
  let s = strings[key] ?? fallback[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
}

export function has(key) { return key in strings || key in fallback; }

// Stakeholder groups and server reasons are shown translated, never as raw ids.
export function group(g) { return g ? (has('group.' + g) ? t('group.' + g) : g) : t('group.undeclared'); }
export function reason(r) {
  if (!r) return '';
  const k = 'reason.' + r.toLowerCase().replace(/[^a-z]+/g, '_');
  return has(k) ? t(k) : r;
}
export function errorText(e) {
  const k = 'error.' + (e && e.code);
  return e && e.code && has(k) ? t(k) : t('error.generic', { message: (e && e.message) || '' });
}

export function apply(root) {
  for (const n of root.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  for (const n of root.querySelectorAll('[data-i18n-label]')) n.setAttribute('aria-label', t(n.dataset.i18nLabel));
}
