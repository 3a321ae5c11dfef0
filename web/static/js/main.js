// The page's entry point: the sign-in form, the chat once signed in, and
// the controls around it (composer, sign out, password, banner). Keyboard
// first: Enter sends, Shift+Enter starts a new line, and focus goes back
// to the composer after every action that leaves it.

import * as account from './account.js';
import { byId, show } from './dom.js';
import { foldName } from './format.js';
import { Chat } from './chat.js';

const page = {
  signin: byId('signin'),
  app: byId('app'),
  authForm: byId('auth-form'),
  authNotice: byId('auth-notice'),
  authError: byId('auth-error'),
  composer: byId('composer'),
  text: byId('composer-text'),
  composerError: byId('composer-error'),
};

let chat = null; // the running chat, while signed in
let session = null;

function start() {
  wireSignIn();
  wireApp();
  session = account.loadSession();
  if (session) enterChat();
  else showSignIn('');
}

function showSignIn(notice) {
  show(page.app, false);
  show(page.signin, true);
  page.authNotice.textContent = notice;
  page.authError.textContent = '';
  byId('auth-password').value = '';
  byId('auth-name').focus();
}

function wireSignIn() {
  page.authForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    signIn(ev.submitter?.value === 'register');
  });
}

async function signIn(creating) {
  const name = foldName(byId('auth-name').value);
  const password = byId('auth-password').value;
  const problem = !name ? 'Enter a valid name: 1 to 32 of a-z 0-9 _ . -.'
    : password.length < 8 ? 'A password has at least 8 characters.' : '';
  page.authError.textContent = problem;
  if (problem) return;
  page.authForm.setAttribute('aria-busy', 'true');
  try {
    const grant = creating ? await account.register(name, password) : await account.login(name, password);
    session = account.saveSession(grant);
    enterChat();
  } catch (err) {
    page.authError.textContent = err instanceof account.ApiError ? account.explain(err) : String(err);
  } finally {
    page.authForm.removeAttribute('aria-busy');
  }
}

function enterChat() {
  show(page.signin, false);
  show(page.app, true);
  byId('me').textContent = session.user;
  byId('conversations').replaceChildren();
  byId('views').replaceChildren();
  byId('nav-unread').hidden = true;
  document.title = 'actorchat';
  chat = new Chat(session, chatUI(), ended);
  chat.start();
  page.text.focus();
}

/** chatUI is what the chat draws into. */
function chatUI() {
  return {
    conversations: byId('conversations'),
    views: byId('views'),
    title: byId('conversation-title'),
    marker: byId('new-marker'),
    unread: byId('nav-unread'),
    live: byId('live'),
    online: byId('online'),
    onlineCount: byId('online-count'),
    onlineMore: byId('online-more'),
    pick: (name) => openConversation(name),
    onSwitch: () => closeNav(),
    banner,
  };
}

/** ended leaves the chat when the server no longer accepts the session. */
function ended(state) {
  leaveChat();
  showSignIn(state === 'revoked'
    ? 'You were signed out: this session was revoked (signed out elsewhere, or the password changed).'
    : 'You were signed out: the session is no longer valid. Sign in again.');
}

function leaveChat() {
  chat?.stop();
  chat = null;
  account.clearSession();
  session = null;
  banner('open');
}

async function signOut() {
  const { token } = session;
  leaveChat();
  try {
    await account.logout(token);
  } catch {
    // already revoked, or unreachable: the tab forgets the token either way
  }
  showSignIn('Signed out.');
}

const bannerTexts = {
  connecting: 'Connecting…',
  lost: 'Connection lost. Reconnecting',
  restarting: 'The server is restarting. Reconnecting',
  unreachable: 'Cannot reach the server. Retrying',
  replaced: 'You signed in elsewhere, so this tab is disconnected.',
};

/** banner shows the connection's state: nothing while it is up. */
function banner(state, detail = {}) {
  const box = byId('banner');
  const action = byId('banner-action');
  box.hidden = state === 'open';
  box.dataset.state = state;
  let text = bannerTexts[state] ?? '';
  if (state === 'down') text = `${bannerTexts[detail.reason]} in ${Math.max(1, Math.round(detail.delay / 1000))} s…`;
  byId('banner-text').textContent = text;
  action.hidden = state !== 'down' && state !== 'replaced';
  action.textContent = state === 'replaced' ? 'Use this tab' : 'Retry now';
}

function bannerAction() {
  if (!chat) return;
  if (byId('banner').dataset.state === 'replaced') chat.start();
  else chat.conn.retryNow();
  page.text.focus();
}

function wireApp() {
  page.composer.addEventListener('submit', (ev) => { ev.preventDefault(); sendTyped(); });
  page.text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sendTyped();
    }
  });
  byId('new-dm').addEventListener('submit', (ev) => { ev.preventDefault(); openTyped(); });
  byId('signout').addEventListener('click', signOut);
  byId('who-refresh').addEventListener('click', () => chat?.who());
  byId('new-marker').addEventListener('click', () => { chat?.jump(); page.text.focus(); });
  byId('banner-action').addEventListener('click', bannerAction);
  byId('nav-toggle').addEventListener('click', toggleNav);
  wirePassword();
  document.addEventListener('visibilitychange', () => chat?.conversations.read());
  window.addEventListener('online', () => chat?.conn.retryNow());
}

function sendTyped() {
  if (!chat) return;
  const problem = chat.send(page.text.value);
  page.composerError.textContent = problem;
  if (!problem) page.text.value = '';
  page.text.focus();
}

function openTyped() {
  const input = byId('new-dm-name');
  const name = foldName(input.value);
  byId('new-dm-error').textContent = name ? '' : 'Not a valid name.';
  if (!name) return;
  input.value = '';
  openConversation(name);
}

function openConversation(name) {
  if (!chat) return;
  chat.conversations.activate(chat.conversations.dm(name).key);
  page.text.focus();
}

function toggleNav() {
  const open = byId('nav-toggle').getAttribute('aria-expanded') !== 'true';
  byId('nav-toggle').setAttribute('aria-expanded', String(open));
  page.app.classList.toggle('nav-open', open);
}

function closeNav() {
  byId('nav-toggle').setAttribute('aria-expanded', 'false');
  page.app.classList.remove('nav-open');
}

function wirePassword() {
  const dialog = byId('password-dialog');
  byId('open-password').addEventListener('click', () => {
    byId('password-form').reset();
    byId('password-error').textContent = byId('password-done').textContent = '';
    dialog.showModal();
  });
  byId('password-cancel').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => page.text.focus());
  byId('password-form').addEventListener('submit', (ev) => { ev.preventDefault(); changePassword(); });
}

async function changePassword() {
  const old = byId('password-old').value;
  const next = byId('password-new').value;
  byId('password-done').textContent = '';
  if (next.length < 8) {
    byId('password-error').textContent = 'A password has at least 8 characters.';
    return;
  }
  try {
    await account.changePassword(session.token, old, next);
    byId('password-error').textContent = '';
    byId('password-done').textContent = 'Password changed. Your other sessions were signed out.';
    byId('password-form').reset();
  } catch (err) {
    const wrong = err.code === 'bad_credentials' ? 'The current password is wrong.' : '';
    byId('password-error').textContent = wrong || (err instanceof account.ApiError ? account.explain(err) : String(err));
  }
}

start();
