// audio: the WebRTC connection to the room. The server decides who is heard;
// the microphone button only mutes locally. The level meter and the
// rostrumAudio hooks measure what arrives from the floor.
const $ = (id) => document.getElementById(id);

export class AudioView {
  constructor(conn, state, onTalking) {
    this.conn = conn;
    this.state = state;
    this.pc = null;
    this.mic = null;
    this.analyser = null;
    conn.on('audio.talking', (m) => onTalking(m.pid, m.talking));
    conn.on('audio.recording', (m) => this.recording(m));
    conn.on('audio.send', (m) => this.setSending(m.active));
    $('btn-rec').addEventListener('click', () => this.toggleRecording());
    $('btn-audio').addEventListener('click', () => (this.pc ? this.leave() : this.join()));
    $('btn-mic').addEventListener('click', () => this.toggleMic());
    window.rostrumAudio = this; // for tests and diagnostics
  }

  status(text) { $('audio-status').textContent = text; }

  async join() {
    this.status('Connecting audio…');
    const pc = new RTCPeerConnection({});
    this.pc = pc;
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
      for (const t of this.mic.getAudioTracks()) pc.addTrack(t, this.mic);
      $('btn-mic').hidden = false;
    } catch (e) {
      pc.addTransceiver('audio', { direction: 'recvonly' }); // listen only
    }
    pc.ontrack = (e) => this.play(e.streams[0] || new MediaStream([e.track]));
    pc.onconnectionstatechange = () => this.onState(pc);
    await pc.setLocalDescription(await pc.createOffer());
    try {
      const ans = await this.conn.request('audio.offer', { sdp: pc.localDescription.sdp });
      await pc.setRemoteDescription({ type: 'answer', sdp: ans.sdp });
      if (this.sending !== undefined) this.setSending(this.sending);
      $('btn-audio').textContent = 'Leave audio';
    } catch (e) {
      this.status(`Audio failed: ${e.message}`);
      this.close();
    }
  }

  // The server says whether we are heard; while not, the sender sends no RTP at all.
  async setSending(active) {
    this.sending = active;
    const s = this.pc && this.pc.getSenders().find((x) => x.track);
    const p = s && s.getParameters();
    if (!p || !p.encodings || !p.encodings.length) return;
    p.encodings[0].active = active;
    await s.setParameters(p).catch(() => {});
  }

  onState(pc) {
    if (pc !== this.pc) return;
    const s = pc.connectionState;
    this.status(s === 'connected' ? 'Audio connected' : `Audio ${s}`);
    if (s === 'failed') { // reconnect once the network allows
      this.close();
      setTimeout(() => this.join(), 2000);
    }
  }

  play(stream) {
    const el = $('audio-out');
    el.srcObject = stream;
    el.play().catch(() => {});
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(stream);
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 4096;
    this.analyser.smoothingTimeConstant = 0; // each reading is of now, however far apart
    src.connect(this.analyser);
    this.ctx = ctx;
    const data = new Float32Array(this.analyser.fftSize);
    const tick = () => {
      if (!this.analyser) return;
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
    return { hz: best * this.ctx.sampleRate / this.analyser.fftSize, rms: this.rms() };
  }

  // How loud each of the given frequencies is now (dB, from the analyser's FFT).
  levels(freqs) {
    if (!this.analyser) return freqs.map(() => -Infinity);
    const bins = new Float32Array(this.analyser.frequencyBinCount);
    this.analyser.getFloatFrequencyData(bins);
    const per = this.ctx.sampleRate / this.analyser.fftSize;
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
    const mod = this.state.you && this.state.you.role === 'moderator';
    $('btn-rec').hidden = !mod || this.rec.mode === 'off';
    $('btn-rec').textContent = this.rec.active ? 'Stop recording' : 'Start recording';
    if (mod && this.state.token) this.listRecordings();
  }

  // The room's recordings, with a link each (moderators: their join link's token reads them).
  async listRecordings() {
    const q = `?token=${encodeURIComponent(this.state.token)}`;
    try {
      const r = await fetch(`/api/rooms/${encodeURIComponent(this.state.room)}/recordings${q}`);
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
    } catch (e) { this.status(`Recording: ${e.message}`); }
  }

  connected() { return !!this.pc && this.pc.connectionState === 'connected'; }

  toggleMic() {
    const t = this.mic && this.mic.getAudioTracks()[0];
    if (!t) return;
    t.enabled = !t.enabled;
    $('btn-mic').textContent = `Microphone: ${t.enabled ? 'on' : 'off'}`;
  }

  close() {
    if (this.pc) this.pc.close();
    if (this.mic) for (const t of this.mic.getTracks()) t.stop();
    if (this.ctx) this.ctx.close();
    this.pc = this.mic = this.analyser = this.ctx = null;
    $('btn-mic').hidden = true;
    $('btn-audio').textContent = 'Join audio';
  }

  async leave() {
    this.close();
    this.status('Audio is off');
    try { await this.conn.request('audio.leave'); } catch (e) { /* the room is gone anyway */ }
  }
}
