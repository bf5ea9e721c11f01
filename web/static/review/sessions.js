// Session records list: newest first, search across sessions, and (for admins) counselor accounts.
import { api, clock, consentWord, duration, el, setupTopbar, when } from './api.js';

const body = document.querySelector('#sessions-body');
const status = document.querySelector('#list-status');
const search = document.querySelector('#search');
const clear = document.querySelector('#search-clear');

function participantsText(session) {
  const names = session.participants.map((p) => `${p.name} (${p.role})`).join(', ');
  if (!session.live) return names || 'Nobody joined';
  // Live: who has joined so far (the count grows as people come in; the list is read when the page loads).
  const n = session.participants.length;
  return n ? `${n} joined so far: ${names}` : 'Nobody has joined yet';
}

// A live session: "Live now" and a button that asks for a new room link and goes there. The old room
// link stops working (a new one replaces it), so a lost or closed tab is no dead end.
function liveCell(session) {
  const problem = el('p', { class: 'field-error', role: 'alert', hidden: true });
  const button = el('button', {
    type: 'button', class: 'primary small return-button',
    'aria-label': `Return to the session of ${when(session.created_at)}`,
    text: 'Return to the session',
  });
  button.addEventListener('click', async () => {
    button.disabled = true;
    problem.hidden = true;
    try {
      const data = await api('POST', `/api/sessions/${session.session_id}/return`);
      location.assign(data.counselor_url);
    } catch (err) {
      problem.textContent = err.message;
      problem.hidden = false;
      button.disabled = false;
    }
  });
  return el('td', { role: 'cell', 'data-label': 'Duration', class: 'live-cell' },
    el('span', { class: 'live-status' }, el('span', { class: 'live-badge', text: 'Live now' }), button), problem);
}

// One client's decisions in words, from the first change on: "stopped at 00:19, agreed again at 00:31".
// An agreement at the start is taken as read; an empty list means they agreed once and kept it.
function consentChanges(events) {
  const steps = [];
  let agreed = false;
  events.forEach((e, i) => {
    const at = i ? ` at ${clock(e.at_s)}` : '';
    if (e.state === 'granted') {
      if (i) steps.push(`${agreed ? 'agreed again' : 'agreed'}${at}`);
      agreed = true;
    } else if (e.state === 'withdrawn') {
      steps.push(`stopped${at}`);
    } else {
      steps.push(`${consentWord(e.state)}${at}`);
    }
  });
  return steps;
}

function consentText(session) {
  const clients = session.participants.filter((p) => p.role === 'client');
  if (!clients.length) return '–';
  const events = session.consent_events ?? [];
  const stories = clients.map((p) => {
    const own = events.filter((e) => e.participant_id === p.participant_id);
    const changes = own.length ? consentChanges(own) : [consentWord(p.consent)];
    return { name: p.name, changes };
  });
  if (stories.every((story) => !story.changes.length)) return 'All clients agreed';
  return stories.map(({ name, changes }) => `${name}: ${changes.length ? changes.join(', ') : 'agreed'}`).join('; ');
}

function render(sessions, query) {
  body.replaceChildren();
  for (const s of sessions) {
    const link = el('a', { href: `/records/${s.session_id}`, text: when(s.created_at) });
    // data-label: on a phone each row stacks as a card and every cell names its column (review.css).
    body.append(el('tr', { role: 'row', class: s.live ? 'is-live' : undefined },
      el('td', { role: 'cell' }, link, el('div', { class: 'muted small-text', text: s.title })),
      el('td', { role: 'cell', 'data-label': 'Participants', text: participantsText(s) }),
      s.live ? liveCell(s) : el('td', { role: 'cell', 'data-label': 'Duration',
        text: s.ended_at ? duration(s.duration_s) : 'Not ended' }),
      el('td', { role: 'cell', 'data-label': 'Consent', text: consentText(s) }),
      el('td', { role: 'cell', 'data-label': 'Lines', text: String(s.line_count) })));
    if (s.matches && s.matches.length) {
      const list = el('ul', { class: 'match-list' }, s.matches.map((m) => el('li', {},
        el('a', { href: `/records/${s.session_id}#line-${m.line_id}`, text: m.text }))));
      body.append(el('tr', { class: 'match-row', role: 'row' }, el('td', { role: 'cell', colspan: '5' }, list)));
    }
  }
  if (query) {
    status.textContent = sessions.length
      ? `${sessions.length} session${sessions.length === 1 ? '' : 's'} match “${query}”.`
      : `No session matches “${query}”.`;
  } else {
    status.textContent = sessions.length ? '' : 'No sessions yet. Sessions you start appear here.';
  }
}

async function load(query = '') {
  status.textContent = query ? 'Searching…' : 'Loading…';
  const path = query ? `/api/records/sessions?q=${encodeURIComponent(query)}` : '/api/records/sessions';
  try {
    const data = await api('GET', path);
    render(data.sessions, query);
  } catch (err) {
    status.textContent = err.message;
  }
  clear.hidden = !query;
}

document.querySelector('#search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  load(search.value.trim());
});
clear.addEventListener('click', () => { search.value = ''; load(); search.focus(); });

async function loadAccounts() {
  const list = document.querySelector('#accounts-list');
  const data = await api('GET', '/api/accounts');
  list.replaceChildren(...data.accounts.map((a) => el('li', { text: a.is_admin ? `${a.email} (admin)` : a.email })));
}

function setupAdmin() {
  document.querySelector('#admin-section').hidden = false;
  loadAccounts();
  const form = document.querySelector('#account-form');
  const error = document.querySelector('#account-error');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await api('POST', '/api/accounts', {
        email: form.querySelector('#new-email').value.trim(),
        password: form.querySelector('#new-password').value,
        is_admin: form.querySelector('#new-admin').checked,
      });
      form.reset();
      await loadAccounts();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

setupTopbar().then((me) => {
  if (me.is_admin) setupAdmin();
  load();
});
