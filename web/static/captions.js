// Live captions under the video grid (never over a face), read like subtitles: each speaker's turn is one
// paragraph that grows (the name once, at the start of the turn); settled words are only ever appended,
// so nothing already read moves; the words still being recognised sit inline at the end of that speaker's
// paragraph in a provisional style and are replaced in place by the settled words when they come.
//
// Screen readers: the log is a polite live region of settled text only. The provisional tail is
// aria-hidden (announcing every rewrite would be noise), and a turn that has nothing settled yet is hidden
// as a whole, so its name is announced together with its first settled words.

const SIZE_KEY = 'attune.captionSize';
const ENABLED_KEY = 'attune.captionsOn';
export const SIZES = [0.9, 1.05, 1.25, 1.5, 1.8, 2.2];  // rem
const MAX_SEGMENTS = 600;  // settled pieces kept on screen; older turns are dropped from the top
const PARTIAL_STALE_MS = 12000;
// Speech resumed after this long a pause reads as a new turn, even from the same person (DCMP: a new
// caption block for a new thought after a pause).
const TURN_GAP_S = 8;
const PROVISIONAL_HINT = 'Still being recognised: these words may change';

export function formatOffset(seconds) {
  const s = Math.max(0, Math.floor(seconds ?? 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

function span(className, text = '') {
  const node = document.createElement('span');
  node.className = className;
  node.textContent = text;
  return node;
}

export class CaptionView {
  constructor({ root, log, toggle, smaller, larger, empty, jump, onToggle }) {
    this.root = root;
    this.log = log;
    this.toggle = toggle;
    this.empty = empty;
    this.jump = jump;
    this.unavailableText = null;  // set when the server runs this session without live captions
    this.availableText = null;  // set when such a session gets them later
    this.onToggle = onToggle;
    this.smaller = smaller;
    this.larger = larger;
    this.turns = new Map();     // participant_id -> {node, lastEnd}: the paragraph of the speaker's current turn
    this.partials = new Map();  // participant_id -> {node, turn, timer}: the provisional tail
    this.segments = 0;
    // Following the newest text is a state the reader changes by scrolling, not a distance re-measured at
    // every new line: a fixed "near the bottom" distance failed once a single line at a large text size was
    // taller than it. autoScrollTop is where this view last scrolled to; any other position was the reader's.
    this.following = true;
    this.autoScrollTop = 0;
    this.sizeIndex = Number(localStorage.getItem(SIZE_KEY) ?? 1);
    if (!(this.sizeIndex >= 0 && this.sizeIndex < SIZES.length)) this.sizeIndex = 1;
    this.enabled = localStorage.getItem(ENABLED_KEY) !== 'false';
    this.applySize();
    this.applyEnabled();
    toggle.addEventListener('click', () => this.setEnabled(!this.enabled, true));
    smaller.addEventListener('click', () => this.resize(-1));
    larger.addEventListener('click', () => this.resize(1));
    jump?.addEventListener('click', () => {
      this.following = true;
      this.scrollToNewest();
      this.log.focus({ preventScroll: true });
    });
    log.addEventListener('scroll', () => this.noticeScroll());
    // The area changes size (text size, phone turned, panel opened): a reader at the newest text stays there.
    if (window.ResizeObserver) new ResizeObserver(() => this.scrollToNewest()).observe(log);
  }

  resize(step) {
    this.sizeIndex = Math.max(0, Math.min(SIZES.length - 1, this.sizeIndex + step));
    try { localStorage.setItem(SIZE_KEY, String(this.sizeIndex)); } catch { /* private mode */ }
    this.applySize();
  }

  applySize() {
    this.noticeScroll();
    this.root.style.setProperty('--caption-size', `${SIZES[this.sizeIndex]}rem`);
    if (this.smaller) this.smaller.disabled = this.sizeIndex === 0;
    if (this.larger) this.larger.disabled = this.sizeIndex === SIZES.length - 1;
    this.scrollToNewest();
  }

  setEnabled(enabled, fromUser = false) {
    this.enabled = enabled;
    try { localStorage.setItem(ENABLED_KEY, String(enabled)); } catch { /* private mode */ }
    this.applyEnabled();
    if (!enabled) this.clearPartials();
    else this.scrollToNewest();
    if (fromUser) this.onToggle?.(enabled);
  }

  applyEnabled() {
    // The label says what pressing it does (not a state to decode); the hint says it is only this screen.
    this.toggle.textContent = this.enabled ? 'Hide captions' : 'Show captions';
    this.root.classList.toggle('captions-disabled', !this.enabled);
    this.updateEmpty();
    this.updateJump();
  }

  updateEmpty() {
    if (!this.empty) return;
    this.empty.hidden = this.enabled && !this.unavailableText && this.log.childElementCount > 0;
    this.empty.textContent = !this.enabled
      ? 'Captions are hidden on your screen. Others still see theirs, and you can press Show captions at any time.'
      : this.unavailableText ?? this.availableText
        ?? 'Captions will appear here when someone who turned on captions speaks.';
  }

  // The server runs this session without live captions (it is at capacity): say so where they would be.
  unavailable(text) {
    if (typeof text !== 'string' || !text) return;
    this.unavailableText = text;
    this.updateEmpty();
  }

  // The session has live captions now (room came free): say so until the first words come.
  available(text) {
    if (typeof text !== 'string' || !text) return;
    this.unavailableText = null;
    this.availableText = text;
    this.updateEmpty();
  }

  handle(message) {
    if (!this.enabled) return;
    this.noticeScroll();
    if (message.kind === 'final') this.addFinal(message);
    else this.showPartial(message);
    this.updateEmpty();
    this.scrollToNewest();
  }

  // ---- following the newest text ----

  lineHeight() {
    const value = parseFloat(getComputedStyle(this.log).lineHeight);
    return Number.isFinite(value) ? value : 24;
  }

  atBottom() {
    // Within most of a line of the end, at this text size.
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight <= Math.max(4, this.lineHeight() * 0.75);
  }

  noticeScroll() {
    // Only a position this view did not scroll to itself is the reader's choice.
    if (Math.abs(this.log.scrollTop - this.autoScrollTop) > 1) {
      this.following = this.atBottom();
      this.autoScrollTop = this.log.scrollTop;
    }
    this.updateJump();
  }

  scrollToNewest() {
    if (this.following) {
      this.log.scrollTop = this.log.scrollHeight;
      this.autoScrollTop = this.log.scrollTop;
    }
    this.updateJump();
  }

  updateJump() {
    if (!this.jump) return;
    const below = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight > 1;
    this.jump.hidden = !(this.enabled && !this.following && below);
  }

  // ---- turns ----

  settledAfter(node) {
    for (let next = node.nextElementSibling; next; next = next.nextElementSibling) {
      if (next.querySelector('.caption-final')) return true;
    }
    return false;
  }

  // The paragraph this speaker's words at start_s go into: their current turn while nobody else's settled
  // words came after it and they did not pause for long; otherwise a new paragraph at the end.
  turnFor(message) {
    const turn = this.turns.get(message.participant_id);
    const start = Number(message.start_s ?? 0);
    if (turn && turn.node.isConnected && !this.settledAfter(turn.node)
        && (turn.lastEnd === null || start - turn.lastEnd <= TURN_GAP_S)) {
      return turn;
    }
    const node = document.createElement('p');
    node.className = 'caption-turn';
    node.dataset.participant = message.participant_id;
    node.setAttribute('aria-hidden', 'true');  // until its first settled words
    node.append(span('caption-name', `${message.name}:`));
    this.log.append(node);
    const created = { node, lastEnd: null };
    this.turns.set(message.participant_id, created);
    return created;
  }

  addFinal(message) {
    const text = String(message.text ?? '').trim();
    const partial = this.partials.get(message.participant_id);
    // The settled words take the provisional tail's place (where the reader saw them), never elsewhere.
    const turn = partial?.turn.node.isConnected ? partial.turn : this.turnFor(message);
    if (partial) this.dropPartial(message.participant_id, { keepTurn: true });
    if (text) {
      const segment = span('caption-final', ` ${text}`);
      segment.dataset.utterance = String(message.utterance_id ?? '');
      segment.dataset.start = String(message.start_s ?? '');
      turn.node.append(segment);
      turn.node.removeAttribute('aria-hidden');
      this.segments += 1;
    }
    turn.lastEnd = Number(message.end_s ?? message.start_s ?? 0);
    this.turns.set(message.participant_id, turn);
    if (!turn.node.querySelector('.caption-final')) turn.node.remove();
    this.trim();
  }

  showPartial(message) {
    let entry = this.partials.get(message.participant_id);
    if (!entry || !entry.node.isConnected) {
      const turn = this.turnFor(message);
      const node = span('caption-partial');
      node.dataset.participant = message.participant_id;
      node.title = PROVISIONAL_HINT;
      node.setAttribute('aria-hidden', 'true');
      node.append(span('caption-stable'), span('caption-provisional'));
      turn.node.append(node);
      entry = { node, turn, timer: 0 };
      this.partials.set(message.participant_id, entry);
    }
    const text = String(message.text ?? '').trim();
    const stableText = String(message.stable ?? '').trim();
    const stableLen = stableText && text.startsWith(stableText) ? stableText.length : 0;
    const [stable, rest] = entry.node.children;
    stable.textContent = stableLen ? ` ${text.slice(0, stableLen)}` : '';
    rest.textContent = stableLen ? text.slice(stableLen) : ` ${text}`;
    clearTimeout(entry.timer);
    // A lost final must not leave a ghost tail on screen.
    entry.timer = setTimeout(() => {
      this.dropPartial(message.participant_id);
      this.updateEmpty();
      this.updateJump();
    }, PARTIAL_STALE_MS);
  }

  dropPartial(participantId, { keepTurn = false } = {}) {
    const entry = this.partials.get(participantId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.node.remove();
    this.partials.delete(participantId);
    // A turn that never got settled words goes with its provisional tail.
    if (!keepTurn && !entry.turn.node.querySelector('.caption-final')) entry.turn.node.remove();
  }

  clearPartials() {
    for (const participantId of [...this.partials.keys()]) this.dropPartial(participantId);
  }

  trim() {
    while (this.segments > MAX_SEGMENTS && this.log.firstElementChild) {
      const oldest = this.log.firstElementChild;
      this.segments -= oldest.querySelectorAll('.caption-final').length;
      // A reader scrolled back keeps their place (overflow-anchor would too; not every browser has it).
      const height = oldest.offsetHeight;
      oldest.remove();
      if (!this.following && getComputedStyle(this.log).overflowAnchor === 'none') {
        this.log.scrollTop -= height;
        this.autoScrollTop = this.log.scrollTop;
      }
    }
  }
}
