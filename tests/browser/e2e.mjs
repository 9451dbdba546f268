// The support chat in a real browser: a client writes; agent A sees it arrive in the queue without
// reloading, claims it and replies; the client sees the reply live; agent B sees the thread taken
// and is told so when trying to claim it. Started by run.sh (which starts the server).
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

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
    // Refused claims (409) are expected, and so are connection failures while the server restarts.
    const expected = /status of 409|WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/;
    if (message.type() === 'error' && !expected.test(message.text())) {
      problems.push(`${name} console: ${message.text()}`);
    }
  });
}

const suffix = Date.now().toString(36);
const password = 'correct-horse-battery';
const clientName = `client_${suffix}`;

const admin = await call('POST', '/api/v1/sessions', ADMIN);
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
  // By keyboard: focus the button and press Enter.
  await itemA.getByRole('button', { name: /^Claim/ }).focus();
  await pageA.keyboard.press('Enter');
  await pageA.locator('#claim-state', { hasText: 'Claimed by you' }).waitFor();
  await pageA.locator('#messages li', { hasText: question }).waitFor();
  await pageA.locator('#context', { hasText: clientName }).waitFor();
  await pageA.locator('#connection', { hasText: 'Connected' }).waitFor();
  const threadId = Number(await itemA.getAttribute('data-thread-id'));
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

  step('agent B tries to claim it and is told who holds it');
  await itemB.getByRole('button', { name: /^Claim/ }).click();
  const alertB = pageB.locator('#console-alert');
  await alertB.waitFor();
  assert.match(await alertB.innerText(), new RegExp(`This conversation was taken by another agent: taken by ${agentA.username} until`));
  await pageB.screenshot({ path: `${ARTIFACTS}/agent-b-console.png`, fullPage: true });

  step('agent B opening the seed URL cannot claim it either');
  await pageB.goto(`${BASE}/chat-app/${threadId}/${agentA.id}`);
  await pageB.locator('#messages li', { hasText: question }).waitFor();
  assert.equal(await pageB.getByLabel('Your message').isDisabled(), true);
  await pageB.getByRole('button', { name: 'Claim this conversation' }).click();
  await pageB.locator('#page-error', { hasText: 'taken by another agent' }).waitFor();

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
  await outage.resume();
  const tokenA = await pageA.evaluate(() => JSON.parse(localStorage.getItem('chat.session')).token);
  const followUp = 'Found it: the transfer left today.';
  await call('POST', `/api/v1/threads/${threadId}/messages`, { body: followUp, client_message_id: `e2e-${suffix}` }, tokenA);
  await client.locator('#connection', { hasText: 'Reconnected' }).waitFor();
  await client.locator('#messages li.theirs', { hasText: followUp }).waitFor();
  assert.equal(await client.locator('#messages li', { hasText: followUp }).count(), 1, 'shown exactly once');
  await pageA.locator('#messages li.mine', { hasText: followUp }).waitFor();

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

  step('saving screenshots');
  await client.screenshot({ path: `${ARTIFACTS}/client-after-reconnect.png`, fullPage: true });
  await pageA.screenshot({ path: `${ARTIFACTS}/agent-console-resolved.png`, fullPage: true });
  await pageB.screenshot({ path: `${ARTIFACTS}/agent-b-seed-page.png`, fullPage: true });

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
