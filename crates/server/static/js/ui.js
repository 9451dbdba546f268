// Small DOM helpers shared by the pages.

/** `el('li', {class: 'x', text: 'hi'}, child, ...)`: builds an element; text is never parsed as HTML. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const TOPICS = { loan: 'Loan', payment: 'Payment', other: 'Other' };

export function topicName(type) {
  return TOPICS[type] || String(type);
}

/** A time of day, e.g. `10:04`, or date and time when not today. */
export function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const today = new Date().toDateString() === date.toDateString();
  const time = date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return today ? time : date.toLocaleDateString() + ' ' + time;
}

/** `5 min`, `2 h 3 min`: how long ago. */
export function formatWaiting(iso) {
  if (!iso) return '';
  const minutes = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Shows a message in a status/alert element (empty text hides it). */
export function say(node, text, kind = 'info') {
  if (!node) return;
  node.textContent = text || '';
  node.dataset.kind = kind;
  node.hidden = !text;
}

/** The signed-in banner: name, role and a log-out button. */
export function showIdentity(container, user, onLogOut) {
  container.replaceChildren(
    el('span', { class: 'who', text: `Signed in as ${user.username} (${user.role})` }),
    el('button', { type: 'button', class: 'link-button', onclick: onLogOut, text: 'Log out' }),
  );
}
