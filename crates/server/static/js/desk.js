// "Find conversations": staff's list of every conversation (`GET /api/v1/threads`), filtered by
// assignee (Assigned to me / Unassigned / Anyone), status, label, topic, days of last activity
// (the agent's own calendar days), waiting and text. The first page asks for
// `counts` (the badges); "Load more" follows `next_cursor`. Items name the client and labels, never
// ids, and open the conversation as the queue does.

import { api } from './api.js';
import { describeError } from './conversation.js';
import { labelChips } from './labels.js';
import { el, formatTime, say, topicName } from './ui.js';

const PAGE_SIZE = 20;
/** Live changes (claims, statuses, new conversations) re-read the list at most this often. */
const REFRESH_AFTER_MS = 2000;
const STATUS_NAMES = { open: 'Open', pending: 'Pending', resolved: 'Resolved' };

/** Local midnight of a `YYYY-MM-DD` day plus `days`, as RFC 3339 (UTC); '' for no day. */
function dayStart(day, days) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || '');
  if (!match) return '';
  const date = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days);
  return Number.isNaN(date.getTime()) ? '' : date.toISOString();
}

export class ConversationFinder {
  /**
   * @param {object} parts `{root, title, assignee (buttons), form, status, label, type,
   *   activeFrom, activeTo (date inputs), waiting, q,
   *   counts (nodes with data-count), line, list, more}`.
   * @param {object} options `names` (Names), `catalog` (LabelCatalog), `me`, `open(threadId)`.
   */
  constructor(parts, { names, catalog, me, open }) {
    this.parts = parts;
    this.names = names;
    this.catalog = catalog;
    this.me = me;
    this.openThread = open;
    this.assignee = '';
    this.items = [];
    this.next = null;
    this.total = null;
    this.pages = 0;
    this.ticket = 0;
    this.refreshTimer = null;
    this.loadingMore = false;
    catalog.onChange(() => this.fillLabels());
    parts.label.addEventListener('focus', () => catalog.load());
    for (const button of parts.assignee) {
      button.addEventListener('click', () => {
        this.assignee = button.dataset.assignee;
        for (const other of parts.assignee) other.setAttribute('aria-pressed', String(other === button));
        this.load();
      });
    }
    for (const input of [parts.status, parts.label, parts.type, parts.activeFrom, parts.activeTo, parts.waiting]) {
      input.addEventListener('change', () => this.load());
    }
    parts.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load();
    });
    parts.more.addEventListener('click', () => this.load({ more: true }));
  }

  /** The label select: "Any label" and every label by name (the choice kept). */
  fillLabels() {
    const { label } = this.parts;
    const chosen = label.value;
    label.replaceChildren(
      el('option', { value: '', text: 'Any label' }),
      ...this.catalog.labels.map((item) => el('option', { value: String(item.id), text: item.name })),
    );
    if (this.catalog.labels.some((item) => String(item.id) === chosen)) label.value = chosen;
  }

  query(cursor) {
    const { status, label, type, activeFrom, activeTo, waiting, q } = this.parts;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (this.assignee) params.set('assignee', this.assignee);
    if (status.value) params.set('status', status.value);
    if (label.value) params.set('label', label.value);
    if (type.value) params.set('thread_type', type.value);
    // Whole days in the agent's time zone: from the first day's midnight to the midnight after
    // the last day (the API's `to` is exclusive).
    const from = dayStart(activeFrom.value, 0);
    if (from) params.set('active_from', from);
    const to = dayStart(activeTo.value, 1);
    if (to) params.set('active_to', to);
    if (waiting.checked) params.set('waiting', 'true');
    const text = q.value.trim();
    if (text) params.set('q', text);
    if (cursor) params.set('cursor', cursor);
    // Counts are the same for every page of one query: asked for on the first only.
    else params.set('counts', 'true');
    return params;
  }

  /**
   * Something changed live: the first page is read again soon (quietly, focus kept). A list
   * grown by "Load more" is left as it is, so the agent does not lose their place.
   */
  refreshSoon() {
    if (this.refreshTimer || this.pages > 1) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      if (this.pages <= 1) this.load({ quiet: true });
    }, REFRESH_AFTER_MS);
  }

  /** Loads the first page (or, with `more`, the next one) for the filters as they are now. */
  async load({ more = false, quiet = false } = {}) {
    if (more && !this.next) return;
    // A quiet re-read never overtakes the page the agent asked for.
    if (quiet && this.loadingMore) return;
    const ticket = ++this.ticket;
    this.loadingMore = more;
    const { line, more: moreButton } = this.parts;
    if (!quiet) say(line, 'Loading…');
    try {
      const data = await api('GET', `/api/v1/threads?${this.query(more ? this.next : null)}`);
      if (ticket !== this.ticket) return;
      const items = (data && data.items) || [];
      for (const item of items) {
        this.names.remember(item.client_id, item.client_username);
        if (item.claim) this.names.remember(item.claim.agent_id, item.claim.agent_username);
        this.catalog.learn(item.labels);
      }
      const firstNew = this.items.length;
      this.items = more ? [...this.items, ...items] : items;
      this.next = (data && data.next_cursor) || null;
      this.pages = more ? this.pages + 1 : 1;
      if (!more) this.showCounts(data && data.counts);
      this.render();
      moreButton.hidden = !this.next;
      const shown = this.items.length;
      if (!more) this.total = data && Number.isInteger(data.total) ? data.total : null;
      const of = this.total !== null ? ` of ${this.total}` : this.next ? '+' : '';
      const text = shown === 0 ? 'No conversations match.' : `Showing ${shown}${of} conversation${shown === 1 ? '' : 's'}.`;
      // The same words again are not announced again.
      if (line.textContent !== text || line.hidden) say(line, text);
      if (more && !this.next) {
        // "Load more" went away: keep the keyboard on the first conversation it brought.
        const button = this.parts.list.children[firstNew]?.querySelector('button');
        if (button) button.focus();
      }
    } catch (failure) {
      if (ticket !== this.ticket) return;
      say(line, `The conversations could not be loaded: ${describeError(failure)}`, 'error');
    } finally {
      if (ticket === this.ticket) this.loadingMore = false;
    }
  }

  /** Badges: `counts` {mine, unassigned, waiting, open, pending, resolved}. */
  showCounts(counts) {
    if (!counts) return;
    for (const node of this.parts.counts) {
      const value = counts[node.dataset.count];
      node.textContent = Number.isInteger(value) ? `(${value})` : '';
    }
    for (const option of this.parts.status.options) {
      if (!option.value) continue;
      const value = counts[option.value];
      option.textContent = `${STATUS_NAMES[option.value]}${Number.isInteger(value) ? ` (${value})` : ''}`;
    }
  }

  /** A `thread.labels` event: the item's chips change in place. */
  applyLabels(threadId, labels) {
    const item = this.items.find((entry) => entry.id === threadId);
    if (!item) return;
    item.labels = labels || [];
    this.render();
  }

  render() {
    const { list } = this.parts;
    const focused = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.closest('li.queue-item').dataset.threadId
      : null;
    list.replaceChildren(...this.items.map((item) => this.renderItem(item)));
    if (focused) {
      const again = list.querySelector(`li[data-thread-id="${CSS.escape(focused)}"] button`);
      if (again) again.focus();
    }
  }

  renderItem(item) {
    const client = this.names.text(item.client_id);
    const topic = topicName(item.thread_type);
    const headingId = `desk-item-${item.id}`;
    const claim = item.claim && Date.parse(item.claim.until) > Date.now() ? item.claim : null;
    const holder = claim
      ? (claim.agent_id === this.me.id ? 'you' : claim.agent_username || this.names.text(claim.agent_id))
      : null;
    const status = STATUS_NAMES[item.status] || item.status;
    return el(
      'li',
      { class: 'queue-item desk-item', dataset: { threadId: item.id }, 'aria-labelledby': headingId },
      el('div', { class: 'queue-item-head' }, el('h3', { id: headingId }, this.names.label(item.client_id, client), ` · ${topic}`)),
      labelChips(item.labels, `Labels of ${client}'s conversation`),
      el('p', { class: 'waiting', text: `${status}${item.waiting_since ? ' · waiting for a reply' : ''} · last activity ${formatTime(item.last_activity_at)}` }),
      holder ? el('p', { class: 'claim', text: `Held by ${holder}` }) : null,
      el('div', { class: 'actions' }, el('button', {
        type: 'button',
        'aria-label': `Open ${client}'s ${topic} conversation`,
        text: 'Open',
        onclick: () => this.openThread(item.id),
      })),
    );
  }
}
