// The participant's WebSocket to the server (docs/protocol.md). It reconnects by itself with
// exponential backoff; every (re)connection sends the `join` built by the caller, which carries the
// resume_key once the server has given one, so a dropped socket comes back as the same participant.

const PING_EVERY_MS = 20000;
const MAX_BACKOFF_MS = 10000;

// The session id in the URL lets a load balancer send every socket of one session to the same server.
export function socketUrl(sessionId = '') {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const query = sessionId ? `?session=${encodeURIComponent(sessionId)}` : '';
  return `${scheme}://${location.host}/ws${query}`;
}

export class Signaling extends EventTarget {
  constructor(url, buildJoin) {
    super();
    this.url = url;
    this.buildJoin = buildJoin;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.everOpened = false;
    this.onOnline = () => { if (!this.isOpen() && !this.stopped) this.reconnectNow(); };
    window.addEventListener('online', this.onOnline);
  }

  isOpen() {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      if (ws !== this.ws) return;
      this.everOpened = true;
      ws.send(JSON.stringify(this.buildJoin()));
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: 'ping' }), PING_EVERY_MS);
      this.dispatchEvent(new Event('open'));
    });
    ws.addEventListener('message', (event) => {
      if (ws !== this.ws) return;
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message && typeof message.type === 'string') {
        this.dispatchEvent(new CustomEvent('message', { detail: message }));
      }
    });
    ws.addEventListener('close', () => {
      if (ws !== this.ws) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      if (this.stopped) return;
      this.dispatchEvent(new Event('drop'));
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    // Quick at first (a server that moved is back within seconds), then slower: 0.5, 0.8, 1.3, 2, 3.3 s ...
    const base = Math.min(MAX_BACKOFF_MS, 500 * 1.6 ** this.attempt);
    this.attempt += 1;
    const delay = base * (0.75 + Math.random() * 0.5);  // jitter: peers dropped together don't retry together
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    this.attempt = 0;
    this.connect();
  }

  // Called once the server accepted the join: the next drop starts the backoff from scratch.
  joined() {
    this.attempt = 0;
  }

  send(message) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  // For good: no reconnection (left, ended, declined, refused).
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    window.removeEventListener('online', this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  }
}
