// conn: the signaling WebSocket — requests matched to replies by id, events to
// listeners, and reconnection with backoff (the app re-joins on "open").
export class Conn {
  constructor(url) {
    this.url = url;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.backoff = 250;
    this.closedByUs = false;
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(fn);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) || []) fn(msg);
  }

  open() {
    this.ws = new WebSocket(this.url, 'rostrum.v1');
    this.ws.onopen = () => { this.backoff = 250; this.emit('open'); };
    this.ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    this.ws.onclose = (e) => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      this.emit('close', e);
      if (this.closedByUs || e.code === 1008 || e.code === 4002) return;
      // Jittered, so a restarted server is not met by every client at once;
      // capped low, so a member is back within seconds of the server answering.
      setTimeout(() => this.open(), this.backoff * (0.5 + Math.random()));
      this.backoff = Math.min(this.backoff * 2, 3000);
    };
  }

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

  request(type, fields = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error('not connected'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }
}
