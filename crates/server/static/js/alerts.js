// Telling an agent that a conversation came to them (assigned by the router, or transferred):
// a notice on the page with a button to open it, and the browser's notification when the agent
// allowed it (asked only from a click, as browsers require).

import { say } from './ui.js';

export class AssignmentAlerts {
  /**
   * @param {object} parts `box` (the notice), `text`, `open` and `dismiss` buttons, `permission`
   *   (the button that asks for desktop alerts).
   * @param {function} onOpen called with the thread id when the agent opens it from the notice.
   */
  constructor(parts, onOpen) {
    this.parts = parts;
    this.threadId = null;
    parts.open.addEventListener('click', () => {
      const id = this.threadId;
      this.hide();
      if (id !== null) onOpen(id);
    });
    parts.dismiss.addEventListener('click', () => this.hide());
    parts.permission.addEventListener('click', async () => {
      try {
        await Notification.requestPermission();
      } catch {
        // An old browser without the promise form: nothing to do.
      }
      this.showPermissionButton(true);
    });
    this.onOpen = onOpen;
  }

  /** Offers the desktop-alert button while the browser has not been asked yet. */
  showPermissionButton(enabled) {
    const can = enabled && 'Notification' in window && Notification.permission === 'default';
    this.parts.permission.hidden = !can;
  }

  /** Shows a notice for a conversation that is now the agent's. */
  tell(threadId, text) {
    this.threadId = threadId;
    say(this.parts.text, text);
    this.parts.text.hidden = false;
    this.parts.box.hidden = false;
    if ('Notification' in window && Notification.permission === 'granted') {
      try {
        const note = new Notification('Support chat', { body: text, tag: `thread-${threadId}` });
        note.onclick = () => {
          window.focus();
          this.hide();
          this.onOpen(threadId);
          note.close();
        };
      } catch {
        // Some browsers allow notifications only from a service worker: the page notice stays.
      }
    }
  }

  hide() {
    this.threadId = null;
    this.parts.box.hidden = true;
  }
}
