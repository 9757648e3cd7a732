// captions: the caption tracks as the server sends them (per language: the
// finals, and one partial per captioner), the caption view with its track
// picker and settings kept on this device, and the transcript view.
import { $, el, fmtTime } from './util.js';
import { t, group, lang as uiLang, onLang } from './i18n.js';

const SETTINGS_KEY = 'rostrum.captions';
const DEFAULTS = { size: '130', lines: '4', font: 'sans', contrast: 'light', track: '' };
const RTL_LANGS = new Set(['ar', 'he', 'fa', 'ur']);
const KEEP_FINALS = 5000; // per track, for the transcript view

export class Captions {
  constructor(ctx) {
    this.ctx = ctx;
    this.tracks = new Map(); // lang -> { finals: [], partials: Map(captioner_id -> msg) }
    this.lastSeq = 0;
    this.partialEls = new Map();
    this.settings = { ...DEFAULTS, ...this.loadSettings() };
    this.startT = null;
    ctx.conn.on('caption', (m) => this.onCaption(m));
    this.bind();
    this.applySettings();
    onLang(() => { this.renderTrackPicker(); this.rebuild(); if (!$('transcript-panel').hidden) this.renderTranscript(); this.renderExports(); });
  }

  loadSettings() {
    try { return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {}; } catch { return {}; }
  }

  save() { localStorage.setItem(SETTINGS_KEY, JSON.stringify(this.settings)); }

  bind() {
    for (const [id, key] of [['cap-size', 'size'], ['cap-lines', 'lines'], ['cap-font', 'font'], ['cap-contrast', 'contrast']]) {
      const s = $(id);
      s.dataset.local = '';
      s.value = this.settings[key];
      s.addEventListener('change', () => {
        this.settings[key] = s.value;
        this.save();
        this.applySettings();
        if (key === 'lines') this.rebuild();
      });
    }
    for (const id of ['cap-track', 'tr-track', 'btn-fullscreen', 'btn-download']) $(id).dataset.local = '';
    $('cap-track').addEventListener('change', (e) => {
      this.settings.track = e.target.value;
      this.save();
      this.rebuild();
    });
    $('tr-track').addEventListener('change', () => this.renderTranscript());
    $('btn-fullscreen').addEventListener('click', () => this.toggleFullscreen());
    document.addEventListener('fullscreenchange', () => {
      $('btn-fullscreen').textContent = document.fullscreenElement ? t('captions.exitFullscreen') : t('captions.fullscreen');
    });
    $('btn-download').addEventListener('click', () => this.download());
  }

  applySettings() {
    const box = $('captions');
    box.style.fontSize = this.settings.size + '%';
    box.dataset.font = this.settings.font;
    box.dataset.contrast = this.settings.contrast;
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else $('captions-panel').requestFullscreen().catch(() => {});
  }

  snapshot(s) {
    for (const l of (s && s.langs) || []) this.track(l);
    this.renderTrackPicker();
    this.rebuild();
    this.renderExports();
  }

  track(l) {
    if (!this.tracks.has(l)) {
      this.tracks.set(l, { finals: [], partials: new Map() });
      this.renderTrackPicker();
    }
    return this.tracks.get(l);
  }

  // The track shown: the one chosen on this device, else the interface's language, else the first.
  current() {
    const langs = [...this.tracks.keys()];
    if (this.settings.track && this.tracks.has(this.settings.track)) return this.settings.track;
    return langs.find((l) => l.split('-')[0] === uiLang()) || langs[0] || null;
  }

  langName(l) {
    try { return new Intl.DisplayNames([uiLang()], { type: 'language' }).of(l) || l; } catch { return l; }
  }

  renderTrackPicker() {
    const cur = this.current();
    for (const id of ['cap-track', 'tr-track']) {
      const s = $(id);
      const keep = id === 'tr-track' ? (s.value || cur) : cur;
      s.replaceChildren(...[...this.tracks.keys()].map((l) => el('option', { value: l, lang: l, text: `${this.langName(l)} (${l})` })));
      if (keep) s.value = keep;
    }
  }

  onCaption(m) {
    if (m.seq <= this.lastSeq) return; // a backlog entry already shown
    this.lastSeq = m.seq;
    if (this.startT === null) this.startT = m.t;
    const tr = this.track(m.lang);
    const shown = m.lang === this.current();
    if (m.kind === 'partial') {
      if (m.text) tr.partials.set(m.captioner_id, m); else tr.partials.delete(m.captioner_id);
      if (shown) this.showPartial(m);
    } else {
      tr.partials.delete(m.captioner_id);
      tr.finals.push(m);
      if (tr.finals.length > KEEP_FINALS) tr.finals.shift();
      if (shown) this.showFinal(m, true);
      if (!$('transcript-panel').hidden && $('tr-track').value === m.lang) this.renderTranscript();
    }
    for (const mod of this.ctx.modules) if (mod.onCaption) mod.onCaption(m);
  }

