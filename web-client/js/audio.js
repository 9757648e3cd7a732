// audio: the WebRTC connection to the room. Listening needs no microphone and
// asks for none: the first offer is recvonly. When the floor is granted the
// microphone is asked for and the connection offered again with it (the
// server replaces the old one; the old one plays until the new one answers).
// Moderators, who may always speak, are asked at once.
// The server pauses a sender without the floor with audio.send; the browser
// then sends no RTP at all (encodings[0].active = false).
import { $, announce } from './util.js';
import { t, errorText, onLang } from './i18n.js';

class Audio {
  constructor(ctx) {
    this.ctx = ctx;
    this.conn = ctx.conn;
    this.pc = null;
    this.mic = null;
    this.analyser = null;
    this.sendActive = true;
    this.wanted = false;  // the person asked for audio
    this.statusKey = 'audio.off';
    ctx.audio = this;
    const c = this.conn;
    c.on('audio.recording', (m) => this.recording(m));
    c.on('audio.send', (m) => this.setSending(m.active));
    c.on('floor.you', (m) => { if (m.state === 'granted' && this.wanted && !this.mic) this.openMic(); });
    $('btn-rec').addEventListener('click', () => this.toggleRecording());
    $('btn-audio').addEventListener('click', () => (this.pc ? this.leave() : this.join(this.isModerator())));
    $('btn-mic').addEventListener('click', () => this.toggleMic());
    $('btn-speak').addEventListener('click', () => (this.pc ? this.openMic() : this.join(true)));
    onLang(() => { this.status(this.statusKey); this.labels(); if (this.rec) this.recording({}); });
    window.rostrumAudio = this; // for tests and diagnostics
  }

  isModerator() { return this.ctx.state.you && this.ctx.state.you.role === 'moderator'; }
  hasMic() { return !!this.mic; }

  status(key, vars) {
    this.statusKey = key;
    $('audio-status').textContent = t(key, vars);
  }

  labels() {
    $('btn-audio').textContent = this.pc ? t('audio.leave') : t('audio.listen');
    const on = this.mic && this.mic.getAudioTracks()[0] && this.mic.getAudioTracks()[0].enabled;
    $('btn-mic').textContent = on ? t('audio.micOn') : t('audio.micOff');
    $('btn-mic').setAttribute('aria-pressed', String(!!on));
  }

  snapshot(s) {
    this.recording(s.recording);
    if (this.wanted) { // the server dropped our audio with the old connection: offer again
      this.close();
      this.join(this.isModerator() || (s.floor && s.floor.you && s.floor.you.state === 'granted'));
    }
  }

