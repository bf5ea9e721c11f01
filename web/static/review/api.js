// Shared by the login and review pages: JSON calls with the CSRF token, the top bar, formatting.

function cookie(name) {
  const found = document.cookie.split('; ').find((c) => c.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : '';
}

let csrfToken = '';

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken || cookie('attune_csrf');
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401 && !path.startsWith('/api/login')) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    throw new Error('login required');
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error((data && data.message) || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return data;
}

export async function setupTopbar() {
  const me = await api('GET', '/api/me');
  csrfToken = me.csrf_token;
  document.querySelector('#account-email').textContent = me.email;
  document.querySelector('#logout').addEventListener('click', async () => {
    try { await api('POST', '/api/logout'); } finally { location.assign('/login'); }
  });
  return me;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return 'unknown';
  const minutes = Math.round(seconds / 60);
  if (minutes < 1) return 'under a minute';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function when(iso) {
  const date = new Date(iso);
  return date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

const CONSENT_WORDS = { granted: 'agreed', declined: 'declined', withdrawn: 'withdrew', pending: 'not asked' };
export function consentWord(state) { return CONSENT_WORDS[state] || state; }
