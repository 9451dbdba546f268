// The log-in page: exchanges username and password for a token, then goes where the user works
// (or back to the page that sent them here).

import { api, homeFor, safeNext, saveSession, session } from './api.js';
import { say } from './ui.js';

const next = safeNext(new URLSearchParams(location.search).get('next'));
const existing = session();
if (existing) location.replace(next || homeFor(existing.user));

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    say(error, 'Enter your username and password.', 'error');
    (username ? form.password : form.username).focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  say(error, '');
  try {
    const result = await api('POST', '/api/v1/sessions', { username, password }, { auth: false });
    saveSession({ token: result.token, expires_at: result.expires_at, user: result.user });
    location.replace(next || homeFor(result.user));
  } catch (failure) {
    const text = failure.status === 401 || failure.status === 422
      ? 'Wrong username or password.'
      : failure.message;
    say(error, text, 'error');
    form.password.focus();
    form.password.select();
  } finally {
    button.disabled = false;
  }
});
