// Who is online: the welcome's list, kept current from presence frames.
// Above the server's presence limit no presence frames come, so the list
// can only be as fresh as the last welcome or who answer: the count says
// how many are online, and Refresh asks again. A list is at most 1,000
// names (the protocol's page); the rest are counted.

import { coalesce, el } from './dom.js';

export class Roster {
  /** list, count and more are the page's elements; pick(name) opens a conversation with someone. */
  constructor({ list, count, more, me, pick }) {
    Object.assign(this, { listEl: list, countEl: count, moreEl: more, me, pick });
    this.names = new Set();
    this.online = 0;
    this.render = coalesce(() => this.draw(), 100); // a wave of presence costs one redraw
  }

  /** set replaces the list (from a welcome or a who answer); online counts everyone. */
  set(users, online) {
    this.names = new Set(users);
    this.online = Math.max(online | 0, this.names.size);
    this.render();
  }

  /** presence applies one presence frame. */
  presence(user, online) {
    const had = this.names.has(user);
    if (online && !had) {
      this.names.add(user);
      this.online += 1;
    } else if (!online && had) {
      this.names.delete(user);
      this.online = Math.max(this.online - 1, this.names.size);
    }
    this.render();
  }

  /** partial reports whether more are online than the list shows. */
  partial() {
    return this.online > this.names.size;
  }

  draw() {
    const names = [...this.names].sort();
    this.listEl.replaceChildren(...names.map((name) => this.item(name)));
    this.countEl.textContent = `(${this.online})`;
    const rest = this.online - names.length;
    this.moreEl.textContent = rest > 0 ? `and ${rest} more; Refresh to update the list` : '';
  }

  item(name) {
    const you = name === this.me;
    const button = el('button', { type: 'button', class: 'person', title: you ? 'You' : `Message ${name}` },
      el('span', { class: 'dot', 'aria-hidden': 'true' }), you ? `${name} (you)` : name);
    button.addEventListener('click', () => this.pick(name));
    return el('li', {}, button);
  }
}
