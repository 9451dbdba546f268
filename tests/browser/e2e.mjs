// The support chat in a real browser: a client writes; agent A sees it arrive in the queue without
// reloading, claims it and replies; the client sees the reply live; agent B sees the thread taken
// and is told so when trying to claim it (by name, never a number). Also what agents hit before:
// the newest message in view, no silent cut of a long paste, an outbox sent after an outage, unread
// marks and renewed claims for conversations not on screen, Resolve only for the holder, a usable
// console at phone width, a counted and paged queue, the client's rating once its conversation is
// resolved, labels on a conversation (added from the console, changed live by another) and the
// "Find conversations" list filtered by label and by text, and axe-core on every page. The routing
// parts (availability, automatic assignment, transfer, private notes) run when the server's
// OpenAPI document has them and are skipped, saying so, when it does not. Started by run.sh.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const BASE = required('BASE_URL');
const ADMIN = { username: required('E2E_ADMIN_USERNAME'), password: required('E2E_ADMIN_PASSWORD') };
const ARTIFACTS = process.env.ARTIFACTS || new URL('../artifacts/', import.meta.url).pathname;
const EXECUTABLE = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 15000;

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return value;
}

/** Kills the server like a crash (no close frames) and keeps it down until `resume()` is called. */
async function crashServer() {
  const pid = Number(await readFile(required('E2E_SERVER_PIDFILE'), 'utf8'));
  await writeFile(required('E2E_SERVER_HOLDFILE'), 'hold');
  process.kill(pid, 'SIGKILL');
  return {
    async resume() {
      await rm(required('E2E_SERVER_HOLDFILE'), { force: true });
      for (let attempt = 0; attempt < 120; attempt += 1) {
        const up = await fetch(BASE + '/healthz').then((r) => r.ok, () => false);
        if (up) return;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error('the server did not come back');
    },
  };
}

function step(text) {
  console.log(`  - ${text}`);
}

/** Calls the REST API directly (set-up only). */
async function call(method, path, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(BASE + path, { method, headers, body: body && JSON.stringify(body) });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${JSON.stringify(data)}`);
  return data;
}

async function logIn(page, username, password, landing) {
  await page.goto(BASE + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(BASE + landing);
}

/** Fails the test on any error the page reports (uncaught exceptions, CSP violations). */
function watch(page, name, problems) {
  page.on('pageerror', (error) => problems.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    // Refused claims (409) are expected, and so are connection failures while the server restarts,
    // and the refusal (422) of the disguised file the test uploads on purpose.
    const expected = /status of 409|WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/;
    const refusedUpload = /status of 422/.test(message.text()) && /\/attachments$/.test(message.location().url || '');
    if (message.type() === 'error' && !expected.test(message.text()) && !refusedUpload) {
      problems.push(`${name} console: ${message.text()}`);
    }
  });
}

/** Signs a client up over the API and logs it in: {id, username, token}. */
async function newClient(username) {
  const user = await call('POST', '/api/v1/users', { username, password });
  const session = await call('POST', '/api/v1/sessions', { username, password });
  return { ...user, token: session.token };
}

/** Waits until the newest message of `#messages` is in view (and the list overflows). */
async function newestInView(page) {
  await page.waitForFunction(() => {
    const list = document.getElementById('messages');
    const items = list.querySelectorAll('li.message');
    const last = items[items.length - 1];
    if (!last || list.scrollHeight <= list.clientHeight + 10) return false;
    const box = list.getBoundingClientRect();
    const item = last.getBoundingClientRect();
    return item.bottom <= box.bottom + 2 && item.top >= box.top - 2;
  });
}

/** Runs axe-core on the page (a context with bypassCSP, so the script can be injected). */
async function checkA11y(page, name) {
  await page.addScriptTag({ path: AXE_PATH });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `${name}: accessibility violations`);
}

/** The page's session token. */
function tokenOf(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem('chat.session')).token);
}

const suffix = Date.now().toString(36);
const password = 'correct-horse-battery';
const clientName = `client_${suffix}`;

const admin = await call('POST', '/api/v1/sessions', ADMIN);
const apiDoc = await call('GET', '/api/v1/openapi.json');
const served = (path) => Boolean(apiDoc.paths && apiDoc.paths[path]);
const routingServed = served('/api/v1/users/me/availability') && served('/api/v1/routing');
const transferServed = served('/api/v1/threads/{id}/transfer');
const notesServed = served('/api/v1/threads/{id}/notes');
const agentA = await call('POST', '/api/v1/users', { username: `agent_a_${suffix}`, password, role: 'agent' }, admin.token);
const agentB = await call('POST', '/api/v1/users', { username: `agent_b_${suffix}`, password, role: 'agent' }, admin.token);
await call('POST', '/api/v1/canned-replies', { title: 'Greeting', body: 'Hello, thanks for writing to us.' }, admin.token);

