// Text chat: for deaf and hard-of-hearing participants this is a main channel, not an extra.
import { clockTime, el } from './ui.js';

export class Chat {
  constructor({ list, form, input, badge, empty, isVisible, send, myId, onUnseen }) {
    this.list = list;
    this.input = input;
    this.badges = Array.isArray(badge) ? badge : [badge];
    this.onUnseen = onUnseen ?? (() => {});
    this.empty = empty;
    this.isVisible = isVisible;
    this.send = send;
    this.myId = myId;
    this.unread = 0;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    input.addEventListener('keydown', (event) => {
      // Enter sends; Shift+Enter makes a new line; never while an IME is composing.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
  }

  submit() {
    const text = this.input.value.trim();
    if (!text) return;
    if (this.send({ type: 'chat', text: text.slice(0, 2000) })) this.input.value = '';
  }

  add(message) {
    const mine = message.from === this.myId();
    const at = message.at ? new Date(message.at) : new Date();
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(el('li', { class: mine ? 'chat-message mine' : 'chat-message' },
      el('div', { class: 'chat-meta' },
        el('span', { class: 'chat-name', text: mine ? `${message.name} (you)` : message.name }),
        el('time', { datetime: at.toISOString(), text: clockTime(at) })),
      el('p', { class: 'chat-text', text: message.text })));
    this.empty.hidden = true;
    if (stick || mine) this.list.scrollTop = this.list.scrollHeight;
    if (!mine && !this.isVisible()) {
      this.unread += 1;
      this.renderBadge();
      this.onUnseen(message);
    }
  }

  markRead() {
    this.unread = 0;
    this.renderBadge();
  }

  renderBadge() {
    for (const badge of this.badges) {
      badge.hidden = this.unread === 0;
      badge.textContent = String(this.unread);
      badge.setAttribute('aria-label', `${this.unread} unread`);
    }
  }
}
