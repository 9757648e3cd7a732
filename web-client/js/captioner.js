// captioner: a full-height console — the track as a choice, the speaker the
// server will attribute the line to, hand-over that tells the partner and the
// chair (through the captioner's roster label), and the lines just sent.
import { $, el, announce } from './util.js';
import { t, errorText, onLang } from './i18n.js';

const PARTIAL_EVERY_MS = 250;
const UN_LANGS = ['en', 'fr', 'es', 'ru', 'zh', 'ar'];

class Captioner {
  constructor(ctx) {
    this.ctx = ctx;
    this.conn = ctx.conn;
    this.lastPartialAt = 0;
    this.partialTimer = null;
    this.onDuty = true;
    this.holders = [];
    const console_ = $('captioner-console');
    console_.hidden = ctx.state.you.role !== 'captioner';
    this.conn.on('floor.queue', (m) => { this.holders = m.holders || []; this.showSpeaker(); });
    this.bind();
    onLang(() => { this.fillLangs(); this.showSpeaker(); this.showTurn(); });
  }

  bind() {
    const input = $('cap-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.sendFinal();
      }
    });
    input.addEventListener('input', () => this.schedulePartial());
    $('cap-handover').addEventListener('click', () => this.toggleTurn());
    $('cap-lang').addEventListener('change', () => localStorage.setItem('rostrum.capLang', $('cap-lang').value));
  }

  fillLangs(extra = []) {
    const s = $('cap-lang');
    const keep = s.value || localStorage.getItem('rostrum.capLang') || extra[0] || 'en';
    const langs = [...new Set([...extra, ...UN_LANGS, ...this.ctx.captions.tracks.keys()])];
    s.replaceChildren(...langs.map((l) => el('option', { value: l, lang: l, text: `${this.ctx.captions.langName(l)} (${l})` })));
    s.value = langs.includes(keep) ? keep : langs[0];
  }

  snapshot(s) {
    this.fillLangs((s.captions && s.captions.langs) || []);
    this.holders = (s.floor && s.floor.queue && s.floor.queue.holders) || [];
    this.showSpeaker();
    this.showTurn();
  }

  // The server attributes a line to whoever holds the floor when it begins.
  showSpeaker() {
    const names = this.holders.map((h) => h.who.name);
    $('cap-speaker').textContent = names.length ? t('cap.speaker', { name: names.join(', ') }) : t('cap.noSpeaker');
  }

  onCaption(m) {
    if (m.kind !== 'final' || m.captioner_id !== `p${this.ctx.state.you.pid}`) return;
    const list = $('cap-mine');
    list.append(el('li', { lang: m.lang }, el('span', { class: 'who', text: m.speaker ? `${m.speaker.name}: ` : `${t('cap.noSpeakerShort')}: ` }), m.text));
    while (list.children.length > 5) list.firstChild.remove();
  }

  // Teams hand over every 15-30 minutes: the open line is completed, the
  // console pauses, and the roster label says who is on duty.
  async toggleTurn() {
    const input = $('cap-input');
    if (this.onDuty) await this.sendFinal();
    this.onDuty = !this.onDuty;
    input.disabled = !this.onDuty;
    try {
      await this.conn.request('presence', { attrs: { label: this.onDuty ? t('cap.labelOn') : t('cap.labelOff') } });
    } catch (e) { $('cap-error').textContent = errorText(e); }
    this.showTurn();
    announce(this.onDuty ? t('cap.tookOver') : t('cap.handedOver'));
    if (this.onDuty) input.focus();
  }

  showTurn() {
    $('cap-handover').textContent = this.onDuty ? t('cap.handover') : t('cap.takeover');
    $('cap-turn').textContent = this.onDuty ? '' : t('cap.handedOver');
  }

  schedulePartial() {
    if (this.partialTimer) return;
    const wait = Math.max(0, this.lastPartialAt + PARTIAL_EVERY_MS - Date.now());
    this.partialTimer = setTimeout(() => {
      this.partialTimer = null;
      this.lastPartialAt = Date.now();
      this.send('caption.partial', $('cap-input').value);
    }, wait);
  }

  async sendFinal() {
    const text = $('cap-input').value.trim();
    if (!text) return;
    clearTimeout(this.partialTimer);
    this.partialTimer = null;
    $('cap-input').value = '';
    await this.send('caption.final', text);
  }

  async send(type, text) {
    $('cap-error').textContent = '';
    try {
      await this.conn.request(type, { text, lang: $('cap-lang').value || undefined });
    } catch (e) {
      $('cap-error').textContent = errorText(e);
    }
  }
}

export function mount(ctx) { return new Captioner(ctx); }
