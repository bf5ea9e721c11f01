// Live captions under the video grid (never over a face). Final lines go into a scrollable log that
// screen readers announce politely; the line each person is in the middle of is shown separately in a
// provisional style, because it may still be rewritten by the next partial.

const SIZE_KEY = 'attune.captionSize';
const ENABLED_KEY = 'attune.captionsOn';
const SIZES = [0.9, 1.05, 1.25, 1.5, 1.8, 2.2];  // rem
const MAX_LINES = 400;
const PARTIAL_STALE_MS = 12000;

export function formatOffset(seconds) {
  const s = Math.max(0, Math.floor(seconds ?? 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export class CaptionView {
  constructor({ root, log, live, toggle, smaller, larger, empty, onToggle }) {
    this.root = root;
    this.log = log;
    this.live = live;
    this.toggle = toggle;
    this.empty = empty;
    this.unavailableText = null;  // set when the server runs this session without live captions
    this.onToggle = onToggle;
    this.partials = new Map();  // participant_id -> {node, utteranceId, timer}
    this.sizeIndex = Number(localStorage.getItem(SIZE_KEY) ?? 1);
    if (!(this.sizeIndex >= 0 && this.sizeIndex < SIZES.length)) this.sizeIndex = 1;
    this.enabled = localStorage.getItem(ENABLED_KEY) !== 'false';
    this.applySize();
    this.applyEnabled();
    toggle.addEventListener('click', () => this.setEnabled(!this.enabled, true));
    smaller.addEventListener('click', () => this.resize(-1));
    larger.addEventListener('click', () => this.resize(1));
    this.smaller = smaller;
    this.larger = larger;
    // A reader at the newest line stays there when the area changes size (text size, phone turned).
    this.following = true;
    log.addEventListener('scroll', () => { this.following = this.nearBottom(); });
    if (window.ResizeObserver) {
      new ResizeObserver(() => { if (this.following) this.log.scrollTop = this.log.scrollHeight; }).observe(log);
    }
  }

  resize(step) {
    this.sizeIndex = Math.max(0, Math.min(SIZES.length - 1, this.sizeIndex + step));
    try { localStorage.setItem(SIZE_KEY, String(this.sizeIndex)); } catch { /* private mode */ }
    this.applySize();
  }

  applySize() {
    this.root.style.setProperty('--caption-size', `${SIZES[this.sizeIndex]}rem`);
    if (this.smaller) this.smaller.disabled = this.sizeIndex === 0;
    if (this.larger) this.larger.disabled = this.sizeIndex === SIZES.length - 1;
  }

  setEnabled(enabled, fromUser = false) {
    this.enabled = enabled;
    try { localStorage.setItem(ENABLED_KEY, String(enabled)); } catch { /* private mode */ }
    this.applyEnabled();
    if (!enabled) this.clearPartials();
    if (fromUser) this.onToggle?.(enabled);
  }

  applyEnabled() {
    // The label says what pressing it does (not a state to decode); the hint says it is only this screen.
    this.toggle.textContent = this.enabled ? 'Hide captions' : 'Show captions';
    this.root.classList.toggle('captions-disabled', !this.enabled);
    this.updateEmpty();
  }

  updateEmpty() {
    if (!this.empty) return;
    this.empty.hidden = this.enabled && !this.unavailableText
      && (this.log.childElementCount > 0 || this.partials.size > 0);
    this.empty.textContent = !this.enabled
      ? 'Captions are hidden on your screen. Others still see theirs, and you can press Show captions at any time.'
      : this.unavailableText ?? 'Captions will appear here when someone who turned on captions speaks.';
  }

  // The server runs this session without live captions (it is at capacity): say so where they would be.
  unavailable(text) {
    if (typeof text !== 'string' || !text) return;
    this.unavailableText = text;
    this.updateEmpty();
  }

  handle(message) {
    if (!this.enabled) return;
    if (message.kind === 'final') this.addFinal(message);
    else this.showPartial(message);
    this.updateEmpty();
  }

  nearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
  }

  addFinal(message) {
    const stick = this.nearBottom();
    const line = document.createElement('p');
    line.className = 'caption-line final';
    line.dataset.participant = message.participant_id;
    const name = document.createElement('span');
    name.className = 'caption-name';
    name.textContent = `${message.name}:`;
    const text = document.createElement('span');
    text.className = 'caption-text';
    text.textContent = ` ${message.text}`;
    line.append(name, text);
    this.log.append(line);
    while (this.log.childElementCount > MAX_LINES) this.log.firstElementChild.remove();
    // Scroll-back: only follow new lines when the reader is already at the bottom.
    if (stick) this.log.scrollTop = this.log.scrollHeight;
    this.dropPartial(message.participant_id);
  }

  showPartial(message) {
    let entry = this.partials.get(message.participant_id);
    if (!entry) {
      const node = document.createElement('p');
      node.className = 'caption-line partial';
      node.dataset.participant = message.participant_id;
      const name = document.createElement('span');
      name.className = 'caption-name';
      const stable = document.createElement('span');
      stable.className = 'caption-stable';
      const rest = document.createElement('span');
      rest.className = 'caption-provisional';
      node.append(name, stable, rest);
      this.live.append(node);
      entry = { node, timer: 0 };
      this.partials.set(message.participant_id, entry);
    }
    const text = String(message.text ?? '');
    const stableText = String(message.stable ?? '');
    const stableLen = text.startsWith(stableText) ? stableText.length : 0;
    const [name, stable, rest] = entry.node.children;
    name.textContent = `${message.name}:`;
    stable.textContent = ` ${text.slice(0, stableLen)}`;
    rest.textContent = text.slice(stableLen);
    clearTimeout(entry.timer);
    // A lost final must not leave a ghost line on screen.
    entry.timer = setTimeout(() => this.dropPartial(message.participant_id), PARTIAL_STALE_MS);
  }

  dropPartial(participantId) {
    const entry = this.partials.get(participantId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.node.remove();
    this.partials.delete(participantId);
  }

  clearPartials() {
    for (const participantId of [...this.partials.keys()]) this.dropPartial(participantId);
  }
}
