// One thread's conversation: its messages (and, for staff, its private notes), live updates,
// typing indicator and read marks, the newest message kept in view, and an outbox that keeps what
// was written while the server could not be reached and sends it (idempotently, by
// client_message_id) once it can. Shared by the client page, the seed's chat page and the console.

import { api, fetchFile, newClientMessageId, session, upload } from './api.js';
import { LiveSocket } from './live.js';
import { el, formatTime, say } from './ui.js';

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;
const PAGE_SIZE = 100;
/** How close to the bottom (px) still counts as reading the newest messages. */
const AT_END_PX = 80;
const FIRST_RESEND_MS = 2000;
const MAX_RESEND_MS = 30000;

/** The server's limit on a message body, in characters (Unicode scalar values, as it counts). */
export const MAX_MESSAGE_CHARS = 4000;

/** Characters as the server counts them (code points, not UTF-16 units). */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/** A failure worth retrying unchanged: no answer, or the server or its store briefly unavailable. */
export function isTransient(failure) {
  return Boolean(failure) && [0, 429, 502, 503, 504].includes(failure.status);
}

/**
 * A user-facing sentence for an API failure. `nameOf(id)` (optional) gives a person's name, so a
 * refusal names who holds a conversation rather than a number.
 */
export function describeError(error, nameOf = () => null) {
  if (!error) return 'Something went wrong.';
  if (error.code === 'claimed') {
    const holder = error.details && error.details.holder_id;
    const until = error.details && error.details.until;
    const name = holder !== undefined && holder !== null ? nameOf(holder) : null;
    const who = name || 'another agent';
    const when = until ? ` until ${formatTime(until)}` : '';
    return `This conversation was taken by another agent: taken by ${who}${when}.`;
  }
  if (error.status === 0) return 'The server cannot be reached. Check your connection and try again.';
  if (error.status === 403) return error.message || 'You are not allowed to do that.';
  return error.message || 'Something went wrong.';
}

/** Splits a text into parts of at most `max` characters, at a line or word break where possible. */
export function splitText(text, max = MAX_MESSAGE_CHARS) {
  const chars = [...text];
  const parts = [];
  let start = 0;
  while (chars.length - start > max) {
    let cut = start + max;
    const window = chars.slice(start, cut).join('');
    const lineBreak = window.lastIndexOf('\n');
    const space = window.lastIndexOf(' ');
    const at = lineBreak > max / 2 ? lineBreak : space > max / 2 ? space : -1;
    if (at > 0) cut = start + [...window.slice(0, at)].length + 1;
    parts.push(chars.slice(start, cut).join('').trimEnd());
    start = cut;
  }
  parts.push(chars.slice(start).join(''));
  return parts.filter((part) => part.trim());
}

