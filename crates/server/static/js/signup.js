// The sign-up page: creates a client account, logs it in and opens the client chat.

import { api, saveSession, session, homeFor } from './api.js';
import { say } from './ui.js';

const existing = session();
if (existing) location.replace(homeFor(existing.user));

const form = document.getElementById('signup-form');
const error = document.getElementById('signup-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    say(error, 'Choose a username and a password.', 'error');
    return;
  }
  if (password !== form.password2.value) {
    say(error, 'The two passwords differ.', 'error');
    form.password2.focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  say(error, '');
  try {
    await api('POST', '/api/v1/users', { username, password, role: 'client' }, { auth: false });
    const result = await api('POST', '/api/v1/sessions', { username, password }, { auth: false });
    saveSession({ token: result.token, expires_at: result.expires_at, user: result.user });
    location.replace('/client');
  } catch (failure) {
    say(error, failure.status === 409 ? 'That username is taken. Choose another.' : failure.message, 'error');
    form.username.focus();
  } finally {
    button.disabled = false;
  }
});
