// One conversation's view: the public room, or the private messages with
// one person. It is a scrolling list of messages in the order they came,
// with the reader's own messages that have no answer yet below it
// ("outgoing"), and it stays bounded however long the session:
//
//   - while the reader is at the bottom, at most maxNodes messages are in
//     the list: the oldest leave at the top (the public room can load them
//     again by scrolling up), at most followEvery ms after the messages
//     that push them out arrive.
//   - while the reader is scrolled up, new messages are added below and
//     counted for the "new messages" marker, up to maxBehind more; past
//     that the newest are no longer added, the view is "detached", and the
//     marker jumps to the latest instead (reloaded from the history). A
//     private conversation, which has no history to reload from, loses its
//     oldest instead.
//   - scrolling near the top asks for older messages (public history), which
//     are put above without moving what the reader sees; past the same
//     bound the newest leave at the bottom, and the view is detached.
//
// A message is in a view at most once: the view knows the ids of the
// messages it holds.

import { coalesce, el } from './dom.js';
import { messageNode, setStatus } from './format.js';

/** The most message nodes one view keeps while the reader follows the bottom. */
export const maxNodes = 400;
/** How many more it keeps while the reader is scrolled up. */
export const maxBehind = 200;

const bottomSlack = 48; // px above the bottom that still count as at the bottom
const topSlack = 400; // px from the top at which older messages are asked for
// While the reader is at the bottom, new messages are trimmed and scrolled
// to at most once per followEvery ms rather than once each: scrolling
// reads the layout, and a flood of messages would lay the list out once
// per message.
const followEvery = 16;

export class ConversationView {
  /**
   * me is the reader's name; label names the view for assistive
   * technology; older(beforeId), when given, asks for the messages before
   * an id (the public room's history) and returns whether it could;
   * onChange() is told when the marker's state changes; beginning is the
   * text shown above the first message once nothing older exists.
   */
  constructor({ me, label, older = null, onChange = () => {}, beginning }) {
    Object.assign(this, { me, older, onChange, beginning });
    this.root = el('div', { class: 'scroller', tabindex: '0', role: 'region', 'aria-label': label, hidden: true });
    this.top = el('p', { class: 'edge' });
    this.list = el('ol', { class: 'messages' });
    this.outgoing = el('ol', { class: 'messages outgoing', 'aria-label': 'Your messages not yet answered' });
    this.root.append(this.top, this.list, this.outgoing);
    this.ids = new Map(); // message id -> its node in list
    this.stuck = true; // the reader is at the bottom; kept while hidden
    this.detached = false; // the newest messages are not in the list
    this.unseen = 0; // messages that came below the reader
    this.moreAbove = older !== null;
    this.loading = false;
    this.savedTop = 0;
    this.lastTop = 0; // scrollTop after the last scroll, the reader's or ours
    this.followed = 0; // messages added at the bottom since the last fit
    this.follow = coalesce(() => this.fit(), followEvery);
    this.root.addEventListener('scroll', () => this.scrolled(), { passive: true });
    this.edgeText();
  }

  /** show displays the view where the reader left it. */
  show() {
    this.root.hidden = false;
    if (this.stuck) this.toBottom();
    else this.root.scrollTop = this.savedTop;
  }

  hide() {
    this.savedTop = this.root.scrollTop;
    this.root.hidden = true;
  }

  /** count is the number of messages in the list. */
  count() {
    return this.list.childElementCount;
  }

  /** has reports whether the message with id is in the view. */
  has(id) {
    return this.ids.has(id);
  }

  atBottom() {
    const r = this.root;
    return r.scrollHeight - r.scrollTop - r.clientHeight <= bottomSlack;
  }

  toBottom() {
    this.root.scrollTop = this.root.scrollHeight;
    this.lastTop = this.root.scrollTop;
  }

  /**
   * scrolled follows the reader: scrolling up leaves the bottom, reaching
   * the bottom returns to it. A scroll that did not go up (ours, or the
   * list growing under a scroll event on its way) changes nothing else.
   */
  scrolled() {
    if (this.root.hidden) return;
    const top = this.root.scrollTop;
    if (this.atBottom()) this.stuck = !this.detached;
    else if (top < this.lastTop) this.stuck = false;
    this.lastTop = top;
    if (this.stuck && this.unseen > 0) {
      this.unseen = 0;
      this.onChange();
    }
    if (this.root.scrollTop < topSlack) this.askOlder();
  }

  askOlder() {
    const first = this.list.firstElementChild;
    if (!this.older || !this.moreAbove || this.loading || !first) return;
    this.loading = this.older(first.dataset.id);
    this.edgeText();
  }

  /** loaded ends a wait for older messages that will not be answered. */
  loaded() {
    this.loading = false;
    this.edgeText();
  }