  lineText(m) {
    const frag = document.createDocumentFragment();
    if (m.speaker) {
      // Names and translated group names keep their own direction inside the line.
      frag.append(el('span', { class: 'who' }, el('bdi', { text: m.speaker.name }),
        m.speaker.group ? ' (' : '', m.speaker.group ? el('bdi', { text: group(m.speaker.group) }) : '',
        m.speaker.group ? ')' : '', ': '));
    }
    frag.append(m.text);
    return frag;
  }

  showPartial(m) {
    const box = $('captions');
    let p = this.partialEls.get(m.captioner_id);
    if (!m.text) {
      if (p) p.remove();
      this.partialEls.delete(m.captioner_id);
      return;
    }
    if (!p) {
      // Screen readers get whole lines only: a partial is hidden from them.
      p = el('p', { class: 'partial', 'aria-hidden': 'true', lang: m.lang, dir: 'auto' });
      box.append(p);
      this.partialEls.set(m.captioner_id, p);
    }
    p.replaceChildren(this.lineText(m));
    this.scroll();
  }

  showFinal(m, live) {
    const box = $('captions');
    const p = this.partialEls.get(m.captioner_id);
    if (p) p.remove();
    this.partialEls.delete(m.captioner_id);
    const line = el('p', { class: 'final', lang: m.lang, dir: 'auto' }, this.lineText(m));
    const firstPartial = box.querySelector('.partial');
    box.insertBefore(line, firstPartial);
    const max = Number(this.settings.lines) || 500;
    const finals = box.querySelectorAll('.final');
    for (let i = 0; i < finals.length - max; i++) finals[i].remove();
    $('captions-empty').hidden = true;
    if (live) this.speak(m);
    this.scroll();
  }

  // Whole lines of the shown track, politely, in their own language.
  speak(m) {
    const live = $('cap-live') || document.body.appendChild(el('div', { id: 'cap-live', class: 'sr-only', 'aria-live': 'polite' }));
    live.append(el('p', { lang: m.lang, text: (m.speaker ? m.speaker.name + ': ' : '') + m.text }));
    while (live.childNodes.length > 3) live.firstChild.remove();
  }

  scroll() {
    const box = $('captions');
    box.scrollTop = box.scrollHeight;
  }

  rebuild() {
    const box = $('captions');
    box.replaceChildren();
    this.partialEls.clear();
    const l = this.current();
    const tr = l && this.tracks.get(l);
    $('captions-empty').hidden = !!(tr && tr.finals.length);
    if (!tr) return;
    const max = Number(this.settings.lines) || 500;
    for (const m of tr.finals.slice(-max)) this.showFinal(m, false);
    for (const m of tr.partials.values()) this.showPartial(m);
    box.setAttribute('lang', l);
    box.setAttribute('dir', RTL_LANGS.has(l.split('-')[0]) ? 'rtl' : 'ltr'); // the track's direction, not the interface's
  }

  transcriptLines(l) {
    const tr = this.tracks.get(l);
    if (!tr) return [];
    return tr.finals.map((m) => {
      const at = fmtTime(m.t - (this.startT || m.t));
      const who = m.speaker ? `${m.speaker.name}${m.speaker.group ? ` (${group(m.speaker.group)})` : ''}: ` : '';
      return { at, who, text: m.text };
    });
  }

  renderTranscript() {
    const l = $('tr-track').value || this.current();
    const lines = this.transcriptLines(l);
    const box = $('transcript');
    box.setAttribute('lang', l || uiLang());
    box.setAttribute('dir', l && RTL_LANGS.has(l.split('-')[0]) ? 'rtl' : 'ltr');
    box.replaceChildren(...(lines.length ? lines.map((x) => el('p', {}, el('span', { class: 'at', text: `[${x.at}] ` }),
      el('span', { class: 'who', text: x.who }), x.text)) : [el('p', { class: 'muted', text: t('captions.none') })]));
  }

  download() {
    const l = $('tr-track').value || this.current() || 'und';
    const head = `${document.title}\n${t('transcript.title')} (${l})\n\n`;
    const body = this.transcriptLines(l).map((x) => `[${x.at}] ${x.who}${x.text}`).join('\n') + '\n';
    const a = el('a', { href: URL.createObjectURL(new Blob([head + body], { type: 'text/plain;charset=utf-8' })),
      download: `${this.ctx.state.room}-transcript-${l}.txt` });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // Moderators and observers may fetch the server's full exports with their link's token.
  renderExports() {
    const { state } = this.ctx;
    const box = $('tr-exports');
    box.replaceChildren();
    if (!state.token || !state.you || !['moderator', 'observer'].includes(state.you.role)) return;
    box.append(t('transcript.full') + ' ');
    for (const f of ['txt', 'vtt', 'srt', 'json']) {
      box.append(el('a', { href: `/api/rooms/${encodeURIComponent(state.room)}/transcript.${f}?token=${encodeURIComponent(state.token)}&lang=*`,
        download: `${state.room}.${f}`, text: f.toUpperCase() }), ' ');
    }
  }
}
