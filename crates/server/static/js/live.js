// A WebSocket that keeps itself connected: backoff with jitter, resume from the last seen seq,
// heartbeat to notice a dead network, and a status for the page to show ("Reconnecting…").
//
// It authenticates with a first `auth` frame rather than `?token=`: the token stays out of URLs
// and logs, and a refusal arrives as an error frame and close code (4401/4403/4404) the page can
// read, where a refused HTTP upgrade would only look like a network failure to a browser.

import { clearSession, goToLogin } from './api.js';

const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 45000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 15000;
/** Close codes after which retrying cannot help: unauthenticated, forbidden (or claim ended), no such thread. */
const FINAL_CLOSE_CODES = new Set([4401, 4403, 4404]);
/** Error frames after which retrying cannot help. */
const FINAL_ERROR_CODES = new Set(['unauthorized', 'unauthenticated', 'forbidden', 'not_found']);

export class LiveSocket {
  /**
   * @param {string} path e.g. `/ws/threads/7`
   * @param {object} options `token`, `lastSeq` (resume point, or null for none), `onFrame(frame)`,
   *   `onStatus(status, detail)` with status one of connecting, live, reconnecting, denied, closed.
   */
  constructor(path, { token, lastSeq = null, onFrame = () => {}, onStatus = () => {} }) {
    this.path = path;
    this.token = token;
    this.lastSeq = lastSeq;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastHeard = 0;
    this.everReady = false;
    this.onOnline = () => {
      if (!this.stopped && (!this.ws || this.ws.readyState !== WebSocket.OPEN)) this.reconnectNow();
    };
    window.addEventListener('online', this.onOnline);
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  /** Sends a frame if the socket is up; returns whether it was sent. */
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.ready) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** Closes for good. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'bye');
      this.ws = null;
    }
    this.onStatus('closed');
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const params = new URLSearchParams();
    if (this.lastSeq !== null && this.lastSeq !== undefined) params.set('last_seq', String(this.lastSeq));
    const query = params.toString();
    return `${scheme}//${location.host}${this.path}${query ? '?' + query : ''}`;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.ready = false;
    this.onStatus(this.everReady ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'auth', token: this.token }));
      this.lastHeard = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.heartbeat(), PING_EVERY_MS);
    };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === 'ready') {
        this.ready = true;
        this.everReady = true;
        this.attempt = 0;
        this.onStatus('live');
      } else if (frame.type === 'error' && FINAL_ERROR_CODES.has(frame.code) && !this.ready) {
        this.deny(frame.message || 'Not allowed.', frame.code === 'unauthenticated');
        return;
      }
      if (frame.type === 'message.created' && typeof frame.seq === 'number') {
        this.lastSeq = Math.max(this.lastSeq || 0, frame.seq);
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      clearInterval(this.pingTimer);
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      this.ready = false;
      if (FINAL_CLOSE_CODES.has(event.code)) {
        this.deny(event.reason || 'The server closed the connection.', event.code === 4401);
      } else {
        this.scheduleRetry();
      }
    };
    ws.onerror = () => {
      // A close event follows and decides what to do.
    };
  }

  /** Stops for good; an unauthenticated socket means the session is gone: log in again. */
  deny(reason, unauthenticated = false) {
    if (unauthenticated) {
      clearSession();
      goToLogin();
    }
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.onStatus('denied', reason);
  }

  heartbeat() {
    if (!this.ws) return;
    if (Date.now() - this.lastHeard > SILENCE_LIMIT_MS) {
      // The network dropped without a close: start over.
      this.reconnectNow();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'ping' }));
  }

  reconnectNow() {
    const old = this.ws;
    this.ws = null;
    if (old) {
      old.onclose = null;
      old.close();
    }
    clearInterval(this.pingTimer);
    this.attempt = 0;
    this.connect();
  }

  scheduleRetry() {
    if (this.stopped) return;
    this.onStatus(this.everReady ? 'reconnecting' : 'connecting');
    const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const delay = base * (0.7 + Math.random() * 0.6);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
