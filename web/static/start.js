// Start page: creates a session (POST /api/sessions) and shows the counselor's two links.
import { $, copyText } from './ui.js';

// The server checks a double-submit CSRF token on every state-changing request of a logged-in counselor.
function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)attune_csrf=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

function absolute(url) {
  return new URL(url, location.origin).href;
}

async function startSession() {
  const button = $('#start-button');
  const error = $('#start-error');
  button.disabled = true;
  button.textContent = 'Creating your session…';
  error.hidden = true;
  try {
    const response = await fetch('/api/sessions', {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
      body: '{}',
    });
    if (response.status === 401) {
      location.assign('/login?next=/');
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const session = await response.json();
    showReady(session);
  } catch {
    error.textContent = 'We could not create a session just now. Please check your connection and try again.';
    error.hidden = false;
    button.disabled = false;
    button.textContent = 'Start a session';
  }
}

function showReady(session) {
  const inviteUrl = absolute(session.invite_url);
  const counselorUrl = absolute(session.counselor_url);
  $('#invite-url').value = inviteUrl;
  $('#counselor-url').value = counselorUrl;
  $('#open-room').href = counselorUrl;
  // The room page shows the invite link in its panel; remember it for this browser.
  const counselorToken = new URL(counselorUrl).pathname.split('/').pop();
  try { localStorage.setItem(`attune.invite.${counselorToken}`, inviteUrl); } catch { /* private mode */ }
  // expires_at may be an ISO string or Unix seconds.
  const raw = session.expires_at;
  const expires = raw == null ? null : new Date(typeof raw === 'number' ? raw * 1000 : raw);
  $('#expires').textContent = expires && !Number.isNaN(expires.getTime())
    ? `These links work until ${expires.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}.` : '';
  $('#start-section').hidden = true;
  $('#ready-section').hidden = false;
  $('#ready-heading').focus();
}

$('#start-button').addEventListener('click', startSession);
// The page ships the button disabled so a click before this module has loaded is never silently lost.
$('#start-button').disabled = false;
$('#copy-invite').addEventListener('click', (event) => copyText($('#invite-url').value, event.currentTarget));
$('#copy-counselor').addEventListener('click', (event) => copyText($('#counselor-url').value, event.currentTarget));

$('#logout-button').addEventListener('click', async () => {
  try {
    await fetch('/api/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken() } });
  } finally {
    location.assign('/login');
  }
});
