"""Counselor login: cookies, CSRF protection, login rate limiting and logout.

- A login is a random token in an HttpOnly, SameSite=Lax cookie (``Secure`` and the ``__Host-`` prefix
  under HTTPS). The database keeps only its SHA-256 digest, with an expiry, so logout and expiry are
  real, and a tampered cookie simply matches nothing.
- CSRF: every state-changing request (POST, PUT, PATCH, DELETE) needs a logged-in cookie AND the login's
  own random CSRF token in the ``X-CSRF-Token`` header (synchronizer token, compared in constant time).
  Pages get the token from ``GET /api/me`` or from the ``attune_csrf`` cookie, which scripts may read
  (it is useless to another site, which can neither read it nor set the header). A request whose
  ``Origin`` is another site is refused outright. The one exception is ``POST /api/login`` (no login
  yet): it must be ``application/json``, which a cross-site form cannot send without a CORS preflight
  that this server never grants.
- Failed logins are counted per client address and per e-mail address; past the limit the answer is 429
  with ``Retry-After`` until the window has passed. The counters live in memory (one server process).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from server.accounts.repository import ACCOUNTS, Account
from server.http.api import ErrorBody, json_error
from server.settings import SETTINGS, Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "attune_session"
SECURE_SESSION_COOKIE = "__Host-attune_session"
CSRF_COOKIE = "attune_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/api/login"


@dataclass(frozen=True, slots=True)
class Login:
    account: Account
    csrf_token: str
    token_digest: str


class LoginLimiter:
    """Sliding-window count of failed logins per key (a client address, an e-mail address)."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, keys_: list[str]) -> float | None:
        """Seconds until a login may be tried again, or None when it may be tried now."""
        now = self.clock()
        waits = [
            times[0] + self.window_s - now
            for key in keys_
            if len(times := self._recent(key, now)) >= self.max_failures
        ]
        return max(waits) if waits else None

    def failed(self, keys_: list[str]) -> None:
        now = self.clock()
        for key in keys_:
            self._recent(key, now)
            self._failures.setdefault(key, deque()).append(now)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


LOGIN_LIMITER = web.AppKey("login_limiter", LoginLimiter)
_LOGIN_KEY = web.RequestKey("attune_login", object)  # a Login, or None once looked up


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def session_cookie_name(settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


async def current_login(request: web.Request) -> Login | None:
    """The login behind this request's cookie (looked up once per request), or None."""
    if _LOGIN_KEY in request:
        cached = request[_LOGIN_KEY]
        return cached if isinstance(cached, Login) else None
    login: Login | None = None
    token = request.cookies.get(session_cookie_name(request.app[SETTINGS]))
    if token and len(token) <= 128:
        found = await request.app[ACCOUNTS].login(digest(token), datetime.now(UTC))
        if found is not None:
            login = Login(found.account, found.csrf_token, digest(token))
    request[_LOGIN_KEY] = login
    return login


async def require_account(request: web.Request) -> Account:
    login = await current_login(request)
    if login is None:
        raise web.HTTPUnauthorized(
            text=ErrorBody(error="login_required", message="Please log in.").model_dump_json(),
            content_type="application/json",
        )
    return login.account


def _own_origins(request: web.Request) -> set[str]:
    origins = {f"{request.scheme}://{request.host}"}
    public = request.app[SETTINGS].public_url
    if public:
        origins.add(public.rstrip("/"))
    return origins


@web.middleware
async def csrf_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS:
        origin = request.headers.get("Origin")
        if origin is not None and origin not in _own_origins(request):
            return json_error(403, "csrf", "This request came from another site.")
        if request.path == LOGIN_PATH:
            if request.content_type != "application/json":
                return json_error(415, "bad_content_type", "Send the login as JSON.")
        else:
            login = await current_login(request)
            if login is None:
                return json_error(401, "login_required", "Please log in.")
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode("utf-8", "replace"), login.csrf_token.encode()):
                return json_error(403, "csrf", "The page is out of date. Please reload it and try again.")
    return await handler(request)


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