export class Conversation {
  /**
   * @param {object} parts `list` (an <ol>), `typing` and `status` elements, and optionally `jump`
   *   (a button shown as "new messages" while the reader is scrolled up).
   * @param {object} options `thread` (Thread), `me` (User), `live` (open the thread socket),
   *   `markRead` (send read marks for what is shown), `nameFor(message)` (text or a node),
   *   `peerName`, `onEvent(frame)` for claim and status frames, `onDenied(reason)`.
   */
  constructor(parts, options) {
    this.list = parts.list;
    this.typingNode = parts.typing;
    this.statusNode = parts.status;
    this.jump = parts.jump || null;
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
    /** A read mark is scheduled and not yet sent. */
    this.readDue = false;
    this.typingTimer = null;
    this.lastTypingSent = 0;
    this.socket = null;
    this.closed = false;
    /** Whether the reader is at the newest message (then new ones scroll into view). */
    this.atEnd = true;
    this.unseen = 0;
    /** Messages written but not yet stored: {cmid, body, node, state}. */
    this.outbox = [];
    this.resendTimer = null;
    this.resendDelay = FIRST_RESEND_MS;
    this.flushing = false;
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.scheduleRead();
    };
    this.onScroll = () => {
      this.atEnd = this.distanceToEnd() < AT_END_PX;
      if (this.atEnd) this.clearUnseen();
    };
    this.onOnline = () => this.flush();
    this.onJump = () => this.scrollToEnd();
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('online', this.onOnline);
    this.list.addEventListener('scroll', this.onScroll, { passive: true });
    if (this.jump) this.jump.addEventListener('click', this.onJump);
    this.list.replaceChildren();
    this.clearUnseen();
    say(this.typingNode, '');
  }

  get threadId() {
    return this.thread.id;
  }

  /** Loads the stored messages (the newest in view), then (if live) joins the thread's socket. */
  async open() {
    this.atEnd = true;
    await this.fetchAfter(0);
    if (this.closed) return;
    this.restoreOutbox();
    this.scrollToEnd();
    if (this.outbox.length) this.flush();
    if (!this.live) return;
    const current = session();
    if (!current) return;
    this.socket = new LiveSocket(`/ws/threads/${this.thread.id}`, {
      token: current.token,
      lastSeq: this.lastSeq,
      onFrame: (frame) => this.handleFrame(frame),
      onStatus: (status, detail) => this.handleStatus(status, detail),
    }).start();
  }

  /**
   * Reads stored messages after a seq (on open, and to fill a gap after a reconnection). What it
   * adds comes into view if the reader was at the newest message, else counts as new.
   */
  async fetchAfter(afterSeq) {
    let after = afterSeq;
    let unseen = 0;
    for (let page = 0; page < 50; page += 1) {
      const data = await api('GET', `/api/v1/threads/${this.thread.id}/messages?after_seq=${after}&limit=${PAGE_SIZE}`);
      // A conversation closed while this read was out (the reader opened another, or this one
      // again) must not add to the list its successor now owns.
      if (this.closed) return;
      const items = (data && data.items) || [];
      for (const message of items) {
        if (this.add(message, { replace: true, quiet: true }) && !this.isMine(message)) unseen += 1;
      }
      if (items.length < PAGE_SIZE) break;
      after = items[items.length - 1].seq;
    }
    if (this.closed) return;
    if (this.atEnd) this.scrollToEnd();
    else for (let i = 0; i < unseen; i += 1) this.noteUnseen();
  }

  /**
   * Stops the conversation. With `flushRead`, messages already shown (a read mark scheduled) are
   * marked read even when the reader moves on before the mark went out (over REST: the socket
   * is closing); pass it only while the reader may still mark them (an agent whose claim ended
   * may not).
   */
  close({ flushRead = false } = {}) {
    if (flushRead && this.readDue && !this.closed) this.sendRead({ viaSocket: false });
    this.closed = true;
    clearTimeout(this.readTimer);
    clearTimeout(this.typingTimer);
    clearTimeout(this.resendTimer);
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('online', this.onOnline);
    this.list.removeEventListener('scroll', this.onScroll);
    if (this.jump) {
      this.jump.removeEventListener('click', this.onJump);
      this.jump.hidden = true;
    }
    if (this.socket) this.socket.stop();
    this.socket = null;
    say(this.statusNode, '');
  }

  // ---- scrolling ------------------------------------------------------------------------------

  distanceToEnd() {
    return this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight;
  }

  /** Shows the newest message (instantly: a smooth scroll would be overtaken by the next one). */
  scrollToEnd() {
    this.list.scrollTo({ top: this.list.scrollHeight, behavior: 'instant' });
    this.atEnd = true;
    this.clearUnseen();
  }

  clearUnseen() {
    this.unseen = 0;
    if (this.jump) this.jump.hidden = true;
  }

  noteUnseen() {
    this.unseen += 1;
    if (!this.jump) return;
    this.jump.textContent = this.unseen === 1 ? '1 new message ↓' : `${this.unseen} new messages ↓`;
    this.jump.hidden = false;
  }

  // ---- sending --------------------------------------------------------------------------------

  outboxKey() {
    return `chat.outbox.${this.me.id}.${this.thread.id}`;
  }

  saveOutbox() {
    try {
      const kept = this.outbox.filter((item) => item.state !== 'failed').map(({ cmid, body }) => ({ cmid, body }));
      if (kept.length) localStorage.setItem(this.outboxKey(), JSON.stringify(kept));
      else localStorage.removeItem(this.outboxKey());
    } catch {
      // Storage full or unavailable: the outbox still works for this page's life.
    }
  }

  restoreOutbox() {
    let stored = [];
    try {
      stored = JSON.parse(localStorage.getItem(this.outboxKey()) || '[]');
    } catch {
      stored = [];
    }
    for (const { cmid, body } of Array.isArray(stored) ? stored : []) {
      if (typeof cmid === 'string' && typeof body === 'string' && !this.outbox.some((item) => item.cmid === cmid)) {
        this.queue({ cmid, body, state: 'waiting' });
      }
    }
  }

  queue(item) {
    item.node = this.renderPending(item);
    this.outbox.push(item);
    this.list.append(item.node);
    this.showPending(item);
    return item;
  }

  /**
   * Writes a message (REST, idempotent by client_message_id). It shows at once as pending; when
   * the server cannot be reached it stays in the outbox and is sent on reconnection (resolving to
   * null); a refusal removes it and rejects, so the composer keeps the text.
   */
  async send(body) {
    const item = this.queue({ cmid: newClientMessageId(), body, state: 'sending' });
    this.saveOutbox();
    this.scrollToEnd();
    if (this.flushing || this.outbox.length > 1) {
      // Older messages are still waiting: keep the order, this one goes after them.
      item.state = 'waiting';
      this.showPending(item);
      this.flush();
      return null;
    }
    try {
      return await this.post(item);
    } catch (failure) {
      if (isTransient(failure)) {
        item.state = 'waiting';
        this.showPending(item);
        this.scheduleResend();
        return null;
      }
      this.dropPending(item);
      throw failure;
    }
  }

  async post(item) {
    const message = await api('POST', `/api/v1/threads/${this.thread.id}/messages`, {
      body: item.body,
      client_message_id: item.cmid,
    });
    this.dropPending(item);
    if (message) this.add(message);
    return message;
  }

  dropPending(item) {
    if (!this.outbox.includes(item)) return;
    this.outbox = this.outbox.filter((other) => other !== item);
    item.node.remove();
    this.saveOutbox();
  }

  /** Sends what waits in the outbox, oldest first, stopping at the first failure that may pass. */
  async flush() {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    clearTimeout(this.resendTimer);
    try {
      for (const item of [...this.outbox]) {
        if (item.state === 'failed') continue;
        item.state = 'sending';
        this.showPending(item);
        try {
          await this.post(item);
          this.resendDelay = FIRST_RESEND_MS;
        } catch (failure) {
          if (isTransient(failure)) {
            item.state = 'waiting';
            this.showPending(item);
            this.scheduleResend();
            return;
          }
          item.state = 'failed';
          item.error = describeError(failure);
          this.showPending(item);
          this.saveOutbox();
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  scheduleResend() {
    clearTimeout(this.resendTimer);
    if (this.closed) return;
    this.resendTimer = setTimeout(() => this.flush(), this.resendDelay);
    this.resendDelay = Math.min(MAX_RESEND_MS, this.resendDelay * 2);
  }

  renderPending(item) {
    return el(
      'li',
      { class: 'message mine pending', dataset: { cmid: item.cmid } },
      el('p', { class: 'meta' }, el('span', { class: 'sender', text: 'You' })),
      el('p', { class: 'body', text: item.body }),
      el('p', { class: 'mark pending-state' }),
      el('div', { class: 'pending-actions' }),
    );
  }

  showPending(item) {
    const state = item.node.querySelector('.pending-state');
    const actions = item.node.querySelector('.pending-actions');
    item.node.dataset.state = item.state;
    if (item.state === 'sending') state.textContent = 'Sending…';
    else if (item.state === 'waiting') state.textContent = 'Not sent yet: it will be sent when the connection is back.';
    else state.textContent = `Not sent: ${item.error || 'refused'}`;
    actions.replaceChildren(...(item.state === 'failed'
      ? [
        el('button', { type: 'button', class: 'link-button', text: 'Try again', onclick: () => { item.state = 'waiting'; this.saveOutbox(); this.flush(); } }),
        el('button', { type: 'button', class: 'link-button', text: 'Discard', onclick: () => this.dropPending(item) }),
      ]
      : []));
  }

  /** How many messages wait to be sent. */
  get pendingCount() {
    return this.outbox.filter((item) => item.state !== 'failed').length;
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

  isNote(message) {
    return message.kind === 'note';
  }

  /**
   * Shows a message once (by seq); answers whether it was new. `quiet` leaves scrolling to the
   * caller (a batch scrolls once at its end).
   */
  add(message, { replace = false, quiet = false } = {}) {
    if (this.closed || !message || typeof message.seq !== 'number' || message.thread_id !== this.thread.id) return false;
    const known = this.bySeq.get(message.seq);
    if (known) {
      if (replace) {
        known.message = message;
        this.updateMark(known);
      }
      return false;
    }
    // The stored copy of a message still pending here (the socket can bring it before the answer).
    const pending = message.client_message_id && this.isMine(message)
      ? this.outbox.find((item) => item.cmid === message.client_message_id)
      : null;
    if (pending) this.dropPending(pending);
    const entry = { message, node: this.render(message) };
    this.bySeq.set(message.seq, entry);
    const wasAtEnd = this.atEnd;
    const after = [...this.list.children].find((node) => node.dataset.seq !== undefined && Number(node.dataset.seq) > message.seq)
      || this.list.querySelector('li.pending');
    this.list.insertBefore(entry.node, after || null);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
    if (this.socket) this.socket.lastSeq = Math.max(this.socket.lastSeq || 0, message.seq);
    this.updateMark(entry);
    if (!this.isMine(message)) {
      if (!this.isNote(message)) say(this.typingNode, '');
      this.scheduleRead();
    }
    if (quiet) return true;
    if (wasAtEnd || this.isMine(message)) this.scrollToEnd();
    else this.noteUnseen();
    return true;
  }

  render(message) {
    // A system message (the auto-resolve notice) is the desk's, not a person's words: a notice
    // of the conversation, never "You", with no read mark.
    const system = message.system === true;
    const mine = this.isMine(message) && !system;
    const note = this.isNote(message);
    const mark = mine && !note ? el('span', { class: 'mark' }) : null;
    return el(
      'li',
      {
        class: `message ${system ? 'system' : mine ? 'mine' : 'theirs'}${note ? ' note' : ''}`,
        dataset: { seq: message.seq, id: message.id },
      },
      el(
        'p',
        { class: 'meta' },
        note ? el('span', { class: 'note-tag', text: 'Private note' }) : null,
        note ? ' ' : null,
        el('span', { class: 'sender' }, system ? 'Support desk' : mine ? 'You' : this.nameFor(message)),
        ' ',
        el('time', { datetime: message.created_at, text: formatTime(message.created_at) }),
      ),
      el('p', { class: 'body', text: message.body }),
      renderAttachments(message.attachments),
      mark,
    );
  }

  /**
   * Sends a file: uploads it to the thread, then writes a message naming it (its text `body`, or
   * the file's name). Rejects on a refusal (a type or size the server does not accept) with the
   * server's error, so the page can say why.
   */
  async sendFile(file, body = '') {
    const form = new FormData();
    form.append('file', file, file.name);
    const uploaded = await upload(`/api/v1/threads/${this.thread.id}/attachments`, form);
    const message = await api('POST', `/api/v1/threads/${this.thread.id}/messages`, {
      body: body.trim() ? body : (file.name || 'Attachment'),
      client_message_id: newClientMessageId(),
      attachment_ids: [uploaded.id],
    });
    if (message) this.add(message);
    return message;
  }

  updateMark(entry) {
    if (!this.isMine(entry.message) || this.isNote(entry.message)) return;
    const mark = entry.node.querySelector('.mark');
    if (!mark) return;
    const read = entry.message.is_read || entry.message.seq <= this.peerReadUpTo;
    mark.textContent = read ? 'Read' : 'Sent';
    entry.node.classList.toggle('read', read);
  }

  scheduleRead() {
    if (!this.markRead || this.closed) return;
    clearTimeout(this.readTimer);
    this.readDue = true;
    this.readTimer = setTimeout(() => this.sendRead(), 300);
  }

  /** Marks the other side's messages read once they are on a visible page. */
  async sendRead({ viaSocket = true } = {}) {
    if (document.visibilityState !== 'visible' || this.closed) return;
    this.readDue = false;
    let upTo = 0;
    for (const { message } of this.bySeq.values()) {
      if (!this.isMine(message) && !this.isNote(message)) upTo = Math.max(upTo, message.seq);
    }
    if (upTo <= this.readSent) return;
    this.readSent = upTo;
    if (viaSocket && this.socket && this.socket.send({ type: 'read', up_to_seq: upTo })) return;
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
      case 'note.created': {
        const note = frame.note || frame.message;
        if (note) this.add({ ...note, kind: 'note' });
        break;
      }
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
      this.resendDelay = FIRST_RESEND_MS;
      if (this.outbox.length) this.flush();
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

/** Raster images are shown in the conversation; every other file is a download link. */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** A message's files: images inline (fetched with the token), others as named download links. */
function renderAttachments(attachments) {
  if (!attachments || !attachments.length) return null;
  return el('ul', { class: 'attachments' }, attachments.map((file) => el('li', {}, attachmentNode(file))));
}

function attachmentNode(file) {
  if (INLINE_TYPES.has(file.content_type)) {
    const img = el('img', { class: 'attachment-image', alt: `Image: ${file.name}`, dataset: { attachment: file.id } });
    fetchFile(file.url)
      .then((blob) => { img.src = URL.createObjectURL(blob); })
      .catch(() => { img.alt = `Image: ${file.name} (could not be loaded)`; });
    return img;
  }
  const link = el('a', { class: 'attachment-file', href: file.url, download: file.name }, `${file.name} (${formatSize(file.size)})`);
  link.addEventListener('click', async (event) => {
    if (link.dataset.ready) return;
    event.preventDefault();
    try {
      link.href = URL.createObjectURL(await fetchFile(file.url));
      link.dataset.ready = '1';
      link.click();
    } catch {
      link.textContent = `${file.name} (could not be downloaded)`;
    }
  });
  return link;
}

/**
 * Wires a file input that sends what is chosen at once: `send(file)` (a Conversation's
 * `sendFile`, or null while there is none), `report(text)` to say what went wrong.
 */
export function bindAttach(input, { send, report }) {
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    if (!file) return;
    input.disabled = true;
    try {
      const sending = send(file);
      if (!sending) report('Write your first message, then attach files to the conversation.');
      else {
        await sending;
        report('');
      }
    } catch (failure) {
      report(describeError(failure));
    } finally {
      input.value = '';
      input.disabled = false;
    }
  });
}

/**
 * Wires a composer form: Enter sends (Shift+Enter for a new line), typing is reported, a counter
 * shows the length near and over the limit, and a text over it is never cut: sending is refused
 * with a clear message (the text stays in the box), or split into several messages if the writer
 * agrees. Errors show under the box, focus stays in the box.
 */
export function bindComposer(form, { onSend, onTyping = () => {}, maxChars = MAX_MESSAGE_CHARS }) {
  const input = form.querySelector('textarea');
  const button = form.querySelector('button[type="submit"]');
  const error = form.querySelector('.form-error');
  input.removeAttribute('maxlength');
  const counterId = `${input.id || 'composer'}-count`;
  const counter = el('p', { id: counterId, class: 'counter help' });
  const splitButton = el('button', { type: 'button', class: 'split', hidden: true });
  const row = form.querySelector('.composer-row') || input;
  row.after(counter, splitButton);
  input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${counterId}`.trim());
  let sending = false;

  function overBy() {
    return charCount(input.value) - maxChars;
  }

  function showCount() {
    const n = charCount(input.value);
    const over = n - maxChars;
    const fmt = (v) => v.toLocaleString('en');
    if (over > 0) {
      counter.textContent = `${fmt(n)} of ${fmt(maxChars)} characters: ${fmt(over)} too many.`;
      counter.dataset.kind = 'error';
      input.setAttribute('aria-invalid', 'true');
      const parts = splitText(input.value, maxChars).length;
      splitButton.textContent = `Send as ${parts} messages`;
      splitButton.hidden = false;
    } else {
      counter.textContent = n > maxChars * 0.8 ? `${fmt(n)} of ${fmt(maxChars)} characters.` : '';
      counter.dataset.kind = 'info';
      input.removeAttribute('aria-invalid');
      splitButton.hidden = true;
    }
    counter.hidden = !counter.textContent;
  }

  async function deliver(bodies) {
    sending = true;
    button.disabled = true;
    splitButton.disabled = true;
    say(error, '');
    try {
      for (let i = 0; i < bodies.length; i += 1) {
        try {
          await onSend(bodies[i]);
        } catch (failure) {
          // What was not sent stays in the box.
          input.value = bodies.slice(i).join('\n');
          throw failure;
        }
      }
      input.value = '';
    } catch (failure) {
      say(error, describeError(failure), 'error');
    } finally {
      sending = false;
      button.disabled = input.disabled;
      splitButton.disabled = false;
      showCount();
      input.focus();
    }
  }

  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  input.addEventListener('input', () => {
    say(error, '');
    showCount();
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
    const over = overBy();
    if (over > 0) {
      const parts = splitText(body, maxChars).length;
      say(error, `Not sent: this message is ${charCount(body).toLocaleString('en')} characters and the limit is ${maxChars.toLocaleString('en')}. Shorten it by ${over.toLocaleString('en')}, or send it as ${parts} messages.`, 'error');
      input.focus();
      return;
    }
    await deliver([body]);
  });
  splitButton.addEventListener('click', () => {
    if (sending || input.disabled) return;
    deliver(splitText(input.value, maxChars));
  });
  showCount();
  return {
    input,
    setEnabled(enabled, placeholder) {
      input.disabled = !enabled;
      button.disabled = !enabled;
      splitButton.disabled = !enabled;
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
