// The seed's chat URL, /chat-app/{thread_id}/{user_id}: that thread's conversation for whoever is
// logged in and may see it. The user_id in the URL is ignored; identity comes from the token.

import { api, homeFor, logOut, requireSession } from './api.js';
import { Conversation, bindComposer, describeError } from './conversation.js';
import { Names } from './names.js';
import { el, formatTime, say, showIdentity, topicName } from './ui.js';

const current = requireSession();
if (current) start(current);

function start({ user }) {
  showIdentity(document.getElementById('identity'), user, logOut);
  const back = document.getElementById('back-link');
  back.href = homeFor(user);
  back.textContent = user.role === 'client' ? 'Back to your conversations' : 'Back to the agent console';
  const title = document.getElementById('conversation-title');
  const pageError = document.getElementById('page-error');
  const claimBar = document.getElementById('claim-bar');
  const claimButton = document.getElementById('claim-button');
  const parts = {
    list: document.getElementById('messages'),
    typing: document.getElementById('typing'),
    status: document.getElementById('connection'),
    jump: document.getElementById('jump-newest'),
  };
  // Staff see people by name; a client sees only itself and "Agent".
  const names = user.role === 'client' ? null : new Names({ fallback: () => 'an agent' });
  if (names) names.remember(user.id, user.username);
  const match = /^\/chat-app\/(\d+)\//.exec(location.pathname + '/');
  const threadId = match ? Number(match[1]) : NaN;
  let conversation = null;
  let thread = null;

  const composer = bindComposer(document.getElementById('composer'), {
    onSend: (body) => conversation.send(body),
    onTyping: () => conversation && conversation.typing(),
  });
  composer.setEnabled(false);

  function mayWrite(t) {
    if (user.role === 'client') return t.client_id === user.id;
    if (user.role === 'admin') return true;
    const claim = t.claim;
    return Boolean(claim && claim.agent_id === user.id && Date.parse(claim.until) > Date.now());
  }

  async function show(live) {
    if (conversation) conversation.close();
    conversation = new Conversation(parts, {
      thread,
      me: user,
      live,
      markRead: live,
      peerName: user.role === 'client' ? 'An agent' : 'The client',
      nameFor: (m) => {
        if (!names) return m.sender_role === 'client' ? user.username : 'Agent';
        return names.label(m.sender_id, m.sender_role === 'client' ? 'Client' : 'Agent');
      },
      onEvent: (frame) => {
        const lost = (frame.type === 'released' || frame.type === 'expired') && frame.agent_id === user.id;
        const taken = frame.type === 'taken_over' && frame.to !== user.id && user.role !== 'client';
        if (user.role !== 'client' && (lost || taken)) {
          say(pageError, taken ? 'This conversation was taken by another agent.' : 'Your claim on this conversation ended.', 'error');
          refresh();
        }
      },
      onDenied: (reason) => {
        say(pageError, reason || 'You may not follow this conversation live.', 'error');
        composer.setEnabled(false);
      },
    });
    composer.setEnabled(live, live ? '' : 'Claim the conversation to reply');
    claimBar.hidden = live || user.role === 'client';
    await conversation.open();
  }

  async function refresh() {
    try {
      thread = await api('GET', `/api/v1/threads/${threadId}`);
    } catch (failure) {
      composer.setEnabled(false);
      const text = failure.status === 404 || failure.status === 403
        ? 'This conversation does not exist or you may not see it.'
        : describeError(failure);
      say(pageError, text, 'error');
      return;
    }
    title.replaceChildren(names
      ? el('span', {}, names.label(thread.client_id, 'Client'), ` · ${topicName(thread.thread_type)} conversation #${thread.id} (${thread.status})`)
      : `${topicName(thread.thread_type)} conversation #${thread.id} (${thread.status})`);
    showClaim();
    try {
      await show(mayWrite(thread));
    } catch (failure) {
      say(pageError, describeError(failure), 'error');
    }
  }

  /** Staff see who holds the thread before they try to claim it. */
  function showClaim() {
    const node = document.getElementById('claim-state');
    if (user.role === 'client') return;
    const claim = thread.claim && Date.parse(thread.claim.until) > Date.now() ? thread.claim : null;
    node.hidden = false;
    if (!claim) node.textContent = 'Not claimed.';
    else if (claim.agent_id === user.id) node.textContent = `Claimed by you until ${formatTime(claim.until)}.`;
    else node.replaceChildren('Taken by ', names.label(claim.agent_id, 'another agent'), ` until ${formatTime(claim.until)}.`);
  }

  claimButton.addEventListener('click', async () => {
    claimButton.disabled = true;
    try {
      await api('POST', `/api/v1/threads/${threadId}/claim`);
      say(pageError, '');
      await refresh();
      composer.focus();
    } catch (failure) {
      if (failure.code === 'claimed' && names) await names.resolve(failure.details.holder_id);
      say(pageError, describeError(failure, (id) => names && names.peek(id)), 'error');
    } finally {
      claimButton.disabled = false;
    }
  });

  if (Number.isNaN(threadId)) {
    say(pageError, 'This address does not name a conversation.', 'error');
  } else {
    refresh();
  }
}
