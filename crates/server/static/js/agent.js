// The agent console: "Mine" (every conversation this agent holds, unread marks, claims kept
// alive), the live "Queue" (most urgent first, counted and paged) and "All"; claiming, the
// conversation with the client's context beside it, canned replies, private notes, transfer,
// release/resolve, search, availability and assignment notices. Routing features are offered
// only where the server has them (features.js); the pull queue works either way. "Find
// conversations" (desk.js) lists and filters every conversation; labels.js shows and edits the
// open conversation's labels.

import { api, logOut, requireSession, session } from './api.js';
import { AssignmentAlerts } from './alerts.js';
import { Conversation, bindAttach, bindComposer, describeError } from './conversation.js';
import { ConversationFinder } from './desk.js';
import { detectFeatures, isMissingRoute } from './features.js';
import { HeldClaims } from './held.js';
import { LabelCatalog, ThreadLabels } from './labels.js';
import { LiveSocket } from './live.js';
import { Names } from './names.js';
import { el, formatTime, formatWaiting, say, showIdentity, topicName } from './ui.js';

const QUEUE_REFETCH_DEBOUNCE_MS = 250;
const QUEUE_REFRESH_EVERY_MS = 60000;
const PAGE_SIZE = 50;
const PAGE_TITLE = document.title;
const AVAILABILITY = { online: 'online', away: 'away', offline: 'offline' };

const current = requireSession(['agent', 'admin']);
if (current) start(current);

