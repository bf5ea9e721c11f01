// Small DOM helpers shared by the pages. No framework: the pages are small and must load fast.

export const $ = (selector, root = document) => root.querySelector(selector);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A call control's label: the full words (its accessible name) and, for narrow screens, a short form
// shown instead (aria-hidden, so a screen reader hears the full words only).
export function setControlLabel(button, full, short = full) {
  const fullNode = button.querySelector('.label-full');
  const shortNode = button.querySelector('.label-short');
  if (!fullNode) {
    button.textContent = full;
    return;
  }
  fullNode.textContent = full;
  if (shortNode) shortNode.textContent = short;
}

// Server error codes (docs/protocol.md) in words a worried person can act on.
const ERROR_TEXT = {
  bad_json: 'Something went wrong sending that. Please try again.',
  bad_message: 'Something went wrong sending that. Please try again.',
  unknown_type: 'Something went wrong sending that. Please try again.',
  not_joined: 'You are not connected to the session yet. Please wait a moment.',
  already_joined: 'You are already in this session.',
  forbidden: 'That is not available to you in this session.',
  not_admitted: 'You can do that once your counselor has let you in.',
  no_consent: 'Captions and cues are off for you, so nothing is sent for analysis.',
  bad_token: 'This link is not valid. Please ask your counselor for a new invite link.',
  expired: 'This link has expired. Please ask your counselor for a new one.',
  ended: 'This session has ended.',
  full: 'This session is full at the moment. Please contact your counselor.',
  unknown_peer: 'That person is no longer in the session.',
  rate_limited: 'That was a lot at once. Please wait a moment and try again.',
  uplink_failed: 'Captions could not start for you just now. The call itself is not affected.',
  internal: 'Something went wrong on the server. Please try again in a moment.',
};

export function friendlyError(code) {
  return ERROR_TEXT[code] ?? 'Something did not work as expected. Please try again.';
}

let toastTimer = 0;
export function toast(text, { urgent = false } = {}) {
  const box = $('#toast');
  if (!box) return;
  box.textContent = text;
  box.classList.toggle('urgent', urgent);
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, urgent ? 9000 : 5000);
}

export async function copyText(text, button) {
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    // The async clipboard API needs a secure context; fall back to a hidden textarea.
    const area = el('textarea', { 'aria-hidden': 'true', class: 'offscreen' });
    area.value = text;
    document.body.append(area);
    area.select();
    try { copied = document.execCommand('copy'); } catch { copied = false; }
    area.remove();
  }
  if (button) {
    const label = button.dataset.label ?? button.textContent;
    button.dataset.label = label;
    button.textContent = copied ? 'Copied' : 'Select and copy';
    setTimeout(() => { button.textContent = label; }, 2000);
  }
  return copied;
}

// A modal confirmation using <dialog>: focus is trapped and Escape cancels, for free.
export function confirmDialog({ title, message, okText = 'OK', cancelText = 'Cancel', danger = false }) {
  const dialog = $('#confirm-dialog');
  $('#confirm-title', dialog).textContent = title;
  $('#confirm-message', dialog).textContent = message;
  const ok = $('#confirm-ok', dialog);
  ok.textContent = okText;
  ok.classList.toggle('danger', danger);
  ok.classList.toggle('primary', !danger);
  $('#confirm-cancel', dialog).textContent = cancelText;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    $('#confirm-cancel', dialog).focus();
  });
}

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).slice(0, 2);
  return parts.map((p) => p[0]?.toUpperCase() ?? '').join('') || '?';
}

export function clockTime(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

// Accessible tabs (WAI-ARIA pattern): arrow keys move between tabs, each tab controls one panel.
export function setupTabs(tablist, onChange) {
  const tabs = [...tablist.querySelectorAll('[role="tab"]')];
  const select = (tab, focus = false) => {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
      document.getElementById(t.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    onChange?.(tab.id);
  };
  tablist.addEventListener('click', (event) => {
    const tab = event.target.closest('[role="tab"]');
    if (tab && !tab.hidden) select(tab);
  });
  tablist.addEventListener('keydown', (event) => {
    const visible = tabs.filter((t) => !t.hidden);
    const index = visible.indexOf(document.activeElement);
    if (index < 0) return;
    let next = null;
    if (event.key === 'ArrowRight') next = visible[(index + 1) % visible.length];
    if (event.key === 'ArrowLeft') next = visible[(index - 1 + visible.length) % visible.length];
    if (event.key === 'Home') next = visible[0];
    if (event.key === 'End') next = visible[visible.length - 1];
    if (next) { event.preventDefault(); select(next, true); }
  });
  const visibleFirst = tabs.find((t) => !t.hidden);
  if (visibleFirst) select(visibleFirst);
  return {
    select: (id) => select(tabs.find((t) => t.id === id)),
    current: () => tabs.find((t) => t.getAttribute('aria-selected') === 'true')?.id,
  };
}
