// Rendering of names, times and statuses: pure functions of their input
// (and of the browser's locale and time zone).

import { el } from './dom.js';

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dated = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

/** A name as the server folds it, or '' when it is not a valid name. */
export function foldName(name) {
  const folded = String(name).trim().replace(/[A-Z]/g, (c) => c.toLowerCase());
  return /^[a-z0-9_][a-z0-9_.-]{0,31}$/.test(folded) ? folded : '';
}

/** The server's UTC timestamp in the reader's local time: the time of day today, with the date before. */
export function localTime(ts, now = new Date()) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toDateString() === now.toDateString() ? clock.format(d) : dated.format(d);
}

/** The exact UTC time of a server timestamp, for a title: 2026-11-28 12:00:00.123 UTC. */
export function utcTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** A <time> element: local time shown, the exact UTC time on hover. */
export function timeNode(ts) {
  return el('time', { datetime: ts, title: utcTime(ts) }, localTime(ts));
}

/** What a refusal of a say or dm means to the person who sent it. */
export function refusal(code, to) {
  switch (code) {
    case 'rate_limited': return 'rate limited: sending again shortly';
    case 'queue_full': return `not sent: ${to}'s offline queue is full`;
    case 'invalid_text': return 'not sent: the text is blank or too long';
    case 'unknown_user': return `not sent: there is no user ${to}`;
    case 'internal': return 'not sent: the server failed';
    default: return `not sent: refused by the server (${code})`;
  }
}

/** The UTF-8 length of text, in bytes: the server's limit counts bytes. */
export function byteLength(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * A message as a list item. msg is the server's message object (or a local
 * echo of one without id or ts); me is the reader's name.
 */
export function messageNode(msg, me) {
  const own = msg.from === me;
  const meta = el('div', { class: 'meta' }, el('span', { class: 'from' }, own ? `${msg.from} (you)` : msg.from));
  if (msg.kind === 'dm') meta.append(el('span', { class: 'to' }, `to ${msg.to === me ? 'you' : msg.to}`));
  if (msg.ts) meta.append(timeNode(msg.ts));
  if (msg.offline) meta.append(el('span', { class: 'tag offline' }, 'offline'));
  return el('li', { class: own ? 'msg own' : 'msg', 'data-id': msg.id },
    meta,
    el('p', { class: 'text' }, msg.text),
    el('p', { class: 'status', hidden: true }));
}

/** setStatus shows a status line under a message node; '' hides it. */
export function setStatus(node, text, kind = '') {
  const status = node.querySelector('.status');
  status.textContent = text;
  status.hidden = text === '';
  status.className = kind ? `status ${kind}` : 'status';
}
