// Login page: POST /api/login (JSON), then on to ?next= (same-site paths only) or the records list.
import { api } from './api.js';

function nextPath() {
  const next = new URLSearchParams(location.search).get('next') || '';
  return next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/records';
}

const form = document.querySelector('#login-form');
const error = document.querySelector('#login-error');
const submit = document.querySelector('#login-submit');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    error.textContent = 'Please enter your e-mail address and your password.';
    error.hidden = false;
    (email ? form.password : form.email).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = 'Logging in…';
  try {
    await api('POST', '/api/login', { email, password });
    location.assign(nextPath());
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
    form.password.value = '';
    form.password.focus();
    submit.disabled = false;
    submit.textContent = 'Log in';
  }
});
// The form ships with its button disabled: submitted before this module loads, it would post nowhere useful.
submit.disabled = false;
document.querySelector('#email').focus();
