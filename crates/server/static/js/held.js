// The conversations this agent holds, all of them, not only the one on screen: each claim is
// renewed before its lease runs out while the agent is at the console (recent input, or the page
// in view), unread client messages are counted per conversation, and the list survives a reload
// (thread ids in localStorage, checked against the server on load).

import { api } from './api.js';

const TICK_MS = 10000;
/** No input for this long, with the page hidden, and the agent counts as away: claims may lapse. */
const IDLE_AFTER_MS = 10 * 60 * 1000;
const MIN_LEASE_MS = 20000;

export class HeldClaims {
  /**
   * @param {object} me the signed-in user.
   * @param {object} hooks `onChange()` after any change, `onLost(threadId, failure)` when a
   *   renewal is refused (the claim is gone).
   */
  constructor(me, { onChange = () => {}, onLost = () => {} } = {}) {
    this.me = me;
    this.onChange = onChange;
    this.onLost = onLost;
    /** thread id -> {threadId, until, leaseMs, unread, entry} */
    this.claims = new Map();
    this.lastSeen = Date.now();
    this.timer = null;
    this.renewing = new Set();
    const seen = () => { this.lastSeen = Date.now(); };
    for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
      document.addEventListener(type, seen, { passive: true, capture: true });
    }
    window.addEventListener('focus', seen);
    document.addEventListener('visibilitychange', seen);
  }

  key() {
    return `chat.held.${this.me.id}`;
  }

  has(threadId) {
    return this.claims.has(threadId);
  }

  get(threadId) {
    return this.claims.get(threadId) || null;
  }

  list() {
    return [...this.claims.values()];
  }

  get unreadTotal() {
    let n = 0;
    for (const claim of this.claims.values()) n += claim.unread;
    return n;
  }

  /** Whether the agent is at the console (then held claims are kept alive). */
  present() {
    return document.visibilityState === 'visible' || Date.now() - this.lastSeen < IDLE_AFTER_MS;
  }

  /** Records (or updates) a claim of this agent; `entry` is what lists show for it. */
  hold(threadId, until, entry = null) {
    const known = this.claims.get(threadId);
    const leaseMs = Math.max(MIN_LEASE_MS, Date.parse(until) - Date.now());
    if (known) {
      known.until = until;
      known.leaseMs = Math.max(known.leaseMs, leaseMs);
      if (entry) known.entry = entry;
    } else {
      this.claims.set(threadId, { threadId, until, leaseMs, unread: 0, entry });
    }
    this.save();
    this.onChange();
  }

  drop(threadId) {
    if (!this.claims.delete(threadId)) return;
    this.save();
    this.onChange();
  }

  setUnread(threadId, unread) {
    const claim = this.claims.get(threadId);
    if (!claim || claim.unread === unread) return;
    claim.unread = unread;
    this.onChange();
  }

  addUnread(threadId) {
    const claim = this.claims.get(threadId);
    if (claim) this.setUnread(threadId, claim.unread + 1);
  }

  save() {
    try {
      localStorage.setItem(this.key(), JSON.stringify([...this.claims.keys()]));
    } catch {
      // Unavailable storage: the list lasts as long as the page.
    }
  }

  /** Finds again, after a reload, the conversations this agent still holds. */
  async restore() {
    let ids = [];
    try {
      ids = JSON.parse(localStorage.getItem(this.key()) || '[]');
    } catch {
      ids = [];
    }
    await Promise.all((Array.isArray(ids) ? ids : []).filter(Number.isInteger).map(async (id) => {
      try {
        const thread = await api('GET', `/api/v1/threads/${id}`);
        const claim = thread && thread.claim;
        if (claim && claim.agent_id === this.me.id && Date.parse(claim.until) > Date.now()) {
          this.hold(id, claim.until, { thread });
        }
      } catch {
        // Gone or unreadable: not ours any more.
      }
    }));
    this.save();
    this.onChange();
  }

  /** Starts renewing every held claim at half its lease while the agent is present. */
  start() {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  tick() {
    if (!this.present()) return;
    const now = Date.now();
    for (const claim of this.claims.values()) {
      const left = Date.parse(claim.until) - now;
      if (left < claim.leaseMs / 2) this.renew(claim.threadId);
    }
  }

  /** Renews one claim now; a refusal means it is gone. Resolves to the new end or null. */
  async renew(threadId) {
    if (this.renewing.has(threadId)) return null;
    this.renewing.add(threadId);
    try {
      const result = await api('POST', `/api/v1/threads/${threadId}/claim/renew`);
      if (this.claims.has(threadId)) this.hold(threadId, result.until);
      return result.until;
    } catch (failure) {
      if ([403, 404, 409].includes(failure.status)) {
        this.drop(threadId);
        this.onLost(threadId, failure);
      }
      return null;
    } finally {
      this.renewing.delete(threadId);
    }
  }
}