function start({ user: me }) {
  const $ = (id) => document.getElementById(id);
  showIdentity($('identity'), me, logOut);
  const isAdmin = me.role === 'admin';

  const alertBox = $('console-alert');
  const main = $('main');
  const listTitle = $('list-title');
  const listHelp = $('list-help');
  const queueList = $('queue');
  const queueEmpty = $('queue-empty');
  const pager = $('pager');
  const title = $('conversation-title');
  const claimState = $('claim-state');
  const actions = $('thread-actions');
  const claimButton = $('claim-button');
  const releaseButton = $('release-button');
  const transferButton = $('transfer-button');
  const resolveButton = $('resolve-button');
  const hint = $('conversation-hint');
  const cannedSelect = $('canned-select');
  const cannedInsert = $('canned-insert');
  const noteBox = $('note-box');
  const availabilityBox = $('availability-box');
  const availabilitySelect = $('availability');
  const parts = { list: $('messages'), typing: $('typing'), status: $('connection'), jump: $('jump-newest') };

  const names = new Names({ fallback: () => 'an agent' });
  names.remember(me.id, me.username);
  let features = { assignee: false, availability: false, agents: false, transfer: false, notes: false };

  const catalog = new LabelCatalog();
  const threadLabels = new ThreadLabels(
    { box: $('labels-box'), list: $('thread-labels'), empty: $('labels-empty'), form: $('label-form'), select: $('label-select'), error: $('labels-error') },
    catalog,
  );
  const deskRoot = $('desk');
  const finder = new ConversationFinder(
    {
      assignee: [...deskRoot.querySelectorAll('[data-assignee]')],
      form: $('desk-filters'),
      status: $('desk-status'),
      label: $('desk-label'),
      type: $('desk-type'),
      activeFrom: $('desk-active-from'),
      activeTo: $('desk-active-to'),
      waiting: $('desk-waiting'),
      q: $('desk-q'),
      counts: [...deskRoot.querySelectorAll('[data-count]')],
      line: $('desk-line'),
      list: $('desk-list'),
      more: $('desk-more'),
    },
    { names, catalog, me, open: (threadId) => openThread(threadId) },
  );

  /** A `thread.labels` event (thread or queue socket): the open conversation and the list follow. */
  function labelsChanged(frame) {
    threadLabels.update(frame.thread_id, frame.labels);
    if (open && open.thread.id === frame.thread_id) open.thread.labels = frame.labels;
    finder.applyLabels(frame.thread_id, frame.labels);
  }

  /** Which list shows: mine, queue or all. */
  let view = 'queue';
  /** Queue entries as the server last sent them (unclaimed threads with a client waiting). */
  let queue = [];
  let queueOffset = 0;
  let queueMore = false;
  let queueTotal = null;
  /** The "Mine"/"All" list from the server (when it has one): items, and cursors for paging. */
  let listItems = [];
  let listCursor = null;
  let listNext = null;
  const listBack = [];
  /**
   * Threads claimed by other agents, seen in the queue: thread id -> {entry, claim}. The server's
   * queue leaves claimed threads out; the console keeps them listed, marked taken, until the claim
   * ends, so an agent sees at once who took what.
   */
  const taken = new Map();
  /**
   * The team (agents and admins): id -> {agent_id, username, availability, capacity, held}, from
   * `GET /api/v1/agents` (capacity and load) kept current by `availability` events.
   */
  const agents = new Map();
  /** The open conversation: {thread, live, conversation}. */
  let open = null;
  let queueTimer = null;

  const held = new HeldClaims(me, {
    onChange: () => renderList(),
    onLost: (threadId) => {
      if (open && open.thread.id === threadId) {
        lostClaim(threadId, 'This conversation is no longer yours: its claim ended.');
      } else {
        alertUser(`Your claim on conversation #${threadId} ended; it is back with the router or the queue.`);
      }
      scheduleQueue();
    },
  });

  const alerts = new AssignmentAlerts(
    { box: $('assign-notice'), text: $('assign-text'), open: $('assign-open'), dismiss: $('assign-dismiss'), permission: $('notify-button') },
    (threadId) => openThread(threadId),
  );

  const composer = bindComposer($('composer'), {
    onSend: (body) => {
      if (!open || !open.live) throw new Error('Claim the conversation before replying.');
      return open.conversation.send(body);
    },
    onTyping: () => open && open.live && open.conversation.typing(),
  });
  const attachStatus = $('attach-status');
  bindAttach($('attach-input'), {
    send: (file) => {
      if (!open || !open.live) throw new Error('Claim the conversation before sending files.');
      return open.conversation.sendFile(file);
    },
    report: (text) => say(attachStatus, text, text ? 'error' : undefined),
  });
  composer.setEnabled(false, 'Claim a conversation to reply');

  const noteComposer = bindComposer($('note-form'), {
    onSend: async (body) => {
      if (!open) throw new Error('Open a conversation first.');
      const threadId = open.thread.id;
      try {
        const note = await api('POST', `/api/v1/threads/${threadId}/notes`, { body });
        if (note && open && open.thread.id === threadId) open.conversation.add({ ...note, kind: 'note' });
      } catch (failure) {
        if (isMissingRoute(failure)) {
          features.notes = false;
          noteBox.hidden = true;
          throw new Error('Private notes are not available on this server yet.');
        }
        throw failure;
      }
    },
  });

  function alertUser(text, kind = 'error') {
    say(alertBox, text, kind);
  }

  function nameOf(id) {
    return names.peek(id);
  }

  // ---- panes (one at a time at phone width) -------------------------------------------------

  function showPane(pane) {
    main.dataset.pane = pane;
    for (const button of document.querySelectorAll('.pane-switch button')) {
      button.setAttribute('aria-pressed', String(button.dataset.pane === pane));
    }
  }

  for (const button of document.querySelectorAll('.pane-switch button')) {
    button.addEventListener('click', () => showPane(button.dataset.pane));
  }

  // ---- claims -------------------------------------------------------------------------------

  /** The live claim on a thread, as far as this page knows: {agent_id, until} or null. */
  function claimOf(thread) {
    const mine = held.get(thread.id);
    const seen = mine ? { agent_id: me.id, until: mine.until } : taken.has(thread.id) ? taken.get(thread.id).claim : thread.claim;
    if (!seen || !seen.until || Date.parse(seen.until) <= Date.now()) return null;
    return seen;
  }

  /** What lists show for a thread, from whatever this page has seen of it. */
  function entryFor(threadId) {
    const inQueue = queue.find((item) => item.thread.id === threadId);
    if (inQueue) return inQueue;
    if (taken.has(threadId)) return taken.get(threadId).entry;
    const mine = held.get(threadId);
    if (mine && mine.entry) return mine.entry;
    const listed = listItems.find((item) => item.thread.id === threadId);
    if (listed) return listed;
    if (open && open.thread.id === threadId) return { thread: open.thread };
    return null;
  }

  /** Records a claim on a thread: this agent's goes to "Mine", another's marks it taken. */
  function noteClaim(threadId, claimNow) {
    const entry = entryFor(threadId);
    if (claimNow.agent_id === me.id) {
      taken.delete(threadId);
      held.hold(threadId, claimNow.until, entry);
      if (!entry) {
        // Assigned or transferred to this agent before this page saw it: fetch what lists show.
        api('GET', `/api/v1/threads/${threadId}`)
          .then((thread) => { if (held.has(threadId)) held.hold(threadId, held.get(threadId).until, { thread }); })
          .catch(() => {});
      }
    } else {
      held.drop(threadId);
      if (entry) taken.set(threadId, { entry, claim: claimNow });
    }
  }

  function forgetClaim(threadId) {
    taken.delete(threadId);
    held.drop(threadId);
  }

  /** "Claimed by you until …" or "Taken by maria until …" (a node: the name fills in). */
  function claimText(claim) {
    if (!claim) return 'Not claimed.';
    if (claim.agent_id === me.id) return `Claimed by you until ${formatTime(claim.until)}.`;
    return el('span', {}, 'Taken by ', names.label(claim.agent_id, 'another agent'), ` until ${formatTime(claim.until)}.`);
  }

  async function claim(threadId) {
    alertUser('');
    try {
      const result = await api('POST', `/api/v1/threads/${threadId}/claim`);
      noteClaim(threadId, { agent_id: result.agent_id, until: result.until });
      renderList();
      await openThread(threadId);
      composer.focus();
    } catch (failure) {
      if (failure.code === 'claimed') {
        noteClaim(threadId, { agent_id: failure.details.holder_id, until: failure.details.until });
        renderList();
        if (open && open.thread.id === threadId) showClaimState();
        await names.resolve(failure.details.holder_id);
      }
      alertUser(describeError(failure, nameOf));
      scheduleQueue();
    }
  }

  /** The claim on the open thread is gone: say so and drop to read-only. */
  function lostClaim(threadId, text) {
    held.drop(threadId);
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
    const text = claimText(claimNow);
    claimState.replaceChildren(text);
    actions.hidden = false;
    const mine = Boolean(claimNow && claimNow.agent_id === me.id);
    const resolved = open.thread.status === 'resolved';
    claimButton.hidden = mine || resolved;
    releaseButton.hidden = !mine;
    // Only the holder (or an admin) may resolve or hand a conversation on.
    resolveButton.hidden = resolved || !(mine || isAdmin);
    transferButton.hidden = !features.transfer || resolved || !(mine || (isAdmin && claimNow));
    noteBox.hidden = !features.notes;
  }

  // ---- the conversation ---------------------------------------------------------------------

  function clientLabel(thread, entry) {
    if (entry && entry.client_username) names.remember(thread.client_id, entry.client_username);
    return names.label(thread.client_id, 'a client');
  }

  function showTitle(thread) {
    title.replaceChildren(clientLabel(thread, entryFor(thread.id)), ` · ${topicName(thread.thread_type)} · #${thread.id} (${thread.status})`);
  }

  /** Counts openThread calls: only the latest one shows its conversation. */
  let opening = 0;

  async function openThread(threadId) {
    const ticket = ++opening;
    // Read marks go out for a conversation left while still held (not after the claim ended).
    if (open) open.conversation.close({ flushRead: open.live && held.has(open.thread.id) });
    open = null;
    let thread;
    try {
      thread = await api('GET', `/api/v1/threads/${threadId}`);
    } catch (failure) {
      if (ticket === opening) alertUser(describeError(failure, nameOf));
      return;
    }
    // Opened again meanwhile (e.g. a transfer's answer and its event both reopen it): two
    // conversations would fill one list, every message twice.
    if (ticket !== opening) return;
    if (thread.claim) noteClaim(threadId, thread.claim);
    else forgetClaim(threadId);
    const claimNow = claimOf(thread);
    const live = Boolean(claimNow && claimNow.agent_id === me.id);
    const conversation = new Conversation(parts, {
      thread,
      me,
      live,
      markRead: live,
      peerName: names.peek(thread.client_id) || 'The client',
      nameFor: (m) => (m.sender_role === 'client' ? names.label(thread.client_id, 'Client') : names.label(m.sender_id, 'Agent')),
      onEvent: (frame) => onThreadFrame(threadId, frame),
      onDenied: (reason) => lostClaim(threadId, `This conversation is no longer yours${reason ? ` (${reason})` : ''}.`),
    });
    open = { thread, live, conversation };
    held.setUnread(threadId, 0);
    showTitle(thread);
    threadLabels.show(thread);
    catalog.load();
    hint.hidden = true;
    parts.list.hidden = false;
    $('composer').hidden = false;
    showClaimState();
    composer.setEnabled(live, live ? '' : 'Claim the conversation to reply');
    cannedInsert.disabled = !live || cannedSelect.options.length === 0 || !cannedSelect.value;
    showPane('conversation');
    renderList();
    loadContext(thread.client_id, thread.id);
    try {
      await conversation.open();
    } catch (failure) {
      alertUser(describeError(failure, nameOf));
    }
  }

  function onThreadFrame(threadId, frame) {
    if (!open || open.thread.id !== threadId) return;
    if ((frame.type === 'released' || frame.type === 'expired') && frame.agent_id === me.id) {
      lostClaim(threadId, frame.type === 'expired' ? 'Your claim on this conversation expired.' : 'You released this conversation.');
    } else if (frame.type === 'taken_over' && frame.to !== me.id) {
      lostClaim(threadId, 'This conversation was taken by another agent.');
    } else if (frame.type === 'transferred' && frame.to !== me.id) {
      lostClaim(threadId, 'This conversation was transferred.');
    } else if (frame.type === 'thread.labels') {
      labelsChanged(frame);
    } else if (frame.type === 'thread.status') {
      open.thread.status = frame.status;
      loadContext(open.thread.client_id, open.thread.id);
      showTitle(open.thread);
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
      alertUser(describeError(failure, nameOf));
    }
    scheduleQueue();
  });

  resolveButton.addEventListener('click', async () => {
    if (!open) return;
    const threadId = open.thread.id;
    const wasLive = open.live;
    try {
      await api('PUT', `/api/v1/threads/${threadId}/status`, { status: 'resolved' });
      if (wasLive) await api('DELETE', `/api/v1/threads/${threadId}/claim`).catch(() => {});
      forgetClaim(threadId);
      alertUser(`Conversation #${threadId} is resolved.`, 'info');
      await openThread(threadId);
    } catch (failure) {
      alertUser(describeError(failure, nameOf));
    }
    scheduleQueue();
  });

  // ---- transfer -----------------------------------------------------------------------------

  const transferDialog = $('transfer-dialog');
  const transferTo = $('transfer-to');
  const transferNote = $('transfer-note');
  const transferError = $('transfer-error');

  /** Whether an agent can take a conversation now: online with room. */
  function canTake(agent) {
    return agent.availability === 'online' && (agent.capacity === undefined || agent.held < agent.capacity);
  }

  /** "li (online)", "li (online, full: 5 of 5)", "li (away)". */
  function agentChoice(agent) {
    const full = agent.availability === 'online' && agent.capacity !== undefined && agent.held >= agent.capacity;
    return `${agent.username || names.text(agent.agent_id)} (${agent.availability}${full ? `, full: ${agent.held} of ${agent.capacity}` : ''})`;
  }

  transferButton.addEventListener('click', async () => {
    if (!open) return;
    const threadId = open.thread.id;
    const holder = claimOf(open.thread);
    await loadAgents();
    if (!open || open.thread.id !== threadId) return;
    const rank = (agent) => (canTake(agent) ? 0 : agent.availability === 'online' ? 1 : agent.availability === 'away' ? 2 : 3);
    const others = [...agents.values()]
      .filter((agent) => agent.agent_id !== me.id && !(holder && agent.agent_id === holder.agent_id))
      .sort((a, b) => rank(a) - rank(b) || String(a.username).localeCompare(String(b.username)));
    const ready = others.filter(canTake).length;
    transferTo.replaceChildren(
      el('option', { value: '', text: 'Back to the queue' }),
      ...others.map((agent) => el('option', {
        value: agent.agent_id,
        text: agentChoice(agent),
        // Only an admin may force a conversation on someone who is not online with room.
        disabled: !isAdmin && !canTake(agent),
      })),
    );
    const preferred = others.find(canTake);
    transferTo.value = preferred ? String(preferred.agent_id) : '';
    $('transfer-help').textContent = ready
      ? `${ready} of ${others.length} other agent${others.length === 1 ? '' : 's'} can take it now (online with room).`
      : 'No other agent is online with room now; it can go back to the queue.';
    $('transfer-force-box').hidden = !isAdmin;
    transferNote.value = '';
    say(transferError, '');
    transferDialog.showModal();
  });

  $('transfer-cancel').addEventListener('click', () => transferDialog.close());

  $('transfer-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!open) return;
    const threadId = open.thread.id;
    const to = transferTo.value ? Number(transferTo.value) : null;
    const body = { to_agent_id: to };
    if (transferNote.value.trim()) body.note = transferNote.value;
    if (isAdmin && $('transfer-force').checked) body.force = true;
    try {
      await api('POST', `/api/v1/threads/${threadId}/transfer`, body);
      transferDialog.close();
      forgetClaim(threadId);
      alertUser(to === null ? `Conversation #${threadId} is back in the queue.` : `Conversation #${threadId} went to ${names.text(to)}.`, 'info');
      loadAgents().then(showTeam);
      await openThread(threadId);
      scheduleQueue();
    } catch (failure) {
      if (isMissingRoute(failure)) {
        features.transfer = false;
        transferDialog.close();
        showClaimState();
        alertUser('Transfers are not available on this server yet.');
        return;
      }
      say(transferError, describeError(failure, nameOf), 'error');
    }
  });

  // ---- availability -------------------------------------------------------------------------

  /** Records an agent as the server describes them (`AgentView`, or an `availability` event). */
  function rememberAgent(agent) {
    names.remember(agent.agent_id, agent.username);
    agents.set(agent.agent_id, { ...(agents.get(agent.agent_id) || {}), ...agent });
  }

  /** Reads the team (`GET /api/v1/agents`, staff only); keeps what it had when that fails. */
  async function loadAgents() {
    if (!features.agents) return;
    try {
      const list = await api('GET', '/api/v1/agents');
      for (const agent of Array.isArray(list) ? list : []) rememberAgent(agent);
    } catch (failure) {
      if (isMissingRoute(failure)) features.agents = false;
    }
  }

  /** The team with their availability (and load, when known), online first. */
  function showTeam() {
    const team = $('team');
    const order = { online: 0, away: 1, offline: 2 };
    const list = [...agents.values()].sort((x, y) => (order[x.availability] ?? 3) - (order[y.availability] ?? 3)
      || String(x.username).localeCompare(String(y.username)));
    const online = list.filter((agent) => agent.availability === 'online').length;
    $('team-summary').textContent = `Team: ${online} online`;
    $('team-list').replaceChildren(...list.map((agent) => el(
      'li',
      { dataset: { availability: agent.availability, agentId: agent.agent_id } },
      agent.agent_id === me.id ? 'You' : names.label(agent.agent_id, 'an agent'),
      ` · ${agent.availability}`,
      agent.capacity !== undefined ? ` · holds ${agent.held} of ${agent.capacity}` : '',
    )));
    team.hidden = !features.availability;
  }

  function showAvailability(value) {
    if (AVAILABILITY[value]) {
      availabilitySelect.value = value;
      availabilitySelect.dataset.value = value;
    }
  }

  availabilitySelect.addEventListener('change', async () => {
    const wanted = availabilitySelect.value;
    try {
      const answer = await api('PUT', '/api/v1/users/me/availability', { availability: wanted });
      showAvailability((answer && answer.availability) || wanted);
      if (answer && answer.agent_id !== undefined) rememberAgent(answer);
      showTeam();
      alertUser(`You are ${availabilitySelect.value}.`, 'info');
    } catch (failure) {
      showAvailability(availabilitySelect.dataset.value || 'offline');
      if (isMissingRoute(failure)) {
        features.availability = false;
        availabilityBox.hidden = true;
        alertUser('Availability is not available on this server yet.');
      } else {
        alertUser(describeError(failure, nameOf));
      }
    }
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
      const begin = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? input.value.length;
      input.value = input.value.slice(0, begin) + data.text + input.value.slice(end);
      input.dispatchEvent(new Event('input'));
      input.focus();
      input.setSelectionRange(begin + data.text.length, begin + data.text.length);
    } catch (failure) {
      composer.setError(describeError(failure, nameOf));
    }
  });

  // ---- client context -----------------------------------------------------------------------

  async function loadContext(clientId, threadId) {
    const dl = $('context');
    const list = $('context-threads');
    try {
      const ctx = await api('GET', `/api/v1/clients/${clientId}/context`);
      if (!open || open.thread.client_id !== clientId) return;
      names.remember(clientId, ctx.username);
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
      $('context-empty').textContent = `Client details unavailable: ${describeError(failure, nameOf)}`;
    }
  }

  // ---- the lists: Mine, Queue, All ----------------------------------------------------------

  /**
   * A staff-list item (`GET /api/v1/threads?assignee=`: the thread's fields with
   * `client_username`, `claim` {agent_id, agent_username, until} and `unread`), in the queue's
   * shape.
   */
  function fromListItem(raw) {
    const { client_username: clientName, unread, urgency, ...thread } = raw;
    names.remember(thread.client_id, clientName);
    if (thread.claim) names.remember(thread.claim.agent_id, thread.claim.agent_username);
    return { thread: { ...thread, urgency }, urgency, client_username: clientName, unread: Number(unread || 0) };
  }

  async function loadQueue() {
    try {
      const data = await api('GET', `/api/v1/queue?limit=${PAGE_SIZE + 1}&offset=${queueOffset}`);
      const items = (data && data.items) || [];
      queueMore = items.length > PAGE_SIZE;
      queue = items.slice(0, PAGE_SIZE);
      queueTotal = data && Number.isInteger(data.total) ? data.total : null;
      if (queue.length === 0 && queueOffset > 0 && !queueMore) {
        // The page emptied (conversations were claimed): go back to the first page.
        queueOffset = 0;
        return loadQueue();
      }
      for (const item of queue) names.remember(item.thread.client_id, item.client_username);
      for (const [threadId, { claim: claimNow }] of taken) {
        const back = queue.some((item) => item.thread.id === threadId);
        if (back || !claimNow || Date.parse(claimNow.until) <= Date.now()) taken.delete(threadId);
      }
      renderList();
    } catch (failure) {
      alertUser(`The queue could not be loaded: ${describeError(failure, nameOf)}`);
    }
    return undefined;
  }

  async function loadList() {
    if (!features.assignee || view === 'queue') return;
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (view === 'mine') params.set('assignee', 'me');
    if (listCursor) params.set('cursor', listCursor);
    const asked = view;
    try {
      const data = await api('GET', `/api/v1/threads?${params}`);
      if (asked !== view) return;
      listItems = ((data && data.items) || []).map(fromListItem);
      listNext = (data && data.next_cursor) || null;
      for (const item of listItems) {
        const claimNow = item.thread.claim;
        if (claimNow && claimNow.agent_id === me.id && Date.parse(claimNow.until) > Date.now()) {
          held.hold(item.thread.id, claimNow.until, item);
          if (!(open && open.thread.id === item.thread.id)) held.setUnread(item.thread.id, item.unread);
        }
      }
      renderList();
    } catch (failure) {
      if ([403, 404, 422].includes(failure.status)) {
        if (asked === 'all') {
          // This server lists only an agent's own conversations: no "All".
          $('views-all').hidden = true;
          setView('queue');
        } else {
          // An older server: "Mine" falls back to the claims this console knows.
          features.assignee = false;
          $('views-all').hidden = true;
          renderList();
        }
        return;
      }
      alertUser(`The list could not be loaded: ${describeError(failure, nameOf)}`);
    }
  }

  function refresh() {
    loadQueue();
    loadList();
    finder.refreshSoon();
  }

  /** The team's load changes with every claim: re-read it now and then, not on every event. */
  setInterval(() => loadAgents().then(showTeam), QUEUE_REFRESH_EVERY_MS);

  function scheduleQueue() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(refresh, QUEUE_REFETCH_DEBOUNCE_MS);
  }

  function setView(next) {
    view = next;
    listItems = [];
    listCursor = null;
    listNext = null;
    listBack.length = 0;
    for (const button of document.querySelectorAll('.views button')) {
      button.setAttribute('aria-pressed', String(button.dataset.view === view));
    }
    listTitle.textContent = { mine: 'My conversations', queue: 'Queue', all: 'All conversations' }[view];
    listHelp.textContent = {
      mine: 'Conversations you hold; your claims are kept alive while you are here.',
      queue: 'Most urgent first.',
      all: 'Every conversation, newest activity first.',
    }[view];
    renderList();
    loadList();
  }

  for (const button of document.querySelectorAll('.views button')) {
    if (button.dataset.view === 'all') button.id = 'views-all';
    button.addEventListener('click', () => setView(button.dataset.view));
  }

  $('page-prev').addEventListener('click', () => {
    if (view === 'queue') {
      queueOffset = Math.max(0, queueOffset - PAGE_SIZE);
      loadQueue();
    } else {
      listCursor = listBack.pop() || null;
      loadList();
    }
    listTitle.focus();
  });

  $('page-next').addEventListener('click', () => {
    if (view === 'queue') {
      queueOffset += PAGE_SIZE;
      loadQueue();
    } else if (listNext) {
      listBack.push(listCursor);
      listCursor = listNext;
      loadList();
    }
    listTitle.focus();
  });

  function showCounts() {
    const mineCount = held.list().length;
    const unread = held.unreadTotal;
    $('mine-count').textContent = unread ? `(${mineCount}, ${unread} unread)` : `(${mineCount})`;
    $('mine-count').classList.toggle('unread', unread > 0);
    const waiting = queueTotal !== null ? String(queueTotal) : `${queueOffset + queue.length}${queueMore ? '+' : ''}`;
    $('queue-count').textContent = `(${waiting})`;
    document.title = unread ? `(${unread}) ${PAGE_TITLE}` : PAGE_TITLE;
  }

  function showPager() {
    let prev = false;
    let next = false;
    let info = '';
    if (view === 'queue') {
      prev = queueOffset > 0;
      next = queueMore;
      if (queue.length) {
        const last = queueOffset + queue.length;
        info = queueTotal !== null
          ? `${queueOffset + 1}–${last} of ${queueTotal} waiting`
          : `${queueOffset + 1}–${last}${queueMore ? ' (more waiting)' : ''}`;
      }
    } else if (features.assignee) {
      prev = listBack.length > 0;
      next = Boolean(listNext);
    }
    $('page-prev').disabled = !prev;
    $('page-next').disabled = !next;
    $('page-info').textContent = info;
    pager.hidden = !prev && !next;
  }

  function itemsToShow() {
    if (view === 'queue') {
      const listed = new Set(queue.map((item) => item.thread.id));
      const others = [...taken.values()].filter(({ entry }) => !listed.has(entry.thread.id)).map(({ entry }) => entry);
      return [...queue, ...others];
    }
    if (features.assignee) return listItems;
    // No list on the server: the conversations this console knows it holds.
    return held.list().map((claimed) => claimed.entry || { thread: { id: claimed.threadId, client_id: null, thread_type: 'other', status: 'open' } });
  }

  function renderList() {
    const focused = document.activeElement && document.activeElement.closest('#queue li');
    const focus = focused
      ? { id: focused.dataset.threadId, action: document.activeElement.dataset.action }
      : null;
    const items = itemsToShow();
    queueList.replaceChildren(...items.map(renderItem));
    queueEmpty.textContent = view === 'mine' ? 'You hold no conversations.' : view === 'queue' ? 'No one is waiting.' : 'No conversations.';
    queueEmpty.hidden = items.length > 0;
    showCounts();
    showPager();
    if (focus) {
      const again = queueList.querySelector(`li[data-thread-id="${focus.id}"] [data-action="${focus.action}"]`);
      if (again) again.focus();
    }
  }

  function renderItem(item) {
    const { thread } = item;
    const claimNow = claimOf(thread);
    const mine = Boolean(claimNow && claimNow.agent_id === me.id);
    const isTaken = Boolean(claimNow && !mine);
    if (item.client_username) names.remember(thread.client_id, item.client_username);
    const name = thread.client_id !== null && thread.client_id !== undefined ? names.text(thread.client_id) : `conversation #${thread.id}`;
    const urgency = item.urgency || thread.urgency || { score: 0, reasons: [] };
    const headingId = `queue-item-${thread.id}`;
    const isOpen = open && open.thread.id === thread.id;
    const unread = (mine && held.has(thread.id) ? held.get(thread.id).unread : item.unread) || 0;
    const waiting = item.latest_waiting || item.first_waiting;
    return el(
      'li',
      {
        class: `queue-item${isTaken ? ' taken' : ''}${mine ? ' mine' : ''}${isOpen ? ' selected' : ''}${unread ? ' has-unread' : ''}`,
        dataset: { threadId: thread.id },
        'aria-labelledby': headingId,
      },
      el(
        'div',
        { class: 'queue-item-head' },
        el('h3', { id: headingId }, thread.client_id !== null && thread.client_id !== undefined ? names.label(thread.client_id, name) : name, ` · ${topicName(thread.thread_type)}`),
        unread ? el('span', { class: 'unread-badge', text: `${unread} unread` }) : null,
        el('span', { class: 'score', title: 'Urgency score', 'aria-label': `Urgency ${urgency.score}`, text: String(urgency.score) }),
      ),
      waiting ? el('p', { class: 'snippet', text: waiting.body }) : null,
      urgency.reasons && urgency.reasons.length
        ? el('ul', { class: 'reasons', 'aria-label': 'Why it is urgent' }, urgency.reasons.map((r) => el('li', { text: r })))
        : null,
      el('p', { class: 'waiting', text: `${thread.status}${thread.waiting_since ? ` · waiting ${formatWaiting(thread.waiting_since)}` : ''}` }),
      claimNow ? el('p', { class: `claim ${mine ? 'mine' : 'taken'}` }, claimText(claimNow)) : null,
      el(
        'div',
        { class: 'actions' },
        el('button', {
          type: 'button',
          dataset: { action: 'open' },
          'aria-label': `Open conversation #${thread.id}`,
          text: 'Open',
          onclick: () => openThread(thread.id),
        }),
        mine
          ? el('button', {
            type: 'button',
            class: 'primary',
            dataset: { action: 'continue' },
            'aria-label': `Continue conversation #${thread.id}`,
            text: 'Continue',
            onclick: () => openThread(thread.id),
          })
          : thread.status === 'resolved' ? null : el('button', {
            type: 'button',
            class: isTaken ? '' : 'primary',
            dataset: { action: 'claim' },
            'aria-label': `Claim conversation #${thread.id}`,
            text: 'Claim',
            onclick: () => claim(thread.id),
          }),
      ),
    );
  }

  /** "maria · Loan": a conversation as a notice names it. */
  async function describeThread(threadId) {
    let entry = entryFor(threadId);
    if (!entry) {
      try {
        entry = { thread: await api('GET', `/api/v1/threads/${threadId}`) };
      } catch {
        return `conversation #${threadId}`;
      }
    }
    const clientName = entry.client_username || (await names.resolve(entry.thread.client_id)) || 'a client';
    return `${clientName} · ${topicName(entry.thread.thread_type)} (#${threadId})`;
  }

  async function cameToMe(threadId, text) {
    const what = await describeThread(threadId);
    alerts.tell(threadId, `${text}: ${what}.`);
  }

  function onQueueFrame(frame) {
    switch (frame.type) {
      case 'claimed':
        noteClaim(frame.thread_id, { agent_id: frame.agent_id, until: frame.until });
        renderList();
        if (open && open.thread.id === frame.thread_id) showClaimState();
        scheduleQueue();
        break;
      case 'assigned': {
        // {thread_id, agent_id, agent_username, until}
        names.remember(frame.agent_id, frame.agent_username);
        noteClaim(frame.thread_id, { agent_id: frame.agent_id, until: frame.until });
        if (frame.agent_id === me.id) cameToMe(frame.thread_id, 'A conversation was assigned to you');
        renderList();
        if (open && open.thread.id === frame.thread_id) showClaimState();
        scheduleQueue();
        break;
      }
      case 'transferred': {
        // {thread_id, from, from_username, to (null: the queue), to_username, until, by, note}
        names.remember(frame.from, frame.from_username);
        names.remember(frame.to, frame.to_username);
        if (frame.to === null) forgetClaim(frame.thread_id);
        else if (frame.until) noteClaim(frame.thread_id, { agent_id: frame.to, until: frame.until });
        if (frame.to === me.id) {
          const by = frame.by === me.id ? 'You' : names.text(frame.by);
          cameToMe(frame.thread_id, `${by} transferred a conversation to you${frame.note ? ` (note: ${frame.note})` : ''}`);
        }
        if (frame.from === me.id && frame.to !== me.id) lostClaim(frame.thread_id, 'This conversation was transferred.');
        renderList();
        scheduleQueue();
        break;
      }
      case 'availability': {
        // {agent_id, username, availability}
        if (!AVAILABILITY[frame.availability]) break;
        rememberAgent({ agent_id: frame.agent_id, username: frame.username, availability: frame.availability });
        if (frame.agent_id === me.id) showAvailability(frame.availability);
        showTeam();
        break;
      }
      case 'taken_over':
        noteClaim(frame.thread_id, { agent_id: frame.to, until: frame.until });
        renderList();
        if (frame.from === me.id) lostClaim(frame.thread_id, 'This conversation was taken by another agent.');
        scheduleQueue();
        break;
      case 'released':
      case 'expired': {
        const wasMine = held.has(frame.thread_id) || frame.agent_id === me.id;
        forgetClaim(frame.thread_id);
        renderList();
        if (open && open.thread.id === frame.thread_id) {
          if (frame.agent_id === me.id) {
            lostClaim(frame.thread_id, frame.type === 'expired' ? 'Your claim on this conversation expired.' : 'You released this conversation.');
          } else {
            showClaimState();
          }
        } else if (wasMine && frame.agent_id === me.id && frame.type === 'expired') {
          alertUser(`Your claim on conversation #${frame.thread_id} expired.`);
        }
        scheduleQueue();
        break;
      }
      case 'thread.status':
        if (frame.status === 'resolved') {
          forgetClaim(frame.thread_id);
          renderList();
        }
        scheduleQueue();
        break;
      case 'message.created': {
        const message = frame.message || {};
        const onScreen = open && open.thread.id === frame.thread_id && document.visibilityState === 'visible';
        if (held.has(frame.thread_id) && message.sender_role === 'client' && !onScreen) held.addUnread(frame.thread_id);
        scheduleQueue();
        break;
      }
      case 'thread.labels':
        labelsChanged(frame);
        break;
      case 'resync':
        scheduleQueue();
        break;
      default:
        break;
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && open) held.setUnread(open.thread.id, 0);
  });

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
  setInterval(refresh, QUEUE_REFRESH_EVERY_MS);

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
        el('p', { class: 'meta' }, el('strong', { text: who || 'Client' }), ' ', el('time', { datetime: message.created_at, text: formatTime(message.created_at) })),
        el('p', { class: 'snippet', text: message.body }),
        el('button', {
          type: 'button',
          class: 'link-button',
          text: `Open conversation #${message.thread_id}`,
          onclick: () => openThread(message.thread_id),
        }),
      )));
    } catch (failure) {
      say(status, describeError(failure, nameOf), 'error');
      results.replaceChildren();
    }
  });

  // ---- start --------------------------------------------------------------------------------

  (async () => {
    features = await detectFeatures();
    $('views-all').hidden = !features.assignee;
    availabilityBox.hidden = !features.availability;
    alerts.showPermissionButton(features.availability || features.assignee);
    await loadAgents();
    if (features.availability) showAvailability(agents.has(me.id) ? agents.get(me.id).availability : 'offline');
    showTeam();
    if (open) showClaimState();
    await held.restore();
    held.start();
    loadList();
  })();
  noteComposer.setEnabled(true);
  catalog.load().then(() => finder.load());
  loadQueue();
  loadCanned();
}
