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
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from server import audit, keys
from server.accounts import authenticate
from server.settings import Settings
from server.store import Account

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


login_limiter = web.AppKey("login_limiter", LoginLimiter)
_LOGIN_KEY = web.RequestKey("attune_login", object)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status, headers=headers)


def session_cookie_name(settings: Settings) -> str:
    return SECURE_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


async def current_login(request: web.Request) -> Login | None:
    """The login behind this request's cookie (looked up once per request), or None."""
    if _LOGIN_KEY in request:
        cached = request[_LOGIN_KEY]
        return cached if isinstance(cached, Login) else None
    login: Login | None = None
    token = request.cookies.get(session_cookie_name(request.app[keys.settings]))
    if token and len(token) <= 128:
        found = await request.app[keys.store].login(digest(token), datetime.now(UTC))
        if found is not None:
            login = Login(found[0], found[1], digest(token))
    request[_LOGIN_KEY] = login
    return login


async def require_account(request: web.Request) -> Account:
    login = await current_login(request)
    if login is None:
        raise web.HTTPUnauthorized(
            text='{"error": "login_required", "message": "Please log in."}', content_type="application/json"
        )
    return login.account


def _own_origins(request: web.Request) -> set[str]:
    origins = {f"{request.scheme}://{request.host}"}
    public = request.app[keys.settings].public_url
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


@web.middleware
async def api_errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unexpected errors become a plain JSON 500: the details go to the log, never to the browser."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal", "Something went wrong on the server.")


def _client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def credentials_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The JSON body of a login or new account, with string ``email`` and ``password``, or a 400 answer."""
    try:
        body: Any = await request.json()
    except ValueError:
        return json_error(400, "bad_json", "The body must be JSON.")
    if not (isinstance(body, dict) and isinstance(body.get("email"), str) and isinstance(body.get("password"), str)):
        return json_error(400, "bad_request", "Send an e-mail address and a password.")
    return body


async def login(request: web.Request) -> web.Response:
    body = await credentials_body(request)
    if isinstance(body, web.Response):
        return body
    email = body["email"].strip().lower()[:254]
    limiter = request.app[login_limiter]
    limit_keys = [f"ip:{_client_address(request)}", f"email:{email}"]
    wait = limiter.retry_after(limit_keys)
    if wait is not None:
        return json_error(
            429, "rate_limited", "Too many failed logins. Please wait a few minutes and try again.",
            headers={"Retry-After": str(max(1, int(wait) + 1))},
        )
    store = request.app[keys.store]
    account = await authenticate(store, body["email"], body["password"])
    if account is None:
        limiter.failed(limit_keys)
        await audit.record(store, None, audit.Action.LOGIN_FAILED)
        return json_error(401, "bad_credentials", "The e-mail address or the password is not right.")
    limiter.forget(f"email:{email}")
    settings = request.app[keys.settings]
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    lifetime = timedelta(hours=settings.login_session_hours)
    await store.add_login(digest(token), account.id, csrf_token, now, now + lifetime)
    await audit.record(store, account.id, audit.Action.LOGIN)
    response = web.json_response(account_view(account, csrf_token))
    secure = settings.secure_cookies or request.secure
    max_age = int(lifetime.total_seconds())
    response.set_cookie(
        session_cookie_name(settings), token, max_age=max_age, path="/", httponly=True, samesite="Lax", secure=secure
    )
    response.set_cookie(CSRF_COOKIE, csrf_token, max_age=max_age, path="/", samesite="Strict", secure=secure)
    return response


async def logout(request: web.Request) -> web.Response:
    current = await current_login(request)
    response = web.Response(status=204)
    if current is not None:
        await request.app[keys.store].delete_login(current.token_digest)
        await audit.record(request.app[keys.store], current.account.id, audit.Action.LOGOUT)
    settings = request.app[keys.settings]
    response.del_cookie(session_cookie_name(settings), path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    return response


def account_view(account: Account, csrf_token: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {"account_id": account.id, "email": account.email, "is_admin": account.is_admin}
    if csrf_token is not None:
        view["csrf_token"] = csrf_token
    return view


async def me(request: web.Request) -> web.Response:
    current = await current_login(request)
    if current is None:
        return json_error(401, "login_required", "Please log in.")
    return web.json_response(account_view(current.account, current.csrf_token))


def setup_auth(app: web.Application) -> None:
    settings = app[keys.settings]
    app[login_limiter] = LoginLimiter(settings.login_max_failures, settings.login_failure_window_s)
    app.middlewares.append(api_errors_middleware)
    app.middlewares.append(csrf_middleware)
    app.router.add_post(LOGIN_PATH, login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
