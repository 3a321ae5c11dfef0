// The WebSocket to the chat server, kept up across failures, and the
// requests waiting for an answer. The same guarantees as the command-line
// client (package client):
//
//   - every say and dm carries an idempotency key and is kept until the
//     server answers it (a receipt or a refusal); whatever is unanswered
//     when a connection ends is written again on the next one, with the
//     same ref and key, so that the server answers a resend with the
//     original receipt instead of sending the message twice;
//   - say and dm wait for the welcome, which announces the rate limit, and
//     leave at its pace (pace.js); one refused for rate is sent again, in
//     its place, and stays pending;
//   - other requests (who, history) are answered on the connection they
//     were asked on, or not at all: they are dropped when it ends, and the
//     chat asks again after the next welcome;
//   - reconnecting waits with exponential backoff and jitter, reset by a
//     welcome; close 4000 (a newer connection took the session over) and
//     4003 (the credentials were revoked) end the reconnecting, and so does
//     a refusal of the credentials before the upgrade.
//
// A browser does not tell a page why a WebSocket handshake failed, so when
// a connection closes before it opened, the page asks the same URL again
// with a plain GET: the server refuses a bad token (401) or a name that
// does not match it (403) before any upgrade, and any other answer (or
// none) counts as the server being unreachable for now.
//
// Everything runs on the page's one thread; the handlers are called one
// frame at a time, in the order the frames arrived.

import { Pace } from './pace.js';

/** Close codes the page acts on (docs/protocol.md). */
export const Close = Object.freeze({ normal: 1000, goingAway: 1001, replaced: 4000, revoked: 4003 });

const backoffMin = 250; // ms, doubling per failed attempt
const backoffMax = 10000;

/** A request: its frame, and whether it is kept until answered (say, dm). */
class Request {
  constructor(seq, frame, durable) {
    this.seq = seq;
    this.ref = `${durable ? 'm' : 'q'}${seq}`;
    this.frame = { ...frame, ref: this.ref };
    this.durable = durable;
    this.written = false; // on the current connection
  }
}

/**
 * Connection keeps the WebSocket up. Its options: url() and probeUrl()
 * give the addresses with the current credentials; onFrame(frame, request)
 * gets every server frame with the request it answers (or null);
 * onState(state, detail) is told of 'connecting', 'open', 'down' (detail:
 * {reason, delay}), 'replaced', 'revoked' and 'unauthorized';
 * onWritten(request) is told when a request leaves.
 */
export class Connection {
  constructor({ url, probeUrl, onFrame, onState, onWritten = () => {} }) {
    Object.assign(this, { url, probeUrl, onFrame, onState, onWritten });
    this.pace = new Pace();
    this.pending = new Map(); // ref -> Request, oldest first
    this.queue = []; // requests to write on this connection, oldest first
    this.keyPrefix = randomHex(6); // so keys never repeat across page loads
    this.seq = 0;
    this.ws = null;
    this.opened = false; // the current socket has opened
    this.welcomed = false; // and the welcome has arrived
    this.stopped = true;
    this.attempt = 0; // the backoff step
    this.retryTimer = 0;
    this.paceTimer = 0;
  }

  /** start connects, and keeps connecting until stop or a final close. */
  start() {
    this.stopped = false;
    this.connect();
  }

  /** stop closes the connection normally and stops reconnecting; pending requests stay. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.drop();
    if (ws) ws.close(Close.normal);
  }

  /** retryNow skips the rest of a backoff wait. */
  retryNow() {
    if (!this.stopped && !this.ws) this.connect();
  }

  /** send makes a say or dm (kept until answered, with a key) and sends it when it can. */
  send(frame) {
    const req = this.add(frame, true);
    req.key = `${this.keyPrefix}-${req.seq}`;
    req.frame.key = req.key;
    this.pending.set(req.ref, req);
    if (this.welcomed) this.enqueue(req);
    return req;
  }

  /** ask sends a who or history request on the connection that is up; it returns null when none is. */
  ask(frame) {
    if (!this.welcomed) return null;
    const req = this.add(frame, false);
    this.pending.set(req.ref, req);
    this.enqueue(req);
    return req;
  }

  add(frame, durable) {
    this.seq += 1;
    return new Request(this.seq, frame, durable);
  }

