// The agent console: the live queue (most urgent first), claiming, the conversation with the
// client's context beside it, canned replies, release/resolve, and search.

import { api, logOut, requireSession, session } from './api.js';
import { Conversation, bindComposer, describeError } from './conversation.js';
import { LiveSocket } from './live.js';
import { el, formatTime, formatWaiting, say, showIdentity, topicName } from './ui.js';

const QUEUE_REFETCH_DEBOUNCE_MS = 250;
const QUEUE_REFRESH_EVERY_MS = 60000;

const current = requireSession(['agent', 'admin']);
if (current) start(current);

function start({ user: me }) {
  const $ = (id) => document.getElementById(id);
  showIdentity($('identity'), me, logOut);

  const alertBox = $('console-alert');
  const queueList = $('queue');
  const queueEmpty = $('queue-empty');
  const title = $('conversation-title');
  const claimState = $('claim-state');
  const actions = $('thread-actions');
  const claimButton = $('claim-button');
  const releaseButton = $('release-button');
  const resolveButton = $('resolve-button');
  const hint = $('conversation-hint');
  const cannedSelect = $('canned-select');
  const cannedInsert = $('canned-insert');
  const parts = { list: $('messages'), typing: $('typing'), status: $('connection') };

  /** Queue entries as the server last sent them (unclaimed threads with a client waiting). */
  let queue = [];
  /**
   * Threads seen in the queue and then claimed (by anyone): thread id -> {entry, claim}. The server's
   * queue leaves claimed threads out; the console keeps them listed, marked taken, until the claim
   * ends, so an agent sees at once who took what.
   */
  const held = new Map();
  /** The open conversation: {thread, live, conversation, clientName}. */
  let open = null;
  let renewTimer = null;
  let queueTimer = null;

  const composer = bindComposer($('composer'), {
    onSend: (body) => {
      if (!open || !open.live) throw new Error('Claim the conversation before replying.');
      return open.conversation.send(body);
    },
    onTyping: () => open && open.live && open.conversation.typing(),
  });
  composer.setEnabled(false, 'Claim a conversation to reply');

  function alertUser(text, kind = 'error') {
    say(alertBox, text, kind);
  }

  // ---- claims -------------------------------------------------------------------------------

  /** The live claim on a thread, as far as this page knows: {agent_id, until} or null. */
  function claimOf(thread) {
    const seen = held.has(thread.id) ? held.get(thread.id).claim : thread.claim;
    if (!seen || !seen.until || Date.parse(seen.until) <= Date.now()) return null;
    return seen;
  }

  /** Records a claim on a thread; it stays listed (marked) if the queue knew it. */
  function noteClaim(threadId, claimNow) {
    const known = held.get(threadId);
    const entry = (known && known.entry) || queue.find((item) => item.thread.id === threadId)
      || (open && open.thread.id === threadId ? { thread: open.thread, client_username: open.clientName } : null);
    if (entry) held.set(threadId, { entry, claim: claimNow });
  }

  function forgetClaim(threadId) {
    held.delete(threadId);
  }

  function claimText(claim) {
    if (!claim) return 'Not claimed.';
    if (claim.agent_id === me.id) return `Claimed by you until ${formatTime(claim.until)}.`;
    return `Taken by agent ${claim.agent_id} until ${formatTime(claim.until)}.`;
  }

  async function claim(threadId) {
    alertUser('');
    try {
      const result = await api('POST', `/api/v1/threads/${threadId}/claim`);
      noteClaim(threadId, { agent_id: result.agent_id, until: result.until });
      renderQueue();
      await openThread(threadId);
      composer.focus();
    } catch (failure) {
      if (failure.code === 'claimed') {
        noteClaim(threadId, { agent_id: failure.details.holder_id, until: failure.details.until });
        renderQueue();
        if (open && open.thread.id === threadId) showClaimState();
      }
      alertUser(describeError(failure));
      scheduleQueue();
    }
  }

  function scheduleRenew(until) {
    clearTimeout(renewTimer);
    const left = Date.parse(until) - Date.now();
    const delay = Math.max(5000, left / 2);
    renewTimer = setTimeout(renew, delay);
  }

  async function renew() {
    if (!open || !open.live) return;
    const threadId = open.thread.id;
    try {
      const result = await api('POST', `/api/v1/threads/${threadId}/claim/renew`);
      noteClaim(threadId, { agent_id: result.agent_id, until: result.until });
      if (open && open.thread.id === threadId) {
        open.thread.claim = { agent_id: result.agent_id, until: result.until };
        showClaimState();
        scheduleRenew(result.until);
      }
    } catch (failure) {
      if (failure.code === 'claimed' || failure.status === 409 || failure.status === 403) {
        lostClaim(threadId, describeError(failure));
      } else {
        renewTimer = setTimeout(renew, 10000);
      }
    }
  }

  /** The claim on the open thread is gone: say so and drop to read-only. */
  function lostClaim(threadId, text) {
    if (!open || open.thread.id !== threadId || !open.live) return;
    // Said once: the event that explains it comes first, the socket's close follows.
    open.live = false;
    composer.setEnabled(false, 'Claim the conversation to reply');
    alertUser(text);
    openThread(threadId).catch(() => {});
    scheduleQueue();
  }

  function showClaimState() {
    if (!open) return;
    const claimNow = claimOf(open.thread);
    claimState.textContent = claimText(claimNow);
    actions.hidden = false;
    const mine = Boolean(claimNow && claimNow.agent_id === me.id);
    claimButton.hidden = mine;
    releaseButton.hidden = !mine;
    resolveButton.hidden = open.thread.status === 'resolved';
  }

  // ---- the conversation ---------------------------------------------------------------------

  async function openThread(threadId) {
    clearTimeout(renewTimer);
    if (open) open.conversation.close();
    open = null;
    let thread;
    try {
      thread = await api('GET', `/api/v1/threads/${threadId}`);
    } catch (failure) {
      alertUser(describeError(failure));
      return;
    }
    if (held.has(threadId)) {
      if (thread.claim) held.get(threadId).claim = thread.claim;
      else forgetClaim(threadId);
    }
    const claimNow = claimOf(thread);
    const live = Boolean(claimNow && claimNow.agent_id === me.id);
    const entry = queue.find((item) => item.thread.id === threadId);
    const clientName = (entry && entry.client_username) || `Client ${thread.client_id}`;
    const conversation = new Conversation(parts, {
      thread,
      me,
      live,
      markRead: live,
      peerName: clientName,
      nameFor: (m) => (m.sender_role === 'client' ? clientName : `Agent ${m.sender_id}`),
      onEvent: (frame) => onThreadFrame(threadId, frame),
      onDenied: (reason) => lostClaim(threadId, `This conversation is no longer yours${reason ? ` (${reason})` : ''}.`),
    });
    open = { thread, live, conversation, clientName };
    title.textContent = `${clientName} · ${topicName(thread.thread_type)} · #${thread.id} (${thread.status})`;
    hint.hidden = true;
    parts.list.hidden = false;
    $('composer').hidden = false;
    showClaimState();
    composer.setEnabled(live, live ? '' : 'Claim the conversation to reply');
    cannedInsert.disabled = !live || cannedSelect.options.length === 0 || !cannedSelect.value;
    if (live) scheduleRenew(claimNow.until);
    renderQueue();
    loadContext(thread.client_id, thread.id);
    try {
      await conversation.open();
    } catch (failure) {
      alertUser(describeError(failure));
    }
  }

  function onThreadFrame(threadId, frame) {
    if (!open || open.thread.id !== threadId) return;
    if ((frame.type === 'released' || frame.type === 'expired') && frame.agent_id === me.id) {
      lostClaim(threadId, frame.type === 'expired' ? 'Your claim on this conversation expired.' : 'You released this conversation.');
    } else if (frame.type === 'taken_over' && frame.to !== me.id) {
      lostClaim(threadId, 'This conversation was taken by another agent.');
    } else if (frame.type === 'thread.status') {
      open.thread.status = frame.status;
      loadContext(open.thread.client_id, open.thread.id);
      title.textContent = `${open.clientName} · ${topicName(open.thread.thread_type)} · #${open.thread.id} (${frame.status})`;
      showClaimState();
    }
  }

  claimButton.addEventListener('click', () => open && claim(open.thread.id));

  releaseButton.addEventListener('click', async () => {
    if (!open) return;
    const threadId = open.thread.id;
    try {
      await api('DELETE', `/api/v1/threads/${threadId}/claim`);
      forgetClaim(threadId);
      alertUser(`You released conversation #${threadId}; it is back in the queue.`, 'info');
      await openThread(threadId);
    } catch (failure) {
      alertUser(describeError(failure));
    }
    scheduleQueue();
  });

  resolveButton.addEventListener('click', async () => {
    if (!open) return;
    const threadId = open.thread.id;
    const held = open.live;
    try {
      await api('PUT', `/api/v1/threads/${threadId}/status`, { status: 'resolved' });
      if (held) await api('DELETE', `/api/v1/threads/${threadId}/claim`).catch(() => {});
      forgetClaim(threadId);
      alertUser(`Conversation #${threadId} is resolved.`, 'info');
      await openThread(threadId);
    } catch (failure) {
      alertUser(describeError(failure));
    }
    scheduleQueue();
  });

  // ---- canned replies -----------------------------------------------------------------------

  async function loadCanned() {
    try {
      const data = await api('GET', '/api/v1/canned-replies');
      const items = (data && data.items) || [];
      if (items.length === 0) {
        cannedSelect.replaceChildren(el('option', { value: '', text: 'No canned replies yet' }));
      } else {
        cannedSelect.replaceChildren(
          el('option', { value: '', text: 'Choose a canned reply…' }),
          ...items.map((item) => el('option', { value: item.id, text: item.title })),
        );
      }
    } catch (failure) {
      cannedSelect.replaceChildren(el('option', { value: '', text: 'Canned replies unavailable' }));
    }
    cannedInsert.disabled = true;
  }

  cannedSelect.addEventListener('change', () => {
    cannedInsert.disabled = !cannedSelect.value || !open || !open.live;
  });

  cannedInsert.addEventListener('click', async () => {
    if (!open || !cannedSelect.value) return;
    try {
      const data = await api('GET', `/api/v1/canned-replies/${cannedSelect.value}/render?thread_id=${open.thread.id}`);
      const input = composer.input;
      const start = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? input.value.length;
      input.value = input.value.slice(0, start) + data.text + input.value.slice(end);
      input.focus();
      input.setSelectionRange(start + data.text.length, start + data.text.length);
    } catch (failure) {
      composer.setError(describeError(failure));
    }
  });

  // ---- client context -----------------------------------------------------------------------

  async function loadContext(clientId, threadId) {
    const dl = $('context');
    const list = $('context-threads');
    try {
      const ctx = await api('GET', `/api/v1/clients/${clientId}/context`);
      if (!open || open.thread.client_id !== clientId) return;
      $('context-title').textContent = `Client: ${ctx.username}`;
      dl.replaceChildren(
        el('dt', { text: 'Username' }), el('dd', { text: ctx.username }),
        el('dt', { text: 'Client since' }), el('dd', { text: formatTime(ctx.joined_at) }),
        el('dt', { text: 'Messages sent' }), el('dd', { text: String(ctx.messages_sent) }),
      );
      dl.hidden = false;
      $('context-empty').hidden = true;
      $('context-threads-title').hidden = false;
      list.replaceChildren(...(ctx.threads || []).map((t) => el(
        'li',
        { class: t.id === threadId ? 'current' : '' },
        el('span', { text: `${topicName(t.thread_type)} #${t.id} · ${t.status} · ${formatTime(t.last_activity_at)}` }),
        t.id === threadId
          ? el('span', { class: 'tag', text: 'open here' })
          : el('button', { type: 'button', class: 'link-button', text: 'Open', 'aria-label': `Open conversation #${t.id}`, onclick: () => openThread(t.id) }),
      )));
    } catch (failure) {
      $('context-empty').hidden = false;
      $('context-empty').textContent = `Client details unavailable: ${describeError(failure)}`;
    }
  }

  // ---- the queue ----------------------------------------------------------------------------

  async function loadQueue() {
    try {
      const data = await api('GET', '/api/v1/queue?limit=50');
      queue = (data && data.items) || [];
      for (const [threadId, { claim: claimNow }] of held) {
        const back = queue.some((item) => item.thread.id === threadId);
        if (back || !claimNow || Date.parse(claimNow.until) <= Date.now()) held.delete(threadId);
      }
      renderQueue();
    } catch (failure) {
      alertUser(`The queue could not be loaded: ${describeError(failure)}`);
    }
  }

  function scheduleQueue() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(loadQueue, QUEUE_REFETCH_DEBOUNCE_MS);
  }

  function renderQueue() {
    const focused = document.activeElement && document.activeElement.closest('#queue li');
    const focus = focused
      ? { id: focused.dataset.threadId, action: document.activeElement.dataset.action }
      : null;
    const listed = new Set(queue.map((item) => item.thread.id));
    const taken = [...held.values()].filter(({ entry }) => !listed.has(entry.thread.id)).map(({ entry }) => entry);
    queueList.replaceChildren(...queue.map(renderItem), ...taken.map(renderItem));
    queueEmpty.hidden = queue.length + taken.length > 0;
    if (focus) {
      const again = queueList.querySelector(`li[data-thread-id="${focus.id}"] [data-action="${focus.action}"]`);
      if (again) again.focus();
    }
  }

  function renderItem(item) {
    const { thread } = item;
    const claimNow = claimOf(thread);
    const mine = Boolean(claimNow && claimNow.agent_id === me.id);
    const taken = Boolean(claimNow && !mine);
    const name = item.client_username || `Client ${thread.client_id}`;
    const urgency = item.urgency || thread.urgency || { score: 0, reasons: [] };
    const headingId = `queue-item-${thread.id}`;
    const isOpen = open && open.thread.id === thread.id;
    return el(
      'li',
      {
        class: `queue-item${taken ? ' taken' : ''}${mine ? ' mine' : ''}${isOpen ? ' selected' : ''}`,
        dataset: { threadId: thread.id },
        'aria-labelledby': headingId,
      },
      el(
        'div',
        { class: 'queue-item-head' },
        el('h3', { id: headingId }, `${name} · ${topicName(thread.thread_type)}`),
        el('span', { class: 'score', title: 'Urgency score', 'aria-label': `Urgency ${urgency.score}`, text: String(urgency.score) }),
      ),
      item.first_waiting ? el('p', { class: 'snippet', text: item.first_waiting.body }) : null,
      urgency.reasons && urgency.reasons.length
        ? el('ul', { class: 'reasons', 'aria-label': 'Why it is urgent' }, urgency.reasons.map((r) => el('li', { text: r })))
        : null,
      el('p', { class: 'waiting', text: `${thread.status}${thread.waiting_since ? ` · waiting ${formatWaiting(thread.waiting_since)}` : ''}` }),
      claimNow ? el('p', { class: `claim ${mine ? 'mine' : 'taken'}`, text: claimText(claimNow) }) : null,
      el(
        'div',
        { class: 'actions' },
        el('button', {
          type: 'button',
          dataset: { action: 'open' },
          'aria-label': `Open conversation with ${name}`,
          text: 'Open',
          onclick: () => openThread(thread.id),
        }),
        mine
          ? el('button', {
            type: 'button',
            class: 'primary',
            dataset: { action: 'continue' },
            'aria-label': `Continue conversation with ${name}`,
            text: 'Continue',
            onclick: () => openThread(thread.id),
          })
          : el('button', {
            type: 'button',
            class: taken ? '' : 'primary',
            dataset: { action: 'claim' },
            'aria-label': `Claim conversation with ${name}`,
            text: 'Claim',
            onclick: () => claim(thread.id),
          }),
      ),
    );
  }

  function onQueueFrame(frame) {
    switch (frame.type) {
      case 'claimed':
        noteClaim(frame.thread_id, { agent_id: frame.agent_id, until: frame.until });
        renderQueue();
        if (open && open.thread.id === frame.thread_id) showClaimState();
        scheduleQueue();
        break;
      case 'taken_over':
        noteClaim(frame.thread_id, { agent_id: frame.to, until: frame.until });
        renderQueue();
        if (frame.from === me.id) lostClaim(frame.thread_id, 'This conversation was taken by another agent.');
        scheduleQueue();
        break;
      case 'released':
      case 'expired':
        forgetClaim(frame.thread_id);
        renderQueue();
        if (open && open.thread.id === frame.thread_id) {
          if (frame.agent_id === me.id) {
            lostClaim(frame.thread_id, frame.type === 'expired' ? 'Your claim on this conversation expired.' : 'You released this conversation.');
          } else {
            showClaimState();
          }
        }
        scheduleQueue();
        break;
      case 'thread.status':
        if (frame.status === 'resolved') {
          forgetClaim(frame.thread_id);
          renderQueue();
        }
        scheduleQueue();
        break;
      case 'message.created':
        scheduleQueue();
        break;
      default:
        break;
    }
  }

  const queueStatus = $('queue-status');
  const queueSocket = new LiveSocket('/ws/queue', {
    token: session().token,
    lastSeq: null,
    onFrame: onQueueFrame,
    onStatus: (status, detail) => {
      if (status === 'live') {
        const wasDown = queueStatus.dataset.state === 'reconnecting';
        queueStatus.dataset.state = 'live';
        say(queueStatus, wasDown ? 'Reconnected; the queue is live.' : 'Live.', 'ok');
        if (wasDown) scheduleQueue();
      } else if (status === 'reconnecting' || status === 'connecting') {
        queueStatus.dataset.state = status;
        say(queueStatus, status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…', 'warn');
      } else if (status === 'denied') {
        queueStatus.dataset.state = 'denied';
        say(queueStatus, `Live updates refused: ${detail || 'not allowed'}`, 'error');
      }
    },
  });
  queueSocket.start();
  setInterval(loadQueue, QUEUE_REFRESH_EVERY_MS);

  // ---- search -------------------------------------------------------------------------------

  $('search-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = $('search-input').value.trim();
    const status = $('search-status');
    const results = $('search-results');
    if (!q) {
      say(status, 'Type something to search for.');
      results.replaceChildren();
      return;
    }
    say(status, 'Searching…');
    try {
      const data = await api('GET', `/api/v1/search?q=${encodeURIComponent(q)}&limit=20`);
      const items = (data && data.items) || [];
      say(status, items.length ? `${items.length} result${items.length === 1 ? '' : 's'}.` : 'Nothing found.');
      results.replaceChildren(...items.map(({ message, client_username: who }) => el(
        'li',
        {},
        el('p', { class: 'meta' }, el('strong', { text: who || `Client` }), ' ', el('time', { datetime: message.created_at, text: formatTime(message.created_at) })),
        el('p', { class: 'snippet', text: message.body }),
        el('button', {
          type: 'button',
          class: 'link-button',
          text: `Open conversation #${message.thread_id}`,
          onclick: () => openThread(message.thread_id),
        }),
      )));
    } catch (failure) {
      say(status, describeError(failure), 'error');
      results.replaceChildren();
    }
  });

  loadQueue();
  loadCanned();
}
