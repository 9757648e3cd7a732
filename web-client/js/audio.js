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
      $('btn-audio').textContent = 'Leave audio';
    } catch (e) {
      this.status(`Audio failed: ${e.message}`);
      this.close();
    }
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
