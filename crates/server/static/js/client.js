// The client's page: pick a topic, write, and follow that topic's thread live.

import { api, logOut, newClientMessageId, requireSession } from './api.js';
import { Conversation, bindAttach, bindComposer, describeError, isTransient } from './conversation.js';
import { say, showIdentity, topicName } from './ui.js';

const current = requireSession(['client']);
if (current) start(current);

function start({ user }) {
  showIdentity(document.getElementById('identity'), user, logOut);
  const topicForm = document.getElementById('topic-form');
  const title = document.getElementById('conversation-title');
  const pageError = document.getElementById('page-error');
  const emptyHint = document.getElementById('empty-hint');
  const parts = {
    list: document.getElementById('messages'),
    typing: document.getElementById('typing'),
    status: document.getElementById('connection'),
    jump: document.getElementById('jump-newest'),
  };
  let threads = [];
  let topic = 'loan';
  let conversation = null;
  const rating = bindRating(document.getElementById('rating-form'));

  const composer = bindComposer(document.getElementById('composer'), {
    onSend: async (body) => {
      if (conversation) {
        await conversation.send(body);
      } else {
        const created = await startThread(topic, body);
        threads = threads.filter((t) => t.id !== created.thread.id).concat(created.thread);
        await join(created.thread);
        conversation.add(created.message);
      }
      emptyHint.hidden = true;
    },
    onTyping: () => conversation && conversation.typing(),
  });
  const attachStatus = document.getElementById('attach-status');
  bindAttach(document.getElementById('attach-input'), {
    send: (file) => conversation && conversation.sendFile(file),
    report: (text) => say(attachStatus, text, text ? 'error' : undefined),
  });

  /**
   * Opens a thread with its first message. While the server cannot be reached the message waits
   * (the text stays in the box, marked pending) and is sent, with the same client_message_id so
   * it is stored once, as soon as the server answers again.
   */
  async function startThread(type, body) {
    const request = { thread_type: type, body, client_message_id: newClientMessageId() };
    let delay = 2000;
    for (;;) {
      try {
        const created = await api('POST', '/api/v1/threads', request);
        say(pageError, '');
        return created;
      } catch (failure) {
        if (!isTransient(failure)) throw failure;
        say(pageError, 'Not sent yet: your message will be sent when the connection is back.', 'warn');
        await new Promise((resolve) => {
          const wake = () => { window.removeEventListener('online', wake); clearTimeout(timer); resolve(); };
          const timer = setTimeout(wake, delay);
          window.addEventListener('online', wake);
        });
        delay = Math.min(30000, delay * 2);
      }
    }
  }

  /** The client's latest thread on a topic. */
  function threadFor(type) {
    return threads
      .filter((t) => t.thread_type === type)
      .sort((a, b) => Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at))[0];
  }

  async function join(thread) {
    if (conversation) conversation.close({ flushRead: true });
    conversation = new Conversation(parts, {
      thread,
      me: user,
      live: true,
      markRead: true,
      peerName: 'An agent',
      nameFor: (m) => (m.sender_role === 'client' ? user.username : 'Agent'),
      onDenied: (reason) => say(pageError, reason || 'The live connection was refused.', 'error'),
      onEvent: (frame) => {
        if (frame.type === 'thread.status' && frame.thread_id === thread.id) {
          thread.status = frame.status;
          rating.show(thread);
        }
      },
    });
    rating.show(thread);
    await conversation.open();
    emptyHint.hidden = conversation.bySeq.size > 0;
  }

  async function showTopic(type) {
    topic = type;
    title.textContent = topicName(type);
    say(pageError, '');
    if (conversation) conversation.close({ flushRead: true });
    conversation = null;
    rating.show(null);
    parts.list.replaceChildren();
    const thread = threadFor(type);
    emptyHint.hidden = Boolean(thread);
    if (thread) {
      try {
        await join(thread);
      } catch (failure) {
        say(pageError, describeError(failure), 'error');
      }
    }
  }

  topicForm.addEventListener('change', (event) => {
    if (event.target.name === 'topic') showTopic(event.target.value);
  });

  (async () => {
    try {
      const data = await api('GET', '/api/v1/threads');
      threads = (data && data.items) || [];
    } catch (failure) {
      say(pageError, describeError(failure), 'error');
    }
    const latest = [...threads].sort((a, b) => Date.parse(b.last_activity_at) - Date.parse(a.last_activity_at))[0];
    const first = latest ? latest.thread_type : 'loan';
    const radio = topicForm.querySelector(`input[value="${first}"]`);
    if (radio) radio.checked = true;
    await showTopic(first);
    composer.focus();
  })();
}

/**
 * The rating a resolved conversation asks for: 1 to 5 and an optional comment, sent once per
 * resolution (`POST /api/v1/threads/{id}/rating`; a second one is answered `already_rated`).
 */
function bindRating(form) {
  const result = form.querySelector('#rating-result');
  const button = form.querySelector('button[type="submit"]');
  let thread = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!thread) return;
    const data = new FormData(form);
    const score = Number(data.get('score'));
    const comment = String(data.get('comment') || '').trim();
    button.disabled = true;
    try {
      await api('POST', `/api/v1/threads/${thread.id}/rating`, { score, comment: comment || null });
      say(result, 'Thank you for your rating.', 'ok');
      form.querySelector('fieldset').disabled = true;
    } catch (failure) {
      if (failure && failure.code === 'already_rated') {
        say(result, 'You have rated this conversation already. Thank you.', 'ok');
        form.querySelector('fieldset').disabled = true;
      } else {
        say(result, describeError(failure), 'error');
        button.disabled = false;
      }
    }
  });
  return {
    /** Shows the form for a resolved thread (a fresh one per resolution), hides it otherwise. */
    show(next) {
      const resolved = Boolean(next && next.status === 'resolved');
      const fresh = !thread || !next || thread.id !== next.id || form.hidden;
      thread = next;
      if (resolved && fresh) {
        form.reset();
        form.querySelector('fieldset').disabled = false;
        button.disabled = false;
        say(result, '');
      }
      form.hidden = !resolved;
    },
  };
}