  // withMic: ask for the microphone (granted floor, moderator); else listen only.
  async join(withMic) {
    this.wanted = true;
    this.status('audio.connecting');
    let mic = null;
    if (withMic) {
      try { mic = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch (e) {
        this.status('audio.noMic');
      }
    }
    const pc = new RTCPeerConnection({});
    if (mic) for (const tr of mic.getAudioTracks()) pc.addTrack(tr, mic);
    else pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (e) => this.play(e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => this.onState(pc);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      const ans = await this.conn.request('audio.offer', { sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: 'answer', sdp: ans.sdp });
    } catch (e) {
      pc.close();
      if (mic) for (const tr of mic.getTracks()) tr.stop();
      this.status('audio.failed', { reason: errorText(e) });
      return;
    }
    const old = this.pc;
    this.close(true);
    if (old) old.close();
    this.pc = pc;
    this.mic = mic;
    $('btn-mic').hidden = !mic;
    if (mic) this.setSending(this.sendActive);
    this.labels();
    this.ctx.modules.forEach((m) => m.render && m.render());
  }

  // The floor is granted: offer again, with the microphone.
  async openMic() {
    if (this.mic || this.opening) return;
    this.opening = true;
    try { await this.join(true); } finally { this.opening = false; }
  }

  // audio.send from the server: paused senders send no packets at all.
  async setSending(active) {
    this.sendActive = active;
    if (!this.pc) return;
    for (const s of this.pc.getSenders()) {
      if (!s.track) continue;
      const p = s.getParameters();
      if (!p.encodings || !p.encodings.length) continue;
      p.encodings[0].active = active;
      try { await s.setParameters(p); } catch { /* a closing connection */ }
    }
  }

  onState(pc) {
    if (pc !== this.pc) return;
    const s = pc.connectionState;
    if (s === 'connected') this.status(this.mic ? 'audio.connectedMic' : 'audio.connectedListen');
    else this.status('audio.state.' + s);
    if (s === 'connected') announce(t(this.mic ? 'audio.connectedMic' : 'audio.connectedListen'));
    if (s === 'failed') { // reconnect once the network allows
      const withMic = !!this.mic;
      this.close();
      setTimeout(() => { if (this.wanted && this.ctx.state.online) this.join(withMic); }, 2000);
    }
  }

  play(stream) {
    const elm = $('audio-out');
    elm.srcObject = stream;
    elm.play().catch(() => {});
    if (this.ctx2) this.ctx2.close();
    const ac = new AudioContext();
    const src = ac.createMediaStreamSource(stream);
    this.analyser = ac.createAnalyser();
    this.analyser.fftSize = 4096;
    this.analyser.smoothingTimeConstant = 0; // each reading is of now, however far apart
    src.connect(this.analyser);
    this.ctx2 = ac;
    const data = new Float32Array(this.analyser.fftSize);
    const an = this.analyser;
    const tick = () => {
      if (this.analyser !== an) return;
      $('audio-level').value = Math.min(1, this.rms(data) * 4);
      requestAnimationFrame(tick);
    };
    tick();
  }

  rms(data = new Float32Array(this.analyser ? this.analyser.fftSize : 1)) {
    if (!this.analyser) return 0;
    this.analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    return Math.sqrt(sum / data.length);
  }

  // The strongest frequency in what the floor sends now (Hz), and its loudness.
  peak() {
    if (!this.analyser) return { hz: 0, rms: 0 };
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    return { hz: best * this.ctx2.sampleRate / this.analyser.fftSize, rms: this.rms() };
  }

  // How loud each of the given frequencies is now (dB, from the analyser's FFT).
  levels(freqs) {
    if (!this.analyser) return freqs.map(() => -Infinity);
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    const per = this.ctx2.sampleRate / this.analyser.fftSize;
    return freqs.map((hz) => {
      const k = Math.round(hz / per);
      let best = -Infinity;
      for (let i = Math.max(0, k - 2); i <= Math.min(bins.length - 1, k + 2); i++)
        best = Math.max(best, bins[i]);
      return best;
    });
  }

  // The room's recording state, from a join snapshot or an audio.recording event.
  recording(r) {
    this.rec = { ...(this.rec || {}), ...(r || { active: false }) };
    $('rec-status').hidden = !this.rec.active;
    const mod = this.isModerator();
    $('btn-rec').hidden = !mod || this.rec.mode === 'off';
    $('btn-rec').textContent = this.rec.active ? t('audio.recStop') : t('audio.recStart');
    if (mod && this.ctx.state.token && r && r.active !== undefined) this.listRecordings();
  }

  // The room's recordings, with a link each (moderators: their join link's token reads them).
  async listRecordings() {
    const q = `?token=${encodeURIComponent(this.ctx.state.token)}`;
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(this.ctx.state.room)}/recordings${q}`);
      if (!r.ok) return;
      const ul = $('recordings');
      ul.replaceChildren();
      for (const rec of (await r.json()).recordings) {
        const li = document.createElement('li');
        const a = document.createElement('a');
        a.href = rec.url + q;
        a.textContent = rec.file.replace('recordings/', '');
        a.download = a.textContent;
        li.append(a, ` ${new Date(rec.start_t).toLocaleTimeString()}${rec.active ? ' (recording)' : ''}`);
        ul.append(li);
      }
    } catch (e) { /* the list is a convenience; the files stay in the data directory */ }
  }

  async toggleRecording() {
    const want = !(this.rec && this.rec.active);
    try {
      this.recording(await this.conn.request('audio.record', { active: want }));
    } catch (e) { this.status('audio.failed', { reason: errorText(e) }); }
  }

  connected() { return !!this.pc && this.pc.connectionState === 'connected'; }

  toggleMic() {
    const tr = this.mic && this.mic.getAudioTracks()[0];
    if (!tr) return;
    tr.enabled = !tr.enabled;
    this.labels();
  }

  // keepState: replacing the connection (the new one is ready); else it ends.
  close(keepState = false) {
    if (!keepState && this.pc) this.pc.close();
    if (this.mic) for (const tr of this.mic.getTracks()) tr.stop();
    if (!keepState && this.ctx2) { this.ctx2.close(); this.ctx2 = null; this.analyser = null; }
    this.pc = this.mic = null;
    $('btn-mic').hidden = true;
    this.labels();
  }

  async leave() {
    this.wanted = false;
    this.close();
    this.status('audio.off');
    try { await this.conn.request('audio.leave'); } catch (e) { /* the room is gone anyway */ }
    this.ctx.modules.forEach((m) => m.render && m.render());
  }
}

export function mount(ctx) { return new Audio(ctx); }