  /** unanswered reports the say and dm requests still waiting, oldest first. */
  unanswered() {
    return [...this.pending.values()].filter((r) => r.durable);
  }

  connect() {
    clearTimeout(this.retryTimer);
    if (this.stopped || this.ws) return;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => { if (ws === this.ws) this.opened = true; };
    ws.onmessage = (ev) => { if (ws === this.ws) this.receive(ev.data); };
    ws.onclose = (ev) => { if (ws === this.ws) this.closed(ev); };
    this.onState('connecting');
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return; // the server sends JSON objects only
    }
    if (frame === null || typeof frame !== 'object') return;
    if (frame.type === 'welcome') {
      this.welcome(frame);
      return;
    }
    this.onFrame(frame, this.answered(frame));
  }

  /**
   * welcome paces say and dm to the announced limit and, once the chat has
   * seen the welcome (and asked for what it missed), sends every unanswered
   * one again.
   */
  welcome(frame) {
    this.welcomed = true;
    this.attempt = 0;
    this.pace.set(frame.msg_rate, frame.msg_burst);
    this.onState('open');
    this.onFrame(frame, null);
    for (const req of this.unanswered()) this.enqueue(req);
  }

  /** answered returns the request a frame answers, no longer pending unless refused for rate. */
  answered(frame) {
    if (typeof frame.ref !== 'string') return null;
    const req = this.pending.get(frame.ref);
    if (!req || !['sent', 'error', 'users', 'history'].includes(frame.type)) return null;
    if (frame.type === 'error' && frame.code === 'rate_limited' && req.durable) {
      this.pace.refused();
      this.enqueue(req); // in its place among the others
      return req;
    }
    this.pending.delete(frame.ref);
    return req;
  }

  /**
   * enqueue queues req to be written: who and history before say and dm,
   * which wait for the pace, and say and dm in the order they were made.
   */
  enqueue(req) {
    if (this.queue.includes(req)) return;
    req.written = false;
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].durable && (!req.durable || this.queue[i - 1].seq > req.seq)) i -= 1;
    this.queue.splice(i, 0, req);
    this.pump();
  }

  /** pump writes what is queued, say and dm at the pace of the limit. */
  pump() {
    clearTimeout(this.paceTimer);
    this.paceTimer = 0;
    while (this.queue.length > 0 && this.welcomed) {
      const req = this.queue[0];
      const wait = req.durable ? this.pace.take() : 0;
      if (wait > 0) {
        this.paceTimer = setTimeout(() => this.pump(), wait);
        return;
      }
      this.queue.shift();
      this.ws.send(JSON.stringify(req.frame));
      req.written = true;
      this.onWritten(req);
    }
  }

  /** drop forgets the socket: what was queued on it waits for the next welcome. */
  drop() {
    this.ws = null;
    this.opened = this.welcomed = false;
    this.queue = [];
    clearTimeout(this.paceTimer);
    for (const [ref, req] of this.pending) {
      req.written = false;
      if (!req.durable) this.pending.delete(ref);
    }
  }

  closed(ev) {
    const { opened } = this;
    this.drop();
    if (this.stopped) return;
    if (ev.code === Close.replaced) this.end('replaced');
    else if (ev.code === Close.revoked) this.end('revoked');
    else if (!opened) this.probe();
    else this.later(ev.code === Close.goingAway ? 'restarting' : 'lost');
  }

  end(state) {
    this.stopped = true;
    this.onState(state);
  }

  /** probe learns why a connection never opened: refused credentials end the reconnecting. */
  async probe() {
    let status = 0;
    try {
      const res = await fetch(this.probeUrl(), { cache: 'no-store', credentials: 'omit' });
      status = res.status;
    } catch {
      // unreachable: status stays 0
    }
    if (this.stopped) return;
    if (status === 401 || status === 403) this.end('unauthorized');
    else this.later('unreachable');
  }

  /** later connects again after the next backoff delay: between half and all of the step. */
  later(reason) {
    const step = Math.min(backoffMax, backoffMin * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 16);
    const delay = step / 2 + Math.random() * (step / 2);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.onState('down', { reason, delay });
  }
}

function randomHex(bytes) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
