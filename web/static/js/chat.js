// The chat: server frames turned into conversations, the roster, the
// states of the reader's own messages and the connection banner.
//
// Own messages. Each say or dm shows at once below its conversation as an
// echo ("sending"), and is settled by its answer: a receipt moves it into
// the conversation with the id and time the server gave it ("sent", or
// "queued" when the recipient is offline); a refusal marks it with the
// reason, except a refusal for rate, which the connection sends again. The
// server sends a say's copy before its receipt, so a copy of one's own
// public message settles the oldest echo with the same text (which of two
// identical texts does not show).
//
// After every welcome the chat asks for the latest public history and holds
// the other frames until it is answered (or for holdFor), so that the room
// shows in order: what was missed while away, then what came since.

import { el } from './dom.js';
import { byteLength, refusal, setStatus } from './format.js';
import { Connection } from './connection.js';
import { Conversations, publicKey } from './conversations.js';
import { Roster } from './roster.js';

/** Public messages asked for on joining, and per page when scrolling up. */
export const historyPage = 50;
/** The protocol's bounds on a message: text bytes, and the whole frame. */
export const maxText = 4096;
const maxFrame = 16384;
const holdFor = 1000; // ms the other frames wait for the history answer
const seenIds = 10000; // private message ids remembered to drop redeliveries
const announced = 5; // messages kept in the aria-live region

export class Chat {
  /**
   * session is {user, token}; ui holds the page's elements; onEnd(state)
   * is told when the session ends for good ('revoked' or 'unauthorized').
   */
  constructor(session, ui, onEnd) {
    this.me = session.user;
    this.ui = ui;
    this.onEnd = onEnd;
    this.outbox = new Map(); // ref -> own message waiting for its answer
    this.seen = new Set(); // ids of private messages shown, oldest first
    this.held = null; // frames waiting for the history answer, or null
    this.asked = {}; // the history requests in flight: latest, older, jump
    this.conversations = new Conversations({
      me: this.me, list: ui.conversations, views: ui.views, title: ui.title, marker: ui.marker, total: ui.unread,
      older: (id) => this.older(id), onSwitch: ui.onSwitch,
    });
    this.roster = new Roster({ list: ui.online, count: ui.onlineCount, more: ui.onlineMore, me: this.me, pick: ui.pick });
    this.conn = new Connection({
      url: () => chatURL('ws', session),
      probeUrl: () => chatURL('http', session),
      onFrame: (f, req) => this.frame(f, req),
      onState: (state, detail) => this.state(state, detail),
      onWritten: (req) => this.written(req),
    });
  }

  start() {
    this.conn.start();
  }

  stop() {
    clearTimeout(this.holdTimer);
    this.conn.stop();
  }

  /** frame handles one server frame; req is the request it answers, if any. */
  frame(f, req) {
    if (f.type === 'welcome') {
      this.release(); // what the last connection held back comes first
      this.welcome(f);
      return;
    }
    if (this.held && !(f.type === 'history' && req === this.asked.latest)) {
      this.held.push([f, req]);
      return;
    }
    switch (f.type) {
      case 'message': this.message(f); break;
      case 'history': this.history(f, req); break;
      case 'sent': this.sent(f, req); break;
      case 'error': this.refused(f, req); break;
      case 'presence': this.roster.presence(f.user, f.online === true); break;
      case 'users': this.roster.set(f.users ?? [], f.online); break;
      default: break; // a frame of a later version
    }
  }