  edgeText() {
    if (this.loading) this.top.textContent = 'Loading older messages…';
    else if (this.moreAbove) this.top.textContent = '';
    else this.top.textContent = this.beginning;
  }

  node(msg) {
    const node = messageNode(msg, this.me);
    this.ids.set(msg.id, node);
    return node;
  }

  remove(node) {
    this.ids.delete(node.dataset.id);
    node.remove();
  }

  /** live adds a message that just came; it returns its node, or null when it is not shown (a duplicate, or detached). */
  live(msg) {
    if (this.ids.has(msg.id)) return null;
    if (this.detached) {
      this.unseen += 1;
      this.onChange();
      return null;
    }
    const node = this.node(msg);
    this.list.append(node);
    if (this.stuck) {
      this.followed += 1;
      this.follow();
      return node;
    }
    this.unseen += 1;
    this.onChange();
    this.trimBottom();
    return this.ids.has(msg.id) ? node : null;
  }

  /** fit keeps at most maxNodes: the oldest leave while the reader is at the bottom, the newest otherwise. */
  fit() {
    const followed = this.followed;
    this.followed = 0;
    if (this.stuck) {
      if (this.count() > maxNodes && this.older) {
        this.moreAbove = true; // what leaves can be loaded again
        this.edgeText();
      }
      while (this.count() > maxNodes) this.remove(this.list.firstElementChild);
      this.toBottom();
      return;
    }
    if (followed > 0) {
      this.unseen += followed; // they came as the reader scrolled away
      this.onChange();
    }
    this.trimBottom();
  }

  /**
   * trimBottom keeps the bound while the reader is scrolled up: the newest
   * leave, and the view is detached. A view that cannot load messages again
   * (a private conversation: the server keeps no history of them) loses
   * its oldest instead, keeping what the reader sees in place.
   */
  trimBottom() {
    const most = maxNodes + maxBehind;
    if (this.count() <= most) return;
    if (!this.older) {
      const fromBottom = this.root.scrollHeight - this.root.scrollTop;
      while (this.count() > most) this.remove(this.list.firstElementChild);
      this.root.scrollTop = this.root.scrollHeight - fromBottom;
      this.lastTop = this.root.scrollTop;
      return;
    }
    while (this.count() > most) this.remove(this.list.lastElementChild);
    this.detached = true;
    this.onChange();
  }

  /** toLatest scrolls to the newest message and follows the bottom again. */
  toLatest() {
    Object.assign(this, { stuck: true, unseen: 0 });
    this.fit();
    this.onChange();
  }

  /** prepend puts older messages above, keeping what the reader sees in place; full says more may exist. */
  prepend(msgs, full) {
    this.loading = false;
    this.moreAbove = full;
    const fresh = msgs.filter((m) => !this.ids.has(m.id)).map((m) => this.node(m));
    const fromBottom = this.root.scrollHeight - this.root.scrollTop;
    this.list.prepend(...fresh);
    this.edgeText();
    this.root.scrollTop = this.root.scrollHeight - fromBottom;
    this.lastTop = this.root.scrollTop;
    this.stuck = false;
    this.trimBottom();
  }

  /** replace shows msgs, the latest messages, and nothing older: after joining, or to jump to the latest. */
  replace(msgs, full) {
    this.list.replaceChildren();
    this.ids.clear();
    this.list.append(...msgs.map((m) => this.node(m)));
    Object.assign(this, { detached: false, unseen: 0, stuck: true, loading: false, moreAbove: full });
    this.edgeText();
    if (!this.root.hidden) this.toBottom();
    this.onChange();
  }

  /**
   * merge adds the latest messages after a reconnect: those after the last
   * one the view has. With none in common, the view starts again from them.
   */
  merge(msgs, full) {
    if (this.detached) return;
    let last = -1;
    msgs.forEach((m, i) => { if (this.ids.has(m.id)) last = i; });
    if (this.count() === 0 || (last < 0 && msgs.length > 0)) {
      this.replace(msgs, full);
      return;
    }
    for (const m of msgs.slice(last + 1)) this.live(m);
  }

  /** echo shows one of the reader's messages that has no answer yet. */
  echo(msg) {
    const node = messageNode(msg, this.me);
    node.classList.add('pending');
    this.outgoing.append(node);
    if (this.stuck && !this.root.hidden) this.toBottom();
    return node;
  }

  /**
   * settle moves an answered echo into the list as msg (unless the list has
   * it already), and shows status under it. It returns the message's node,
   * or null when the view is detached.
   */
  settle(echo, msg, status) {
    echo.remove();
    const node = this.ids.get(msg.id) ?? this.live(msg);
    if (node) {
      node.classList.add('own');
      setStatus(node, status, 'ok');
    }
    return node;
  }
}
