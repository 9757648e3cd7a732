// captions: the live caption panel (finals appended, each captioner's partial
// replaced in place) and the captioner console.
const $ = (id) => document.getElementById(id);
const PARTIAL_EVERY_MS = 250;

export class CaptionView {
  constructor(conn, state) {
    this.conn = conn;
    this.state = state;
    this.partials = new Map(); // captioner_id + lang -> element
    this.lastSeq = 0;
    this.lastPartialAt = 0;
    this.partialTimer = null;
    conn.on('caption', (m) => this.onCaption(m));
    conn.on('caption.captioners', (m) => this.showCaptioners(m.captioners));
    this.bind();
  }

  bind() {
    $('cap-size').addEventListener('input', (e) => { $('captions').style.fontSize = e.target.value + '%'; });
    $('cap-contrast').addEventListener('change', (e) => $('captions').classList.toggle('contrast', e.target.checked));
    const input = $('cap-input');
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.sendFinal();
      }
    });
    input.addEventListener('input', () => this.schedulePartial());
    $('cap-handover').addEventListener('click', () => this.toggleTurn());
  }

  // Teams hand over every 15-30 minutes: the open line is sent as final and the
  // console pauses, so the next captioner's text is the only one on screen.
  async toggleTurn() {
    const input = $('cap-input');
    if (!input.disabled) {
      await this.sendFinal();
      input.disabled = true;
      $('cap-handover').textContent = 'Take over';
      $('cap-turn').textContent = 'You handed over.';
    } else {
      input.disabled = false;
      $('cap-handover').textContent = 'Hand over';
      $('cap-turn').textContent = '';
      input.focus();
    }
  }

  snapshot(s) {
    const role = this.state.you.role;
    $('captioner-console').hidden = !(role === 'captioner' || role === 'moderator');
    if (s) this.showCaptioners(s.captioners || []);
  }

  showCaptioners(list) {
    if (this.state.you.role !== 'moderator') return;
    $('captioners').textContent = list.length
      ? 'Live captioners: ' + list.map((c) => `${c.name} (${c.lang}, ${c.via})`).join(', ')
      : 'No captioner is live';
  }

  lineText(m) {
    const frag = document.createDocumentFragment();
    if (m.speaker) {
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = m.speaker.name + (m.speaker.group ? ` (${m.speaker.group.replace('_', ' ')})` : '') + ': ';
      frag.append(who);
    }
    frag.append(m.text);
    return frag;
  }

  onCaption(m) {
    if (m.seq <= this.lastSeq) return; // a backlog entry already shown
    this.lastSeq = m.seq;
    const box = $('captions');
    const key = m.captioner_id + '|' + m.lang;
    let el = this.partials.get(key);
    if (m.kind === 'partial') {
      if (!m.text) {
        if (el) el.remove();
        this.partials.delete(key);
        return;
      }
      if (!el) {
        el = document.createElement('p');
        el.className = 'partial';
        el.setAttribute('aria-hidden', 'true'); // screen readers get the final line only
        box.append(el);
        this.partials.set(key, el);
      }
      el.replaceChildren(this.lineText(m));
    } else {
      if (el) el.remove();
      this.partials.delete(key);
      const p = document.createElement('p');
      p.className = 'final';
      p.lang = m.lang;
      p.append(this.lineText(m));
      box.append(p);
    }
    box.scrollTop = box.scrollHeight;
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
    const lang = $('cap-lang').value.trim() || undefined;
    try {
      await this.conn.request(type, { text, lang });
    } catch (e) {
      $('cap-error').textContent = e.message;
    }
  }
}