  welcome(f) {
    this.roster.set(f.users ?? [], f.online);
    this.asked = { latest: this.conn.ask({ type: 'history', limit: historyPage }) };
    this.conversations.get(publicKey).view.loaded(); // a page asked for on the last connection is not coming
    this.held = [];
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.release(), holdFor);
  }

  /** release handles the frames held back for the history answer. */
  release() {
    clearTimeout(this.holdTimer);
    const held = this.held ?? [];
    this.held = null;
    for (const [f, req] of held) this.frame(f, req);
  }

  history(f, req) {
    const msgs = (f.messages ?? []).filter((m) => m && typeof m.id === 'string');
    const view = this.conversations.get(publicKey).view;
    const full = msgs.length >= historyPage;
    if (req === this.asked.latest) {
      view.merge(msgs, full);
      this.release();
    } else if (req === this.asked.older) {
      view.prepend(msgs, full);
    } else if (req === this.asked.jump) {
      view.replace(msgs, full);
    }
  }

  /** older asks for the public messages before id; it reports whether it could. */
  older(id) {
    this.asked.older = this.conn.ask({ type: 'history', limit: historyPage, before: id });
    return this.asked.older !== null;
  }

  /** jump shows the latest messages of the conversation shown. */
  jump() {
    const conv = this.conversations.active();
    if (!conv.view.detached) {
      conv.view.toLatest();
      return;
    }
    if (conv.key === publicKey) this.asked.jump = this.conn.ask({ type: 'history', limit: historyPage });
  }

  message(f) {
    if (f.kind === 'dm') this.privateMessage(f);
    else this.publicMessage(f);
  }

  publicMessage(f) {
    const conv = this.conversations.get(publicKey);
    const own = f.from === this.me ? this.ownEcho(f) : null;
    if (own) {
      this.settle(own, f, 'sent');
      return;
    }
    if (conv.view.live(f) && f.from !== this.me) this.arrived(conv, `${f.from}: ${f.text}`);
  }

  /** ownEcho finds the say a copy of one's own public message answers. */
  ownEcho(f) {
    let byText = null;
    for (const m of this.outbox.values()) {
      if (m.kind !== 'say' || m.settled) continue;
      if (m.id === f.id) return m;
      if (!byText && !m.id && m.text === f.text) byText = m;
    }
    return byText;
  }

  privateMessage(f) {
    if (!this.remember(f.id)) return; // a redelivery of one already shown
    const peer = f.from === this.me ? f.to : f.from;
    const conv = this.conversations.dm(peer);
    if (conv.view.live(f)) this.arrived(conv, `Private message from ${f.from}${f.offline ? ' (sent while you were offline)' : ''}: ${f.text}`);
  }

  /** remember records a private message id and reports whether it is new. */
  remember(id) {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > seenIds) this.seen.delete(this.seen.values().next().value);
    return true;
  }

  arrived(conv, announcement) {
    this.conversations.arrived(conv);
    const live = this.ui.live;
    live.append(el('p', {}, announcement));
    while (live.childElementCount > announced) live.firstElementChild.remove();
  }

  /** send sends text to the conversation shown; it returns why it could not, or ''. */
  send(text) {
    if (text.trim() === '') return 'Type a message first.';
    const size = byteLength(text);
    if (size > maxText) return `Too long: ${size} bytes, the limit is ${maxText}.`;
    const conv = this.conversations.active();
    const frame = conv.peer ? { type: 'dm', to: conv.peer, text } : { type: 'say', text };
    if (byteLength(JSON.stringify(frame)) + 96 > maxFrame) return 'Too long once encoded; shorten it.';
    const req = this.conn.send(frame);
    const kind = conv.peer ? 'dm' : 'say';
    const echo = conv.view.echo({ kind: conv.peer ? 'dm' : 'public', from: this.me, to: conv.peer, text });
    const m = { req, kind, text, to: conv.peer, conv, echo, id: '', settled: false };
    this.outbox.set(req.ref, m);
    this.pendingStatus(m);
    return '';
  }

  pendingStatus(m) {
    if (m.settled) return;
    setStatus(m.echo, m.req.written ? 'sending…' : 'waiting for the connection…', 'wait');
  }

  written(req) {
    const m = this.outbox.get(req.ref);
    if (m) this.pendingStatus(m);
  }

  sent(f, req) {
    const m = req && this.outbox.get(req.ref);
    if (!m) return;
    this.outbox.delete(req.ref);
    m.id = f.id;
    const status = f.queued ? `queued: ${m.to} is offline` : 'sent';
    if (m.kind === 'dm') this.remember(f.id);
    if (m.settled) {
      const node = m.conv.view.ids.get(f.id);
      if (node) setStatus(node, status, 'ok');
      return;
    }
    const msg = { id: f.id, ts: f.ts, kind: m.kind === 'dm' ? 'dm' : 'public', from: this.me, to: m.to, text: m.text };
    this.settle(m, msg, status);
  }

  settle(m, msg, status) {
    m.settled = true;
    m.id = msg.id;
    m.conv.view.settle(m.echo, msg, status);
  }

  refused(f, req) {
    const m = req && this.outbox.get(req.ref);
    if (req && req === this.asked.latest) this.release(); // an older server without history
    if (req && req === this.asked.older) this.conversations.get(publicKey).view.prepend([], true);
    if (!m) return;
    setStatus(m.echo, refusal(f.code, m.to), f.code === 'rate_limited' ? 'wait' : 'failed');
    if (f.code === 'rate_limited') return; // still pending: the connection sends it again
    this.outbox.delete(req.ref);
    m.echo.classList.replace('pending', 'failed');
    const dismiss = el('button', { type: 'button', class: 'small secondary' }, 'Dismiss');
    dismiss.addEventListener('click', () => m.echo.remove());
    m.echo.append(dismiss);
  }

  /** who asks the server who is online. */
  who() {
    this.conn.ask({ type: 'who' });
  }

  /** state shows the connection's state in the banner, and ends the session when it must. */
  state(state, detail) {
    if (state === 'revoked' || state === 'unauthorized') {
      this.onEnd(state);
      return;
    }
    if (state === 'down') for (const m of this.outbox.values()) this.pendingStatus(m);
    this.ui.banner(state, detail);
  }
}

/** chatURL is the chat endpoint with the credentials: ws(s) to connect, http(s) to probe. */
function chatURL(scheme, session) {
  const secure = location.protocol === 'https:';
  const url = new URL('chat', location.href); // beside the page, wherever it is mounted
  url.protocol = `${scheme}${secure ? 's' : ''}:`;
  // Both: the token proves the name, and user names it for servers that
  // read only the name (docs/protocol.md, version 1).
  url.searchParams.set('token', session.token);
  url.searchParams.set('user', session.user);
  return url.href;
}
