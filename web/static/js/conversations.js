// The list of conversations: the public room first, then private
// conversations, the most recently active first, each with its count of
// unread messages. One conversation is shown at a time; a message that
// arrives in another one, or while the tab is hidden, counts as unread
// until the reader looks.

import { el } from './dom.js';
import { ConversationView } from './conversation.js';

/** The key of the public room; a private conversation's is 'dm:' and the other's name. */
export const publicKey = 'public';

export class Conversations {
  /**
   * me is the reader's name; list, views, title, marker and total (the
   * unread count on the narrow screen's Chats button) are the page's
   * elements; older(beforeId) asks for the public room's older messages;
   * onSwitch() is told when another conversation is shown.
   */
  constructor({ me, list, views, title, marker, total, older, onSwitch }) {
    Object.assign(this, { me, listEl: list, viewsEl: views, titleEl: title, markerEl: marker, totalEl: total, onSwitch });
    this.all = new Map(); // key -> conversation, public first, then most recent first
    this.activeKey = '';
    this.add(publicKey, 'Public room', null, {
      older,
      beginning: 'This is the beginning of the public room’s history.',
    });
    this.activate(publicKey);
  }

  add(key, title, peer, viewOptions) {
    const view = new ConversationView({
      me: this.me, label: title, onChange: () => this.drawMarker(), ...viewOptions,
    });
    const badge = el('span', { class: 'badge', hidden: true });
    const button = el('button', { type: 'button', class: 'conv' }, el('span', { class: 'conv-name' }, title), badge);
    button.addEventListener('click', () => this.activate(key));
    view.root.dataset.key = key;
    button.dataset.key = key;
    const conv = { key, title, peer, view, unread: 0, item: el('li', {}, button), button, badge };
    this.all.set(key, conv);
    this.viewsEl.append(view.root);
    this.listEl.append(conv.item);
    return conv;
  }

  /** get returns the conversation with key, or undefined. */
  get(key) {
    return this.all.get(key);
  }

  /** active returns the conversation shown. */
  active() {
    return this.all.get(this.activeKey);
  }

  /** dm returns the private conversation with name, made if new. */
  dm(name) {
    const key = `dm:${name}`;
    return this.all.get(key) ?? this.add(key, name === this.me ? `${name} (you)` : name, name, {
      beginning: `Private messages with ${name}. The server keeps them only until they are delivered, so this conversation starts with this visit.`,
    });
  }

  /** activate shows the conversation with key and marks it read. */
  activate(key) {
    const next = this.all.get(key);
    if (!next) return;
    const prev = this.active();
    if (prev && prev !== next) prev.view.hide();
    this.activeKey = key;
    for (const c of this.all.values()) c.button.setAttribute('aria-current', c === next ? 'true' : 'false');
    this.titleEl.textContent = next.peer ? `Private: ${next.title}` : next.title;
    next.view.show();
    this.read();
    this.drawMarker();
    this.onSwitch?.();
  }

  /** arrived counts a message in conv as unread unless the reader sees it, and moves conv up. */
  arrived(conv) {
    const top = this.all.get(publicKey).item.nextSibling; // the most recent private conversation
    if (conv.peer && top !== conv.item) this.listEl.insertBefore(conv.item, top);
    if (conv.key === this.activeKey && !document.hidden) return;
    conv.unread += 1;
    this.drawBadge(conv);
  }

  /** read marks the conversation shown as read, if the reader can see it. */
  read() {
    const conv = this.active();
    if (!conv || document.hidden || conv.unread === 0) return;
    conv.unread = 0;
    this.drawBadge(conv);
  }

  drawBadge(conv) {
    conv.badge.hidden = conv.unread === 0;
    conv.badge.textContent = String(conv.unread);
    conv.badge.setAttribute('aria-label', `${conv.unread} unread`);
    const total = [...this.all.values()].reduce((n, c) => n + c.unread, 0);
    document.title = total > 0 ? `(${total}) actorchat` : 'actorchat';
    this.totalEl.hidden = total === 0;
    this.totalEl.textContent = String(total);
  }

  /** drawMarker shows the "new messages" marker of the conversation shown. */
  drawMarker() {
    const view = this.active()?.view;
    if (!view) return;
    const { unseen, detached } = view;
    this.markerEl.hidden = unseen === 0 && !detached;
    const news = unseen === 1 ? '1 new message' : `${unseen} new messages`;
    if (detached) this.markerEl.textContent = unseen > 0 ? `${news}: jump to the latest ↓` : 'Jump to the latest ↓';
    else this.markerEl.textContent = `${news} ↓`;
  }
}
