// The accounts API (docs/protocol.md, version 2) and the token the page
// keeps.
//
// The token lives in sessionStorage: it survives a reload of the tab, is
// not shared with other tabs (each tab signs in on its own, so two tabs
// can be two users), and is gone when the tab closes. localStorage would
// keep a user signed in on a shared computer after the tab is closed, and a
// cookie would be sent with every request to the server, where a token in
// a header or query is sent only where the page puts it.

const storageKey = 'actorchat.session';

/** An API refusal: the HTTP status, the protocol's code and the server's message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = '') {
    super(message);
    Object.assign(this, { status, code, retryAfter });
  }
}

/** loadSession returns the tab's {user, token, expires}, or null when none is valid. */
export function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
    if (s && typeof s.user === 'string' && typeof s.token === 'string' && !(Date.parse(s.expires) <= Date.now())) return s;
  } catch {
    // unreadable: as if none
  }
  clearSession();
  return null;
}

/** saveSession keeps a grant of register or login for the tab. */
export function saveSession(grant) {
  const s = { user: grant.user, token: grant.token, expires: grant.expires };
  sessionStorage.setItem(storageKey, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(storageKey);
}

/** register creates an account and returns its grant {user, token, expires}. */
export const register = (name, password) => call('api/register', { name, password });

/** login returns a grant for an existing account. */
export const login = (name, password) => call('api/login', { name, password });

/** logout revokes token. */
export const logout = (token) => call('api/logout', null, token);

/** changePassword changes the password; the server revokes the account's other tokens. */
export const changePassword = (token, password, newPassword) =>
  call('api/password', { password, new_password: newPassword }, token);

async function call(path, body, token = '') {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method: 'POST', headers, body: body ? JSON.stringify(body) : undefined, cache: 'no-store', credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'unreachable', 'The server cannot be reached.');
  }
  if (res.ok) return res.status === 204 ? null : res.json();
  let answer = {};
  try {
    answer = await res.json();
  } catch {
    // not the API's JSON (a proxy's page, say)
  }
  throw new ApiError(res.status, answer.error ?? '', answer.message ?? res.statusText, res.headers.get('Retry-After') ?? '');
}

/** explain words an API refusal for the sign-in form. */
export function explain(err) {
  switch (err.code) {
    case 'bad_credentials': return 'Wrong name or password.';
    case 'name_taken': return 'That name is taken; choose another, or sign in.';
    case 'invalid_name': return 'A name is 1 to 32 of a-z 0-9 _ . - and starts with a letter, a digit or _.';
    case 'weak_password': return 'A password is 8 to 1024 bytes.';
    case 'registration_closed': return 'Registration is closed here; ask the operator for an account.';
    case 'account_disabled': return 'This account is disabled.';
    case 'rate_limited': return `Too many attempts; try again in ${err.retryAfter || 'a few'} seconds.`;
    case 'server_busy': return 'The server is busy; try again in a moment.';
    default: return err.message || `The server answered ${err.status}.`;
  }
}
