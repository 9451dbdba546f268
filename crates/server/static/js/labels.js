// Labels on conversations: the catalogue of labels (`GET /api/v1/labels`), coloured chips that
// name them (text black or white, whichever reads better on the colour), and the open
// conversation's labels with "Add label" and a remove button per chip, kept live by
// `thread.labels` events.

import { api } from './api.js';
import { describeError } from './conversation.js';
import { el, say } from './ui.js';

/** The relative luminance of `#rrggbb` (WCAG), or null when it is not such a colour. */
function luminance(hex) {
  const match = /^#?([0-9a-f]{6})$/i.exec(String(hex || '').trim());
  if (!match) return null;
  const value = parseInt(match[1], 16);
  const channel = (shift) => {
    const c = ((value >> shift) & 255) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(16) + 0.7152 * channel(8) + 0.0722 * channel(0);
}

/**
 * Colours a chip: its background is the label's colour, its text black or white (whichever
 * contrasts more; one of them always reaches 4.5:1). CSSOM, so the page's CSP allows it.
 */
function paint(node, color) {
  const light = luminance(color);
  if (light === null) return;
  node.style.backgroundColor = color;
  node.style.borderColor = color;
  // Contrast with black: (L + 0.05) / 0.05; with white: 1.05 / (L + 0.05).
  node.style.color = (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) ? '#000000' : '#ffffff';
}

/** A chip naming a label; `extra` nodes (a remove button) go inside it. */
export function labelChip(label, ...extra) {
  const chip = el('li', { class: 'chip', dataset: { labelId: label.id } }, el('span', { class: 'chip-name', text: label.name }), ...extra);
  paint(chip, label.color);
  return chip;
}

/** A list of chips for a thread's labels (null when it has none). */
export function labelChips(labels, name = 'Labels') {
  if (!labels || labels.length === 0) return null;
  return el('ul', { class: 'chips', 'aria-label': name }, labels.map((label) => labelChip(label)));
}

/** Every label there is, loaded once and again on demand; listeners hear when it changes. */
export class LabelCatalog {
  constructor() {
    this.labels = [];
    this.listeners = [];
  }

  /** Re-reads the labels (a failure keeps what was known). */
  async load() {
    try {
      const data = await api('GET', '/api/v1/labels');
      this.labels = ((data && data.items) || []).slice().sort((a, b) => a.name.localeCompare(b.name));
      for (const listener of this.listeners) listener(this.labels);
    } catch {
      // Kept: the previous list; the select says what it has.
    }
    return this.labels;
  }

  /** Learns labels seen on threads or in events (a label created since the last load). */
  learn(labels) {
    let added = false;
    for (const label of labels || []) {
      if (!this.labels.some((known) => known.id === label.id)) {
        this.labels.push(label);
        added = true;
      }
    }
    if (added) {
      this.labels.sort((a, b) => a.name.localeCompare(b.name));
      for (const listener of this.listeners) listener(this.labels);
    }
  }

  onChange(listener) {
    this.listeners.push(listener);
  }
}

/** The open conversation's labels: chips with remove buttons and a select to add one. */
export class ThreadLabels {
  /** @param {object} parts `{box, list, empty, form, select, error}` elements. */
  constructor(parts, catalog) {
    this.parts = parts;
    this.catalog = catalog;
    this.threadId = null;
    this.labels = [];
    catalog.onChange(() => this.fillSelect());
    // A label an admin made since the page loaded shows up when the select is used.
    parts.select.addEventListener('focus', () => catalog.load());
    parts.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.add();
    });
  }

  /** Shows a thread's labels (null hides the box). */
  show(thread) {
    this.threadId = thread ? thread.id : null;
    this.parts.box.hidden = !thread;
    say(this.parts.error, '');
    this.set(thread ? thread.labels || [] : []);
  }

  /** The thread's labels now (from the thread, an answer or a `thread.labels` event). */
  update(threadId, labels) {
    if (threadId !== this.threadId) return;
    this.set(labels || []);
  }

  set(labels) {
    this.labels = labels;
    this.catalog.learn(labels);
    const { list, empty } = this.parts;
    const focusedId = document.activeElement && list.contains(document.activeElement)
      ? document.activeElement.closest('.chip').dataset.labelId
      : null;
    list.replaceChildren(...labels.map((label) => labelChip(label, el('button', {
      type: 'button',
      class: 'chip-remove',
      'aria-label': `Remove label ${label.name}`,
      title: `Remove label ${label.name}`,
      text: '×',
      onclick: () => this.remove(label),
    }))));
    list.hidden = labels.length === 0;
    empty.hidden = labels.length > 0;
    if (focusedId !== null) {
      // The chip whose button had focus went away: keep the keyboard in the box.
      const again = list.querySelector(`.chip[data-label-id="${CSS.escape(focusedId)}"] button`);
      (again || this.parts.select).focus();
    }
    this.fillSelect();
  }

  /** The select offers the labels the thread does not have yet. */
  fillSelect() {
    const { select, form } = this.parts;
    const chosen = select.value;
    const on = new Set(this.labels.map((label) => label.id));
    const options = this.catalog.labels.filter((label) => !on.has(label.id));
    select.replaceChildren(
      el('option', { value: '', text: options.length ? 'Choose a label' : 'No more labels' }),
      ...options.map((label) => el('option', { value: String(label.id), text: label.name })),
    );
    if (options.some((label) => String(label.id) === chosen)) select.value = chosen;
    form.querySelector('button').disabled = options.length === 0;
  }

  async add() {
    const { select, error } = this.parts;
    const threadId = this.threadId;
    const labelId = Number(select.value);
    if (!threadId) return;
    if (!labelId) {
      say(error, 'Choose a label to add.', 'error');
      select.focus();
      return;
    }
    say(error, '');
    try {
      const answer = await api('POST', `/api/v1/threads/${threadId}/labels`, { label_id: labelId });
      if (answer && answer.labels) this.update(threadId, answer.labels);
      select.focus();
    } catch (failure) {
      say(error, `The label could not be added: ${describeError(failure)}`, 'error');
    }
  }

  async remove(label) {
    const threadId = this.threadId;
    say(this.parts.error, '');
    try {
      const answer = await api('DELETE', `/api/v1/threads/${threadId}/labels/${label.id}`);
      if (answer && answer.labels) this.update(threadId, answer.labels);
    } catch (failure) {
      say(this.parts.error, `The label could not be removed: ${describeError(failure)}`, 'error');
    }
  }
}
