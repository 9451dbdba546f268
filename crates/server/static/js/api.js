// The REST API and the signed-in session (kept in localStorage).

const SESSION_KEY = 'chat.session';

/** An API failure: HTTP status plus the server's `{"error": {code, message, ...}}`. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `Request failed (${status})`);
    this.status = status;
    this.code = error.code || (status === 0 ? 'network' : 'http_' + status);
    this.details = error;
  }
}

/** The stored session `{token, expires_at, user}` or null (also null once expired). */
export function session() {
  try {
    const stored = JSON.parse(localStorage.getItem(SESSION_KEY) || 'null');
    if (!stored || !stored.token || !stored.user) return null;
    if (stored.expires_at && Date.parse(stored.expires_at) <= Date.now()) {
      localStorage.removeItem(SESSION_KEY);
      return null;
    }
    return stored;
  } catch {
    return null;
  }
}

export function saveSession(value) {
  localStorage.setItem(SESSION_KEY, JSON.stringify(value));
}

export function clearSession() {
  localStorage.removeItem(SESSION_KEY);
}

/** Where a user of this role works. */
export function homeFor(user) {
  return user && user.role === 'client' ? '/client' : '/agent';
}

/** A same-origin path to come back to after log-in, or null. */
export function safeNext(value) {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return null;
  }
  return value;
}

/** Sends the browser to log-in, remembering where it was. */
export function goToLogin() {
  const here = location.pathname + location.search;
  location.replace('/?next=' + encodeURIComponent(here));
}

/**
 * The session, or a redirect to log-in (then back here). `roles` limits who may use the page;
 * anyone else is sent to their own page.
 */
export function requireSession(roles) {
  const current = session();
  if (!current) {
    goToLogin();
    return null;
  }
  if (roles && !roles.includes(current.user.role)) {
    location.replace(homeFor(current.user));
    return null;
  }
  return current;
}

/**
 * Calls the API. Resolves to the parsed JSON (or null for 204); rejects with ApiError.
 * A 401 means the token is gone: the session is dropped and the browser sent to log-in.
 */
export async function api(method, path, body, { auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const current = session();
  if (auth && current) headers.Authorization = 'Bearer ' + current.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached. Check your connection and try again.' } });
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (!response.ok) {
    if (response.status === 401 && auth && current) {
      clearSession();
      goToLogin();
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

/**
 * Sends a multipart form (a file upload) with the session's token. Resolves to the parsed JSON;
 * rejects with ApiError as `api` does.
 */
export async function upload(path, form) {
  const current = session();
  const headers = { Accept: 'application/json' };
  if (current) headers.Authorization = 'Bearer ' + current.token;
  let response;
  try {
    response = await fetch(path, { method: 'POST', headers, body: form, cache: 'no-store' });
  } catch {
    throw new ApiError(0, { error: { code: 'network', message: 'The server cannot be reached. Check your connection and try again.' } });
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/**
 * Downloads an attachment with the session's token (downloads are authorised like the thread,
 * so `<img src>` cannot fetch them itself): resolves to a Blob for `URL.createObjectURL`.
 */
export async function fetchFile(url) {
  const current = session();
  const headers = {};
  if (current) headers.Authorization = 'Bearer ' + current.token;
  const response = await fetch(url, { headers, cache: 'no-store' });
  if (!response.ok) throw new ApiError(response.status, null);
  return response.blob();
}

/** A fresh idempotency key for a message. */
export function newClientMessageId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return 'm-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2);
}

/** Logs out on the server (best effort) and here. */
export async function logOut() {
  try {
    await api('DELETE', '/api/v1/sessions/current');
  } catch {
    // The token may already be gone; the local session is dropped either way.
  }
  clearSession();
  forgetLocalData();
  location.replace('/');
}

/** Drops what pages kept for the user who logs out (unsent messages, held conversations). */
function forgetLocalData() {
  try {
    const keys = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (key && (key.startsWith('chat.outbox.') || key.startsWith('chat.held.'))) keys.push(key);
    }
    for (const key of keys) localStorage.removeItem(key);
  } catch {
    // Storage unavailable: nothing was kept.
  }
}
