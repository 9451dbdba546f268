// One thread's conversation: its messages, live updates, typing indicator and read marks,
// plus the composer that writes into it. Shared by the client page, the seed's chat page and the
// agent console.

import { api, newClientMessageId, session } from './api.js';
import { LiveSocket } from './live.js';
import { el, formatTime, say } from './ui.js';

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
const PAGE_SIZE = 100;

/** A user-facing sentence for an API failure. */
export function describeError(error) {
  if (!error) return 'Something went wrong.';
  if (error.code === 'claimed') {
    const holder = error.details && error.details.holder_id;
    const until = error.details && error.details.until;
    const who = holder !== undefined && holder !== null ? `agent ${holder}` : 'another agent';
    const when = until ? ` until ${formatTime(until)}` : '';
    return `This conversation was taken by another agent: taken by ${who}${when}.`;
  }
  if (error.status === 403) return error.message || 'You are not allowed to do that.';
  return error.message || 'Something went wrong.';
}

export class Conversation {
  /**
   * @param {object} parts `list` (an <ol>), `typing` and `status` elements.
   * @param {object} options `thread` (Thread), `me` (User), `live` (open the thread socket),
   *   `markRead` (send read marks for what is shown), `nameFor(message)`, `peerName`,
   *   `onEvent(frame)` for claim and status frames, `onDenied(reason)`.
   */
  constructor(parts, options) {
    this.list = parts.list;
    this.typingNode = parts.typing;
    this.statusNode = parts.status;
    this.thread = options.thread;
    this.me = options.me;
    this.live = options.live !== false;
    this.markRead = options.markRead !== false;
    this.nameFor = options.nameFor || ((m) => (m.sender_role === 'client' ? 'Client' : 'Agent'));
    this.peerName = options.peerName || 'The other side';
    this.onEvent = options.onEvent || (() => {});
    this.onDenied = options.onDenied || (() => {});
    this.bySeq = new Map();
    this.lastSeq = 0;
    this.peerReadUpTo = 0;
    this.readSent = 0;
    this.readTimer = null;
    this.typingTimer = null;
    this.lastTypingSent = 0;
    this.socket = null;
    this.closed = false;
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.scheduleRead();
    };
    document.addEventListener('visibilitychange', this.onVisible);
    this.list.replaceChildren();
    say(this.typingNode, '');
  }

  get threadId() {
    return this.thread.id;
  }

  /** Loads the stored messages, then (if live) joins the thread's socket from there on. */
  async open() {
    await this.fetchAfter(0);
    if (this.closed || !this.live) return;
    const current = session();
    if (!current) return;
    this.socket = new LiveSocket(`/ws/threads/${this.thread.id}`, {
      token: current.token,
      lastSeq: this.lastSeq,
      onFrame: (frame) => this.handleFrame(frame),
      onStatus: (status, detail) => this.handleStatus(status, detail),
    }).start();
  }

  async fetchAfter(afterSeq) {
    let after = afterSeq;
    for (let page = 0; page < 50; page += 1) {
      const data = await api('GET', `/api/v1/threads/${this.thread.id}/messages?after_seq=${after}&limit=${PAGE_SIZE}`);
      const items = (data && data.items) || [];
      for (const message of items) this.add(message, { replace: true });
      if (items.length < PAGE_SIZE) break;
      after = items[items.length - 1].seq;
    }
  }

  close() {
    this.closed = true;
    clearTimeout(this.readTimer);
    clearTimeout(this.typingTimer);
    document.removeEventListener('visibilitychange', this.onVisible);
    if (this.socket) this.socket.stop();
    this.socket = null;
    say(this.statusNode, '');
  }

  /** Writes a message (REST, idempotent by client_message_id); it shows at once. */
  async send(body) {
    const message = await api('POST', `/api/v1/threads/${this.thread.id}/messages`, {
      body,
      client_message_id: newClientMessageId(),
    });
    if (message) this.add(message);
    return message;
  }

  /** Tells the other side we are typing (throttled). */
  typing() {
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_SENT_EVERY_MS) return;
    if (this.socket && this.socket.send({ type: 'typing' })) this.lastTypingSent = now;
  }

  isMine(message) {
    return message.sender_id === this.me.id;
  }

  add(message, { replace = false } = {}) {
    if (!message || typeof message.seq !== 'number' || message.thread_id !== this.thread.id) return;
    const known = this.bySeq.get(message.seq);
    if (known) {
      if (replace) {
        known.message = message;
        this.updateMark(known);
      }
      return;
    }
    const entry = { message, node: this.render(message) };
    this.bySeq.set(message.seq, entry);
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 80;
    const after = [...this.list.children].find((node) => Number(node.dataset.seq) > message.seq);
    this.list.insertBefore(entry.node, after || null);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (this.socket) this.socket.lastSeq = Math.max(this.socket.lastSeq || 0, message.seq);
    this.updateMark(entry);
    if (!this.isMine(message)) {
      say(this.typingNode, '');
      this.scheduleRead();
    }
    if (nearBottom || this.isMine(message)) this.list.scrollTop = this.list.scrollHeight;
  }

  render(message) {
    const mine = this.isMine(message);
    const mark = mine ? el('span', { class: 'mark' }) : null;
    return el(
      'li',
      { class: `message ${mine ? 'mine' : 'theirs'}`, dataset: { seq: message.seq, id: message.id } },
      el(
        'p',
        { class: 'meta' },
        el('span', { class: 'sender', text: mine ? 'You' : this.nameFor(message) }),
        ' ',
        el('time', { datetime: message.created_at, text: formatTime(message.created_at) }),
      ),
      el('p', { class: 'body', text: message.body }),
      mark,
    );
  }

  updateMark(entry) {
    if (!this.isMine(entry.message)) return;
    const mark = entry.node.querySelector('.mark');
    if (!mark) return;
    const read = entry.message.is_read || entry.message.seq <= this.peerReadUpTo;
    mark.textContent = read ? 'Read' : 'Sent';
    entry.node.classList.toggle('read', read);
  }

  scheduleRead() {
    if (!this.markRead || this.closed) return;
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => this.sendRead(), 300);
  }

  /** Marks the other side's messages read once they are on a visible page. */
  async sendRead() {
    if (document.visibilityState !== 'visible' || this.closed) return;
    let upTo = 0;
    for (const { message } of this.bySeq.values()) {
      if (!this.isMine(message)) upTo = Math.max(upTo, message.seq);
    }
    if (upTo <= this.readSent) return;
    this.readSent = upTo;
    if (this.socket && this.socket.send({ type: 'read', up_to_seq: upTo })) return;
    try {
      await api('POST', `/api/v1/threads/${this.thread.id}/read`, { up_to_seq: upTo });
    } catch {
      this.readSent = 0;
    }
  }

  handleFrame(frame) {
    switch (frame.type) {
      case 'message.created':
        this.add(frame.message);
        break;
      case 'typing':
        if (frame.user_id !== this.me.id) this.showTyping();
        break;
      case 'read':
        if (frame.reader_id !== this.me.id && frame.up_to_seq > this.peerReadUpTo) {
          this.peerReadUpTo = frame.up_to_seq;
          for (const entry of this.bySeq.values()) this.updateMark(entry);
        }
        break;
      case 'ready':
        if (typeof frame.last_seq === 'number' && frame.last_seq > this.lastSeq) {
          // Missed something the resume did not replay: fetch it.
          this.fetchAfter(this.lastSeq).catch(() => {});
        }
        break;
      default:
        break;
    }
    this.onEvent(frame);
  }

  showTyping() {
    say(this.typingNode, `${this.peerName} is typing…`);
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => say(this.typingNode, ''), TYPING_SHOWN_MS);
  }

  handleStatus(status, detail) {
    if (status === 'live') {
      const wasDown = this.statusNode && this.statusNode.dataset.state === 'reconnecting';
      this.setStatus('live', wasDown ? 'Reconnected.' : 'Connected.');
      if (wasDown) {
        // Read marks and messages may have moved while we were away.
        this.fetchAfter(0).catch(() => {});
        this.readSent = 0;
        this.scheduleRead();
      }
    } else if (status === 'reconnecting') {
      this.setStatus('reconnecting', 'Reconnecting…');
    } else if (status === 'connecting') {
      this.setStatus('connecting', 'Connecting…');
    } else if (status === 'denied') {
      this.setStatus('denied', detail || 'The live connection was refused.');
      this.onDenied(detail);
    }
  }

  setStatus(state, text) {
    if (!this.statusNode) return;
    this.statusNode.dataset.state = state;
    say(this.statusNode, text, state === 'live' ? 'ok' : state === 'denied' ? 'error' : 'warn');
  }
}

/**
 * Wires a composer form: Enter sends (Shift+Enter for a new line), typing is reported, errors show
 * under the box, focus stays in the box.
 */
export function bindComposer(form, { onSend, onTyping = () => {} }) {
  const input = form.querySelector('textarea');
  const button = form.querySelector('button[type="submit"]');
  const error = form.querySelector('.form-error');
  let sending = false;
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    say(error, '');
    if (input.value.trim()) onTyping();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (sending || input.disabled) return;
    const body = input.value;
    if (!body.trim()) {
      say(error, 'Write a message first.', 'error');
      input.focus();
      return;
    }
    sending = true;
    button.disabled = true;
    say(error, '');
    try {
      await onSend(body);
      input.value = '';
    } catch (failure) {
      say(error, describeError(failure), 'error');
    } finally {
      sending = false;
      button.disabled = input.disabled;
      input.focus();
    }
  });
  return {
    input,
    setEnabled(enabled, placeholder) {
      input.disabled = !enabled;
      button.disabled = !enabled;
      if (placeholder !== undefined) input.placeholder = placeholder;
    },
    setError(text) {
      say(error, text, 'error');
    },
    focus() {
      input.focus();
    },
  };
}
