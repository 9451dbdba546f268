// People by name, never by number: staff pages look user ids up once (`GET /api/v1/users/{id}`)
// and every label showing that person fills in when the name arrives.

import { api } from './api.js';
import { el } from './ui.js';

export class Names {
  /** @param {object} options `fallback(id)`: what to show until (or unless) the name is known. */
  constructor({ fallback = () => 'someone' } = {}) {
    this.known = new Map();
    this.pending = new Map();
    this.fallback = fallback;
  }

  /** Records a name the page already has (a queue entry, an event), so it is never fetched. */
  remember(id, username) {
    if (id === null || id === undefined || !username) return;
    if (this.known.get(id) === username) return;
    this.known.set(id, username);
    this.fill(id);
  }

  /** The name if known (and starts fetching it if not), else null. */
  peek(id) {
    if (this.known.has(id)) return this.known.get(id);
    this.resolve(id);
    return null;
  }

  /** Resolves to the name, or null for a user that no longer exists or cannot be read. */
  resolve(id) {
    if (id === null || id === undefined) return Promise.resolve(null);
    if (this.known.has(id)) return Promise.resolve(this.known.get(id));
    if (!this.pending.has(id)) {
      const lookup = api('GET', `/api/v1/users/${encodeURIComponent(id)}`)
        .then((user) => {
          if (user && user.username) this.remember(id, user.username);
          return (user && user.username) || null;
        })
        .catch((failure) => {
          if (failure && failure.status === 404) this.remember(id, 'a former user');
          return this.known.get(id) || null;
        })
        .finally(() => this.pending.delete(id));
      this.pending.set(id, lookup);
    }
    return this.pending.get(id);
  }

  /** A name to put in running text now (the fallback until the name is known). */
  text(id) {
    return this.peek(id) || this.fallback(id);
  }

  /** An inline element showing the person's name, filled in when it arrives. */
  label(id, fallback) {
    const node = el('span', { class: 'person', dataset: { userId: id }, text: this.peek(id) || fallback || this.fallback(id) });
    return node;
  }

  fill(id) {
    const name = this.known.get(id);
    for (const node of document.querySelectorAll(`.person[data-user-id="${CSS.escape(String(id))}"]`)) {
      node.textContent = name;
    }
  }
}