await mkdir(ARTIFACTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: EXECUTABLE,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const problems = [];
try {
  const clientContext = await browser.newContext({ viewport: { width: 414, height: 860 } });
  const contextA = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  // Agent B works at phone width: the console must stay usable there too.
  const contextB = await browser.newContext({ viewport: { width: 390, height: 844 } });
  for (const context of [clientContext, contextA, contextB]) context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const client = await clientContext.newPage();
  const pageA = await contextA.newPage();
  const pageB = await contextB.newPage();
  watch(client, 'client', problems);
  watch(pageA, 'agent A', problems);
  watch(pageB, 'agent B', problems);

  step('a new client signs up, logs out and logs in again');
  await client.goto(BASE + '/signup');
  await client.getByLabel('Username').fill(clientName);
  await client.getByLabel('Password', { exact: true }).fill(password);
  await client.getByLabel('Password again').fill(password);
  await client.getByRole('button', { name: 'Sign up' }).click();
  await client.waitForURL(BASE + '/client');
  await client.getByRole('button', { name: 'Log out' }).click();
  await client.waitForURL(BASE + '/');
  await logIn(client, clientName, password, '/client');

  step('both agents open the console and its queue goes live');
  await logIn(pageA, agentA.username, password, '/agent');
  await logIn(pageB, agentB.username, password, '/agent');
  for (const page of [pageA, pageB]) {
    await page.locator('#queue-status', { hasText: 'Live' }).waitFor();
    await page.evaluate(() => { window.__sameDocument = true; });
  }

  step('the client writes about a loan');
  const question = 'My loan disbursement has not arrived, this is urgent';
  await client.getByRole('radio', { name: 'Loan' }).check();
  await client.getByLabel('Your message').fill(question);
  await client.getByLabel('Your message').press('Enter');
  const ownMessage = client.locator('#messages li.mine', { hasText: question });
  await ownMessage.waitFor();
  await client.locator('#connection', { hasText: 'Connected' }).waitFor();

  step('agent A and agent B see it in the queue without reloading, with its urgency reasons');
  const itemA = pageA.locator('#queue li.queue-item', { hasText: clientName });
  const itemB = pageB.locator('#queue li.queue-item', { hasText: clientName });
  await itemA.waitFor();
  await itemB.waitFor();
  await itemA.locator('.reasons li', { hasText: 'loan' }).first().waitFor();
  assert.match(await itemA.locator('.score').innerText(), /^\d+$/);
  for (const page of [pageA, pageB]) {
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the console reloaded');
  }

  step('agent A claims it and the conversation opens beside the client context');
  // Its id before the claim: once claimed it moves to "Mine" and may leave this list.
  const threadId = Number(await itemA.getAttribute('data-thread-id'));
  // By keyboard: focus the button and press Enter.
  await itemA.getByRole('button', { name: /^Claim/ }).focus();
  await pageA.keyboard.press('Enter');
  await pageA.locator('#claim-state', { hasText: 'Claimed by you' }).waitFor();
  await pageA.locator('#messages li', { hasText: question }).waitFor();
  await pageA.locator('#context', { hasText: clientName }).waitFor();
  await pageA.locator('#connection', { hasText: 'Connected' }).waitFor();
  assert.ok(threadId > 0);

  step('agent B sees the thread marked taken at once');
  await itemB.locator('.claim', { hasText: `Taken by ${agentA.username} until` }).waitFor();

  step('the client sees its message read');
  await ownMessage.locator('.mark', { hasText: 'Read' }).waitFor();

  step('agent A types (the client sees it) and replies with a canned reply');
  await pageA.getByLabel('Canned reply').selectOption({ label: 'Greeting' });
  await pageA.getByRole('button', { name: 'Insert' }).click();
  await pageA.waitForFunction(() => document.getElementById('message-input').value.startsWith('Hello'));
  const replyBox = pageA.getByLabel('Your reply');
  await replyBox.press('End');
  await replyBox.pressSequentially(' We are checking your loan now.');
  await client.locator('#typing', { hasText: 'is typing' }).waitFor();
  const reply = await replyBox.inputValue();
  assert.match(reply, /^Hello, thanks for writing to us\./);
  await replyBox.press('Enter');
  await pageA.locator('#messages li.mine', { hasText: 'We are checking your loan now.' }).waitFor();

  step('the client sees the reply live');
  await client.locator('#messages li.theirs', { hasText: 'We are checking your loan now.' }).waitFor();
  assert.equal(await client.locator('#messages li.theirs .sender').first().innerText(), 'Agent');
  await client.screenshot({ path: `${ARTIFACTS}/client.png`, fullPage: true });
  await pageA.screenshot({ path: `${ARTIFACTS}/agent-console.png`, fullPage: true });

  step('the client attaches a screenshot: agent A sees the image inline, a disguised file is refused');
  const screenshot = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGO4YGCAFTEMLQkA2ntMAeuWKpoAAAAASUVORK5CYII=', 'base64');
  await client.getByLabel(/Attach an image or file/).setInputFiles({ name: 'declined-payment.png', mimeType: 'image/png', buffer: screenshot });
  const sentImage = client.locator('#messages li.mine', { hasText: 'declined-payment.png' }).locator('img.attachment-image');
  await sentImage.waitFor();
  await client.waitForFunction(() => [...document.querySelectorAll('#messages img.attachment-image')].some((img) => img.complete && img.naturalWidth === 8));
  const seenImage = pageA.locator('#messages li.theirs', { hasText: 'declined-payment.png' }).locator('img.attachment-image');
  await seenImage.waitFor();
  await pageA.waitForFunction(() => [...document.querySelectorAll('#messages img.attachment-image')].some((img) => img.complete && img.naturalWidth === 8));
  assert.equal(await seenImage.getAttribute('alt'), 'Image: declined-payment.png');
  await client.getByLabel(/Attach an image or file/).setInputFiles({ name: 'invoice.png', mimeType: 'image/png', buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>') });
  await client.locator('#attach-status', { hasText: 'not of an accepted type' }).waitFor();
  assert.equal(await client.locator('#messages li', { hasText: 'invoice.png' }).count(), 0);

  step('a 5,140-character paste is never cut: a counter, a refusal that keeps the text, then two messages by consent');
  const clientBox = client.getByLabel('Your message');
  const words = [];
  while (words.join(' ').length < 5140) words.push(`word${words.length % 10}`);
  const long = words.join(' ').slice(0, 5140);
  assert.equal(long.length, 5140);
  await clientBox.fill(long);
  await client.locator('#message-input-count', { hasText: '5,140 of 4,000 characters: 1,140 too many.' }).waitFor();
  const before = await client.locator('#messages li.message').count();
  const mineBefore = await client.locator('#messages li.message.mine:not(.pending)').count();
  await clientBox.press('Enter');
  await client.locator('#composer .form-error', { hasText: 'Not sent: this message is 5,140 characters and the limit is 4,000' }).waitFor();
  assert.equal((await clientBox.inputValue()).length, 5140, 'the text stays in the box');
  assert.equal(await client.locator('#messages li.message').count(), before, 'nothing was sent');
  await client.getByRole('button', { name: 'Send as 2 messages' }).click();
  // Both parts stored, then the box empties (it keeps the text until the last part is sent).
  await client.waitForFunction((n) => document.querySelectorAll('#messages li.message.mine:not(.pending)').length >= n, mineBefore + 2);
  await client.waitForFunction(() => document.getElementById('message-input').value === '');
  const sentBodies = await client.locator('#messages li.mine:not(.pending) .body').allInnerTexts();
  const lastTwo = sentBodies.slice(-2);
  assert.ok(lastTwo.every((body) => body.length <= 4000), 'each part within the limit');
  assert.equal(lastTwo.join(' ').replace(/\s+/g, ' '), long.replace(/\s+/g, ' '), 'nothing lost');

  step('with 25 more messages, the newest is in view when the conversation opens (console and seed page)');
  const clientToken = await tokenOf(client);
  for (let i = 1; i <= 25; i += 1) {
    await call('POST', `/api/v1/threads/${threadId}/messages`, { body: `Numbered message ${i}`, client_message_id: `n-${suffix}-${i}` }, clientToken);
  }
  await pageA.locator('#messages li', { hasText: 'Numbered message 25' }).waitFor();
  await pageA.getByRole('button', { name: /^Mine/ }).click();
  await pageA.locator('#queue li.queue-item', { hasText: clientName }).getByRole('button', { name: /^Continue/ }).click();
  await pageA.locator('#messages li', { hasText: 'Numbered message 25' }).waitFor();
  await newestInView(pageA);
  const clientSeed = await clientContext.newPage();
  watch(clientSeed, 'client seed page', problems);
  await clientSeed.goto(`${BASE}/chat-app/${threadId}/1`);
  await clientSeed.locator('#messages li', { hasText: 'Numbered message 25' }).waitFor();
  await newestInView(clientSeed);
  await newestInView(client);
  await clientSeed.close();

  step('an agent who scrolled up to read is shown a "new messages" button instead of being moved');
  await pageA.locator('#messages').evaluate((list) => { list.scrollTop = 0; });
  await pageA.waitForFunction(() => document.getElementById('messages').scrollTop === 0);
  await call('POST', `/api/v1/threads/${threadId}/messages`, { body: 'One more thing', client_message_id: `more-${suffix}` }, clientToken);
  await pageA.locator('#messages li', { hasText: 'One more thing' }).waitFor({ state: 'attached' });
  const jump = pageA.getByRole('button', { name: '1 new message' });
  await jump.waitFor();
  assert.equal(await pageA.locator('#messages').evaluate((list) => list.scrollTop), 0, 'the reader was not moved');
  await jump.click();
  await newestInView(pageA);
  await jump.waitFor({ state: 'hidden' });

  step('agent B tries to claim it and is told who holds it');
  await itemB.getByRole('button', { name: /^Claim/ }).click();
  const alertB = pageB.locator('#console-alert');
  await alertB.waitFor();
  assert.match(await alertB.innerText(), new RegExp(`This conversation was taken by another agent: taken by ${agentA.username} until`));
  await pageB.screenshot({ path: `${ARTIFACTS}/agent-b-console.png`, fullPage: true });

  step('agent B at phone width opens the conversation: one pane at a time, no Resolve on another agent\'s thread');
  await itemB.getByRole('button', { name: /^Open/ }).click();
  await pageB.locator('#messages li', { hasText: question }).waitFor();
  assert.equal(await pageB.locator('#main').getAttribute('data-pane'), 'conversation');
  assert.equal(await pageB.locator('#list-pane').isVisible(), false);
  assert.equal(await pageB.getByRole('button', { name: 'Resolve' }).isVisible(), false, 'Resolve offered on another agent\'s thread');
  assert.equal(await pageB.getByRole('button', { name: 'Claim', exact: true }).isVisible(), true);
  const width = await pageB.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(width[0] <= width[1], `no sideways scrolling at phone width: ${width}`);
  const height = await pageB.evaluate(() => document.documentElement.scrollHeight);
  assert.ok(height < 2400, `the conversation pane fits a few screens at phone width, not ${height} px`);
  await pageB.screenshot({ path: `${ARTIFACTS}/agent-b-phone-conversation.png`, fullPage: true });
  await pageB.getByRole('button', { name: 'Conversations' }).click();
  await itemB.waitFor();
  assert.equal(await pageB.locator('#conversation-pane').isVisible(), false);

  step('agent B opening the seed URL cannot claim it either');
  await pageB.goto(`${BASE}/chat-app/${threadId}/${agentA.id}`);
  await pageB.locator('#messages li', { hasText: question }).waitFor();
  assert.equal(await pageB.getByLabel('Your message').isDisabled(), true);
  await pageB.getByRole('button', { name: 'Claim this conversation' }).click();
  await pageB.locator('#page-error', { hasText: 'taken by another agent' }).waitFor();
  await pageB.goto(BASE + '/agent');
  await pageB.locator('#queue-status', { hasText: 'Live' }).waitFor();

  step('the seed URL sends a stranger to log-in first, then back to the conversation');
  const laterContext = await browser.newContext({ viewport: { width: 1024, height: 768 } });
  laterContext.setDefaultTimeout(STEP_TIMEOUT_MS);
  const seedPage = await laterContext.newPage();
  watch(seedPage, 'client seed page', problems);
  const seedPath = `/chat-app/${threadId}/999999`;
  await seedPage.goto(BASE + seedPath);
  await seedPage.waitForURL(`${BASE}/?next=${encodeURIComponent(seedPath)}`);
  await seedPage.getByLabel('Username').fill(clientName);
  await seedPage.getByLabel('Password').fill(password);
  await seedPage.getByRole('button', { name: 'Log in' }).click();
  await seedPage.waitForURL(BASE + seedPath);
  await seedPage.locator('#messages li.theirs', { hasText: 'We are checking your loan now.' }).waitFor();
  await laterContext.close();

  step('the server crashes: the client shows "Reconnecting…", then resumes by itself');
  const outage = await crashServer();
  await client.locator('#connection', { hasText: 'Reconnecting…' }).waitFor();
  const duringOutage = 'Typed while the server was down';
  await clientBox.fill(duringOutage);
  await clientBox.press('Enter');
  await client.locator('#messages li.pending', { hasText: duringOutage }).locator('.pending-state', { hasText: 'Not sent yet' }).waitFor();
  await outage.resume();
  const tokenA = await tokenOf(pageA);
  const followUp = 'Found it: the transfer left today.';
  await call('POST', `/api/v1/threads/${threadId}/messages`, { body: followUp, client_message_id: `e2e-${suffix}` }, tokenA);
  await client.locator('#connection', { hasText: 'Reconnected' }).waitFor();
  await client.locator('#messages li.theirs', { hasText: followUp }).waitFor();
  assert.equal(await client.locator('#messages li', { hasText: followUp }).count(), 1, 'shown exactly once');
  await pageA.locator('#messages li.mine', { hasText: followUp }).waitFor();

  step('what the client typed during the outage is sent once after reconnecting');
  await client.locator('#messages li.mine:not(.pending)', { hasText: duringOutage }).waitFor();
  await pageA.locator('#messages li.theirs', { hasText: duringOutage }).waitFor();
  assert.equal(await client.locator('#messages li', { hasText: duringOutage }).count(), 1, 'shown exactly once');
  assert.equal(await pageA.locator('#messages li', { hasText: duringOutage }).count(), 1, 'stored exactly once');
  await newestInView(client);
  await newestInView(pageA);

  step('agent A holds a second conversation: it gets an unread mark, and its claim is renewed while not on screen');
  const second = await newClient(`client2_${suffix}`);
  const secondThread = await call('POST', '/api/v1/threads', { thread_type: 'payment', body: 'My card payment failed twice', client_message_id: `s-${suffix}` }, second.token);
  const secondId = secondThread.thread.id;
  await pageA.getByRole('button', { name: /^Queue/ }).click();
  const itemSecond = pageA.locator('#queue li.queue-item', { hasText: second.username });
  await itemSecond.getByRole('button', { name: /^Claim/ }).click();
  await pageA.locator('#conversation-title', { hasText: second.username }).waitFor();
  const firstUntil = Date.parse((await call('GET', `/api/v1/threads/${secondId}`, undefined, tokenA)).claim.until);
  await pageA.getByRole('button', { name: /^Mine/ }).click();
  await pageA.locator('#queue li.queue-item', { hasText: clientName }).getByRole('button', { name: /^Continue/ }).click();
  await pageA.locator('#conversation-title', { hasText: clientName }).waitFor();
  await call('POST', `/api/v1/threads/${secondId}/messages`, { body: 'Hello? Anyone there?', client_message_id: `s2-${suffix}` }, second.token);
  const mineSecond = pageA.locator('#queue li.queue-item', { hasText: second.username });
  await mineSecond.locator('.unread-badge', { hasText: '1 unread' }).waitFor();
  await pageA.locator('#mine-count', { hasText: '1 unread' }).waitFor();
  // The lease is 30 s (run.sh): the console renews the claim on the conversation not on screen.
  let renewed = null;
  for (let i = 0; i < 90 && !renewed; i += 1) {
    const thread = await call('GET', `/api/v1/threads/${secondId}`, undefined, tokenA);
    if (thread.claim && thread.claim.agent_id === agentA.id && Date.parse(thread.claim.until) > firstUntil + 5000) renewed = thread.claim;
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.ok(renewed, 'the claim on the conversation not on screen was renewed');
  await mineSecond.getByRole('button', { name: /^Continue/ }).click();
  await pageA.locator('#messages li', { hasText: 'Hello? Anyone there?' }).waitFor();
  await mineSecond.locator('.unread-badge').waitFor({ state: 'detached' });
  await pageA.locator('#queue li.queue-item', { hasText: clientName }).getByRole('button', { name: /^Continue/ }).click();
  await pageA.locator('#conversation-title', { hasText: clientName }).waitFor();

  step('labels: the admin creates two over REST; agent A adds one from the console by keyboard');
  const vip = await call('POST', '/api/v1/labels', { name: `VIP ${suffix}`, color: '#fde68a' }, admin.token);
  const billing = await call('POST', '/api/v1/labels', { name: `Billing ${suffix}`, color: '#1e3a8a' }, admin.token);
  const chips = pageA.locator('#thread-labels');
  await pageA.locator('#labels-empty', { hasText: 'No labels yet.' }).waitFor();
  await pageA.getByLabel('Add a label').focus();
  await pageA.getByLabel('Add a label').selectOption({ label: vip.name });
  await pageA.getByRole('button', { name: 'Add label' }).focus();
  await pageA.keyboard.press('Enter');
  await chips.locator('.chip', { hasText: vip.name }).waitFor();
  // Named, not numbered; the text colour is the label's contrast pick (dark on light).
  assert.equal(await chips.locator('.chip', { hasText: vip.name }).evaluate((n) => getComputedStyle(n).color), 'rgb(0, 0, 0)');
  // It is on the thread for everyone, not only on this page.
  const labelled = await call('GET', `/api/v1/threads/${threadId}`, undefined, admin.token);
  assert.deepEqual(labelled.labels.map((l) => l.name), [vip.name]);

  step('labels change live: the admin adds one over REST, agent A sees it and removes it by its button');
  await call('POST', `/api/v1/threads/${threadId}/labels`, { label_id: billing.id }, admin.token);
  const billingChip = chips.locator('.chip', { hasText: billing.name });
  await billingChip.waitFor();
  assert.equal(await billingChip.evaluate((n) => getComputedStyle(n).color), 'rgb(255, 255, 255)');
  assert.equal(await pageA.locator('#label-select option', { hasText: billing.name }).count(), 0, 'a label the thread has is not offered again');
  await pageA.getByRole('button', { name: `Remove label ${billing.name}` }).click();
  await billingChip.waitFor({ state: 'detached' });
  await chips.locator('.chip', { hasText: vip.name }).waitFor();

  step('"Find conversations" lists it with counts, filtered by label and by text, and opens it');
  const desk = pageA.locator('#desk');
  await desk.locator('[data-count="mine"]', { hasText: /^\(\d+\)$/ }).waitFor();
  await desk.getByLabel('Label', { exact: true }).selectOption({ label: vip.name });
  const found = pageA.locator('#desk-list li.desk-item');
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  assert.equal(await found.count(), 1);
  assert.match(await found.first().innerText(), new RegExp(`${clientName}[\\s\\S]*${vip.name}`));
  await desk.getByRole('button', { name: /^Assigned to me/ }).click();
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  await desk.getByLabel('Label', { exact: true }).selectOption({ label: billing.name });
  await pageA.locator('#desk-line', { hasText: 'No conversations match.' }).waitFor();
  await desk.getByLabel('Label', { exact: true }).selectOption({ label: 'Any label' });
  await desk.getByRole('button', { name: 'Anyone' }).click();
  await desk.getByLabel('Text in the conversation').fill('disbursement');
  await desk.getByLabel('Text in the conversation').press('Enter');
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  assert.equal(await desk.getByLabel('Text in the conversation').inputValue(), 'disbursement', 'the typed text stays');
  const hitItem = found.filter({ hasText: clientName });
  await hitItem.waitFor();
  // Topic and days of activity narrow it too (the thread is a loan, active today).
  await desk.getByLabel('Topic').selectOption({ label: 'Payment' });
  await pageA.locator('#desk-line', { hasText: 'No conversations match.' }).waitFor();
  await desk.getByLabel('Topic').selectOption({ label: 'Loan' });
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  const localDay = (offsetDays) => {
    const d = new Date();
    d.setDate(d.getDate() + offsetDays);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  };
  await desk.getByLabel('Active from').fill(localDay(1));
  await pageA.locator('#desk-line', { hasText: 'No conversations match.' }).waitFor();
  await desk.getByLabel('Active from').fill(localDay(0));
  await desk.getByLabel('Active until').fill(localDay(0));
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  await desk.getByLabel('Active from').fill('');
  await desk.getByLabel('Active until').fill('');
  await desk.getByLabel('Topic').selectOption({ label: 'Any topic' });
  await pageA.locator('#desk-line', { hasText: 'Showing 1 of 1 conversation.' }).waitFor();
  await hitItem.waitFor();
  // The list follows label events too.
  await call('POST', `/api/v1/threads/${threadId}/labels`, { label_id: billing.id }, admin.token);
  await hitItem.locator('.chip', { hasText: billing.name }).waitFor();
  await call('DELETE', `/api/v1/threads/${threadId}/labels/${billing.id}`, undefined, admin.token);
  await hitItem.locator('.chip', { hasText: billing.name }).waitFor({ state: 'detached' });
  await hitItem.getByRole('button', { name: `Open ${clientName}'s Loan conversation` }).click();
  await pageA.locator('#conversation-title', { hasText: clientName }).waitFor();
  await desk.getByLabel('Text in the conversation').fill('');
  await desk.getByLabel('Text in the conversation').press('Enter');

  step('agent A finds the conversation by search, then resolves it');
  await pageA.getByLabel('Search messages').fill('disbursement');
  await pageA.getByLabel('Search messages').press('Enter');
  const hit = pageA.locator('#search-results li', { hasText: question });
  await hit.waitFor();
  assert.match(await hit.innerText(), new RegExp(clientName));
  await pageA.getByRole('button', { name: 'Resolve' }).click();
  await pageA.locator('#console-alert', { hasText: `Conversation #${threadId} is resolved.` }).waitFor();
  await pageA.locator('#conversation-title', { hasText: '(resolved)' }).waitFor();
  await pageA.locator('#claim-state', { hasText: 'Not claimed.' }).waitFor();
  assert.equal(await pageA.getByLabel('Your reply').isDisabled(), true);

  step('the client is asked to rate the resolved conversation, rates it once, and staff are told');
  const ratingForm = client.locator('#rating-form');
  await ratingForm.waitFor();
  await ratingForm.getByRole('radio', { name: '4' }).check();
  await client.getByLabel('Comment (optional)').fill('Quick and clear, thanks');
  await client.getByRole('button', { name: 'Send rating' }).click();
  await client.locator('#rating-result', { hasText: 'Thank you for your rating.' }).waitFor();
  await client.screenshot({ path: `${ARTIFACTS}/client-rated.png`, fullPage: true });
  const again = await fetch(`${BASE}/api/v1/threads/${threadId}/rating`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await tokenOf(client)}` },
    body: JSON.stringify({ score: 1 }),
  });
  assert.equal(again.status, 409, 'a second rating of one resolution is refused');

  if (routingServed) {
    step('availability: agent A goes online and agent B\'s console sees it live');
    // The team comes from GET /api/v1/agents: B's console lists A before A changes anything.
    await pageB.locator('#team-list li', { hasText: `${agentA.username} · offline` }).waitFor({ state: 'attached' });
    await pageA.getByLabel('Your availability').selectOption('online');
    await pageA.locator('#console-alert', { hasText: 'You are online.' }).waitFor();
    await pageB.locator('#team-list li', { hasText: `${agentA.username} · online` }).waitFor({ state: 'attached' });
    await pageB.locator('#team-summary', { hasText: 'Team: 1 online' }).waitFor({ state: 'attached' });

    step('automatic assignment: the admin turns routing to auto, a new client writes, and agent A\'s console shows the notice');
    assert.deepEqual(await call('PUT', '/api/v1/routing', { mode: 'auto' }, admin.token), { mode: 'auto' });
    const third = await newClient(`client3_${suffix}`);
    const thirdContext = await browser.newContext({ viewport: { width: 414, height: 860 } });
    thirdContext.setDefaultTimeout(STEP_TIMEOUT_MS);
    const thirdPage = await thirdContext.newPage();
    watch(thirdPage, 'third client', problems);
    await logIn(thirdPage, third.username, password, '/client');
    const stolen = 'Someone stole my phone, block my account now';
    await thirdPage.getByRole('radio', { name: 'Other' }).check();
    await thirdPage.getByLabel('Your message').fill(stolen);
    await thirdPage.getByLabel('Your message').press('Enter');
    await thirdPage.locator('#messages li.mine:not(.pending)', { hasText: stolen }).waitFor();
    await pageA.locator('#assign-notice', { hasText: `A conversation was assigned to you: ${third.username}` }).waitFor();
    await pageA.getByRole('button', { name: /^Mine/ }).click();
    await pageA.locator('#queue li.queue-item', { hasText: third.username }).locator('.claim', { hasText: 'Claimed by you' }).waitFor();
    await pageA.getByRole('button', { name: 'Open it' }).click();
    await pageA.locator('#conversation-title', { hasText: third.username }).waitFor();
    await pageA.locator('#claim-state', { hasText: 'Claimed by you' }).waitFor();
    await pageA.locator('#messages li', { hasText: stolen }).waitFor();
    // Agent B was offline: nothing came to B.
    assert.equal(await pageB.locator('#assign-notice').isVisible(), false, 'an offline agent got an assignment');

    let transferNoteText = null;
    if (transferServed) {
      step('transfer: agent A hands it to agent B with a note, choosing from the whole team; B is told live');
      await pageB.getByLabel('Your availability').selectOption('online');
      await pageA.locator('#team-list li', { hasText: `${agentB.username} · online` }).waitFor({ state: 'attached' });
      await pageA.getByRole('button', { name: 'Transfer' }).click();
      const to = pageA.getByLabel('To', { exact: true });
      // Agents never seen in an event are listed too (GET /api/v1/agents); only those online
      // with room can be chosen by an agent.
      const adminOption = to.locator('option', { hasText: `${ADMIN.username} (offline)` });
      await adminOption.waitFor({ state: 'attached' });
      assert.equal(await adminOption.isDisabled(), true, 'an offline admin offered as a receiver');
      await to.selectOption({ label: `${agentB.username} (online)` });
      transferNoteText = `Phone stolen: check the last card payments ${suffix}`;
      await pageA.getByLabel(/Note for the next agent/).fill(transferNoteText);
      await pageA.locator('#transfer-submit').click();
      await pageA.locator('#console-alert', { hasText: `went to ${agentB.username}` }).waitFor();
      await pageA.locator('#claim-state', { hasText: `Taken by ${agentB.username}` }).waitFor();
      assert.equal(await pageA.getByLabel('Your reply').isDisabled(), true, 'the former holder can still reply');
      await pageB.locator('#assign-notice', { hasText: `${agentA.username} transferred a conversation to you` }).waitFor();
      await pageB.locator('#assign-notice', { hasText: transferNoteText }).waitFor();
      await pageB.locator('#mine-count', { hasText: '(1)' }).waitFor();
      // The transfer's note is private too.
      await thirdPage.reload();
      await thirdPage.locator('#messages li', { hasText: stolen }).waitFor();
      assert.equal(await thirdPage.getByText(transferNoteText).count(), 0, 'the client saw the transfer note');
    } else {
      step('skipped: transfer (the server has no POST /api/v1/threads/{id}/transfer yet)');
    }

    if (notesServed) {
      step('a private note shows apart in the console and never on the client\'s page');
      const noteText = `Private: client sounds distressed ${suffix}`;
      await pageA.getByText('Add a private note').click();
      await pageA.getByLabel('Private note').fill(noteText);
      await pageA.getByRole('button', { name: 'Add note' }).click();
      await pageA.locator('#messages li.note', { hasText: noteText }).waitFor();
      assert.equal(await pageA.locator('#messages li', { hasText: noteText }).count(), 1, 'the note is shown twice');
      assert.equal(await pageA.locator('#messages li', { hasText: stolen }).count(), 1, 'the client\'s message is shown twice');
      const holder = transferServed ? pageB : pageA;
      if (transferServed) {
        await pageB.getByRole('button', { name: 'Open it' }).click();
        await pageB.locator('#claim-state', { hasText: 'Claimed by you' }).waitFor();
        await pageB.locator('#messages li.note', { hasText: noteText }).waitFor();
        // The transfer's note is stored as a note too: B sees it in the conversation.
        await pageB.locator('#messages li.note', { hasText: transferNoteText }).waitFor();
      }
      await holder.getByLabel('Your reply').fill('We have blocked your account.');
      await holder.getByLabel('Your reply').press('Enter');
      await thirdPage.locator('#messages li', { hasText: 'We have blocked your account.' }).waitFor();
      assert.equal(await thirdPage.getByText(noteText).count(), 0, 'the client saw a note');
      await thirdPage.reload();
      await thirdPage.locator('#messages li', { hasText: 'We have blocked your account.' }).waitFor();
      assert.equal(await thirdPage.getByText(noteText).count(), 0, 'the client saw a note after a reload');
    } else {
      step('skipped: private notes (the server has no POST /api/v1/threads/{id}/notes yet)');
    }
    await call('PUT', '/api/v1/routing', { mode: 'manual' }, admin.token);
    await pageA.getByLabel('Your availability').selectOption('offline');
    if (transferServed) {
      await pageB.getByLabel('Your availability').selectOption('offline');
      // At phone width the conversation B opened fills the screen: back to the list.
      await pageB.getByRole('button', { name: 'Conversations' }).click();
    }
    await thirdContext.close();
  } else {
    step('skipped: availability, automatic assignment, transfer and notes (the server has no routing API yet)');
  }

  step('the queue is counted and paged');
  const waitingClients = [];
  for (let i = 0; i < 52; i += 1) {
    const waiting = await newClient(`waiting${i}_${suffix}`);
    const sent = await call('POST', '/api/v1/threads', { thread_type: 'other', body: `Question number ${i}`, client_message_id: `w-${suffix}-${i}` }, waiting.token);
    waitingClients.push({ ...waiting, threadId: sent.thread.id });
  }
  const lastWaiting = waitingClients[waitingClients.length - 1];
  await call('POST', `/api/v1/threads/${lastWaiting.threadId}/messages`, { body: 'Newer: I still cannot pay', client_message_id: `w2-${suffix}` }, lastWaiting.token);
  await pageB.getByRole('button', { name: /^Queue/ }).click();
  await pageB.locator('#queue-count', { hasText: '(52)' }).waitFor();
  // 50 waiting on this page, and possibly conversations other agents hold, listed as taken.
  assert.ok(await pageB.locator('#queue li.queue-item').count() >= 50);
  await pageB.getByRole('button', { name: 'Next page' }).click();
  await pageB.locator('#page-info', { hasText: '51–52 of 52 waiting' }).waitFor();
  assert.ok(await pageB.locator('#queue li.queue-item').count() >= 2);
  await pageB.getByRole('button', { name: 'Previous page' }).click();
  await pageB.locator('#page-info', { hasText: /^1–50/ }).waitFor();
  step('"Find conversations" pages with "Load more" (the cursor), never listing a conversation twice');
  const deskB = pageB.locator('#desk');
  await deskB.getByLabel('Waiting for a reply').check();
  await pageB.locator('#desk-line', { hasText: /^Showing 20 of \d+ conversations\.$/ }).waitFor();
  const totalWaiting = Number((await pageB.locator('#desk-line').innerText()).match(/of (\d+)/)[1]);
  assert.ok(totalWaiting >= 52, `only ${totalWaiting} waiting`);
  await deskB.locator('[data-count="waiting"]', { hasText: /^\(\d+\)$/ }).waitFor();
  await deskB.getByRole('button', { name: 'Load more' }).click();
  await pageB.locator('#desk-line', { hasText: `Showing 40 of ${totalWaiting} conversations.` }).waitFor();
  const listedIds = await pageB.locator('#desk-list li.desk-item').evaluateAll((items) => items.map((item) => item.dataset.threadId));
  assert.equal(new Set(listedIds).size, 40, 'a conversation listed twice');
  await deskB.screenshot({ path: `${ARTIFACTS}/find-conversations-phone.png` });
  // At phone width the list is long: a link near its top leads to "Find conversations".
  await pageB.getByRole('link', { name: 'Find any conversation' }).click();
  assert.equal(await pageB.evaluate(() => document.activeElement.id), 'desk-title');
  await deskB.getByLabel('Waiting for a reply').uncheck();
  step('a queue card shows the client\'s newest waiting message, not the first');
  const card = pageB.locator('#queue li.queue-item', { hasText: lastWaiting.username });
  await card.locator('.snippet', { hasText: 'Newer: I still cannot pay' }).waitFor();

  step('the reports page draws its charts from real data, names agents and exports CSV');
  const reportsPage = await pageA.context().newPage();
  watch(reportsPage, 'reports', problems);
  await reportsPage.goto(BASE + '/agent/reports');
  await reportsPage.locator('#chart-volume svg rect.bar').first().waitFor();
  assert.ok(await reportsPage.locator('#summary-table tbody tr').count() >= 1, 'no summary rows');
  await reportsPage.locator('#agents-table tbody th', { hasText: agentA.username }).waitFor();
  await reportsPage.getByLabel('Group by').selectOption('agent');
  await reportsPage.getByRole('button', { name: 'Show' }).click();
  await reportsPage.locator('#summary-table tbody th', { hasText: agentA.username }).waitFor();
  assert.ok(await reportsPage.locator('#chart-response svg rect.bar').count() >= 1, 'no response bars');
  const [download] = await Promise.all([
    reportsPage.waitForEvent('download'),
    reportsPage.getByRole('button', { name: 'Export CSV' }).click(),
  ]);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.startsWith('"group","opened","resolved"'), csv.slice(0, 80));
  assert.ok(csv.includes(agentA.username), 'the CSV names the agent');
  await reportsPage.screenshot({ path: `${ARTIFACTS}/reports.png`, fullPage: true });
  await reportsPage.setViewportSize({ width: 390, height: 844 });
  await reportsPage.screenshot({ path: `${ARTIFACTS}/reports-phone.png`, fullPage: true });
  await reportsPage.close();

  step('axe-core finds no accessibility violation on any page, at laptop and phone width');
  for (const viewport of [{ width: 1280, height: 900 }, { width: 375, height: 812 }]) {
    const axeContext = await browser.newContext({ viewport, bypassCSP: true });
    axeContext.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await axeContext.newPage();
    watch(page, `axe ${viewport.width}`, problems);
    await page.goto(BASE + '/');
    await checkA11y(page, `log-in page at ${viewport.width}`);
    await page.goto(BASE + '/signup');
    await checkA11y(page, `sign-up page at ${viewport.width}`);
    await logIn(page, clientName, password, '/client');
    await page.locator('#messages li', { hasText: 'One more thing' }).waitFor();
    await checkA11y(page, `client page at ${viewport.width}`);
    await page.goto(`${BASE}/chat-app/${threadId}/1`);
    await page.locator('#messages li', { hasText: 'One more thing' }).waitFor();
    await checkA11y(page, `seed page at ${viewport.width}`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(BASE + '/');
    await logIn(page, agentB.username, password, '/agent');
    await page.locator('#queue li.queue-item').first().waitFor();
    await checkA11y(page, `agent console (queue) at ${viewport.width}`);
    await page.locator('#queue li.queue-item').first().getByRole('button', { name: /^Open/ }).click();
    await page.locator('#messages li').first().waitFor();
    await checkA11y(page, `agent console (conversation) at ${viewport.width}`);
    if (viewport.width < 760) await page.getByRole('button', { name: 'Conversations', exact: true }).click();
    await page.locator('#desk').getByLabel('Label', { exact: true }).selectOption({ label: vip.name });
    const labelledItem = page.locator('#desk-list li.desk-item', { hasText: clientName });
    await labelledItem.locator('.chip', { hasText: vip.name }).waitFor();
    await checkA11y(page, `agent console (find conversations, by label) at ${viewport.width}`);
    await labelledItem.getByRole('button', { name: /^Open/ }).click();
    await page.locator('#thread-labels .chip', { hasText: vip.name }).waitFor();
    await checkA11y(page, `agent console (conversation with labels) at ${viewport.width}`);
    await page.goto(BASE + '/agent/reports');
    await page.locator('#chart-volume svg rect.bar').first().waitFor();
    await checkA11y(page, `reports page at ${viewport.width}`);
    await axeContext.close();
  }

  step('saving screenshots');
  await client.screenshot({ path: `${ARTIFACTS}/client-after-reconnect.png`, fullPage: true });
  await pageA.screenshot({ path: `${ARTIFACTS}/agent-console-resolved.png`, fullPage: true });
  await pageB.screenshot({ path: `${ARTIFACTS}/agent-b-console-end.png`, fullPage: true });

  assert.deepEqual(problems, [], 'the pages reported errors');
  console.log('browser test: passed');
} catch (error) {
  // Whatever the pages showed when it failed.
  for (const [index, context] of browser.contexts().entries()) {
    for (const [n, page] of context.pages().entries()) {
      await page.screenshot({ path: `${ARTIFACTS}/failure-${index}-${n}.png`, fullPage: true }).catch(() => {});
    }
  }
  if (problems.length) console.error('page errors:\n' + problems.join('\n'));
  throw error;
} finally {
  await browser.close();
}
