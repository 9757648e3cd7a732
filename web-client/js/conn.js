// conn: the signaling WebSocket — requests matched to replies by id, events to
// listeners, and reconnection with jittered exponential backoff (the app
// re-joins on "open", with its resume secret when it has one). Capped low, so
// a member is back within seconds of the server answering again.
const BASE_MS = 250, CAP_MS = 3000;

export class Conn {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.attempt = 0;
    this.closedByUs = false;
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(fn);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) || []) fn(msg);
  }

  get online() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  // Full jitter over an exponential ceiling: a room of people whose server
  // restarted does not come back in one burst.
  delay() {
    const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** this.attempt);
    this.attempt++;
    return Math.round(ceiling / 2 + Math.random() * ceiling / 2);
  }

  open() {
    this.ws = new WebSocket(this.url, 'rostrum.v1');
    this.ws.onopen = () => { this.attempt = 0; this.emit('open'); };
    this.ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      this.receive(m);
    };
    this.ws.onclose = (e) => {
      for (const p of this.pending.values()) p.reject(Object.assign(new Error('connection closed'), { code: 'offline' }));
      this.pending.clear();
      const retry = !(this.closedByUs || e.code === 1008 || e.code === 4002);
      const wait = retry ? this.delay() : 0;
      this.emit('close', { code: e.code, retry, wait });
      if (retry) this.timer = setTimeout(() => this.open(), wait);
    };
  }

  // For tests and for "try now": drop the socket as a network failure would.
  drop() { if (this.ws) this.ws.close(4000, 'test'); }

  receive(msg) {
    if ((msg.type === 'result' || msg.type === 'error') && this.pending.has(msg.re)) {
      const p = this.pending.get(msg.re);
      this.pending.delete(msg.re);
      if (msg.type === 'result') p.resolve(msg.data);
      else p.reject(Object.assign(new Error(msg.message), { code: msg.code, field: msg.field }));
      return;
    }
    this.emit(msg.type, msg);
  }

  // A request made while the socket is still opening (a quick click on Join
  // on a slow link) waits for it; one made while offline fails at once.
  request(type, fields = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const offline = () => reject(Object.assign(new Error('not connected'), { code: 'offline' }));
      const send = () => {
        this.pending.set(id, { resolve, reject });
        this.ws.send(JSON.stringify({ type, id, ...fields }));
      };
      if (this.online) { send(); return; }
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.CONNECTING) { offline(); return; }
      const settle = () => {
        ws.removeEventListener('open', settle);
        ws.removeEventListener('close', settle);
        if (this.ws === ws && this.online) send(); else offline();
      };
      ws.addEventListener('open', settle);
      ws.addEventListener('close', settle);
    });
  }
}
