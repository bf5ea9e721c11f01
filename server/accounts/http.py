"""The account endpoints: login, logout, the current account, and (admins) the list of accounts and new
accounts. Declared in the route table, so ``/api/openapi.json`` documents exactly these models."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from aiohttp import web
from pydantic import Field

from server.accounts.auth import (
    CSRF_COOKIE,
    LOGIN_LIMITER,
    LOGIN_PATH,
    LoginLimiter,
    client_address,
    csrf_middleware,
    current_login,
    digest,
    require_account,
    session_cookie_name,
)
from server.accounts.passwords import MAX_PASSWORD_LENGTH, AccountError, authenticate, create_account
from server.accounts.repository import ACCOUNTS, Account
from server.db.audit import AUDIT, Action
from server.http.api import Access, ApiModel, Operation, Reply, add_operations, json_error, read_body, reply
from server.settings import SETTINGS


class LoginRequest(ApiModel):
    email: Annotated[str, Field(max_length=254)]
    password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]


class AccountReply(ApiModel):
    account_id: int
    email: str
    is_admin: bool
    csrf_token: str | None = Field(None, description="send it as X-CSRF-Token on state-changing calls")

    @classmethod
    def of(cls, account: Account, csrf_token: str | None = None) -> AccountReply:
        return cls(account_id=account.id, email=account.email, is_admin=account.is_admin, csrf_token=csrf_token)


class AccountList(ApiModel):
    accounts: list[AccountReply]


class NewAccountRequest(ApiModel):
    email: Annotated[str, Field(max_length=254)]
    password: Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH)]
    is_admin: bool = False


async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LoginRequest)
    email = body.email.strip().lower()
    limiter = request.app[LOGIN_LIMITER]
    limit_keys = [f"ip:{client_address(request)}", f"email:{email}"]
    wait = limiter.retry_after(limit_keys)
    if wait is not None:
        return json_error(
            429, "rate_limited", "Too many failed logins. Please wait a few minutes and try again.",
            headers={"Retry-After": str(max(1, int(wait) + 1))},
        )
    accounts, audit = request.app[ACCOUNTS], request.app[AUDIT]
    account = await authenticate(accounts, body.email, body.password)
    if account is None:
        limiter.failed(limit_keys)
        await audit.record(None, Action.LOGIN_FAILED)
        return json_error(401, "bad_credentials", "The e-mail address or the password is not right.")
    limiter.forget(f"email:{email}")
    settings = request.app[SETTINGS]
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    lifetime = timedelta(hours=settings.login_session_hours)
    await accounts.add_login(digest(token), account.id, csrf_token, now, now + lifetime)
    await audit.record(account.id, Action.LOGIN)
    response = reply(AccountReply.of(account, csrf_token))
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
        await request.app[ACCOUNTS].delete_login(current.token_digest)
        await request.app[AUDIT].record(current.account.id, Action.LOGOUT)
    settings = request.app[SETTINGS]
    response.del_cookie(session_cookie_name(settings), path="/")
    response.del_cookie(CSRF_COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    current = await current_login(request)
    if current is None:
        return json_error(401, "login_required", "Please log in.")
    return reply(AccountReply.of(current.account, current.csrf_token))


async def list_accounts(request: web.Request) -> web.Response:
    account = await require_account(request)
    if not account.is_admin:
        return json_error(403, "forbidden", "Only an admin can see the accounts.")
    accounts = await request.app[ACCOUNTS].all()
    return reply(AccountList(accounts=[AccountReply.of(a) for a in accounts]))


async def add_account(request: web.Request) -> web.Response:
    account = await require_account(request)
    if not account.is_admin:
        return json_error(403, "forbidden", "Only an admin can create accounts.")
    body = await read_body(request, NewAccountRequest)
    try:
        created = await create_account(request.app[ACCOUNTS], body.email, body.password, is_admin=body.is_admin)
    except AccountError as exc:
        return json_error(400, "bad_account", str(exc))
    await request.app[AUDIT].record(account.id, Action.ACCOUNT_CREATED, None, f"account {created.id}")
    return reply(AccountReply.of(created), status=201)


OPERATIONS = (
    Operation(
        "POST", LOGIN_PATH, login, "login", "Log in; sets the HttpOnly login cookie and the readable CSRF cookie",
        Access.PUBLIC, (Reply(200, "logged in", AccountReply),), body=LoginRequest, errors=(401, 415, 429),
    ),
    Operation(
        "POST", "/api/logout", logout, "logout", "Log out (the login is deleted on the server)",
        Access.LOGIN_CSRF, (Reply(204, "logged out"),),
    ),
    Operation(
        "GET", "/api/me", me, "me", "The logged-in account and its CSRF token",
        Access.LOGIN, (Reply(200, "the account", AccountReply),),
    ),
    Operation(
        "GET", "/api/accounts", list_accounts, "listAccounts", "All counselor accounts (admins only)",
        Access.LOGIN, (Reply(200, "the accounts", AccountList),), errors=(403,),
    ),
    Operation(
        "POST", "/api/accounts", add_account, "createAccount", "Create a counselor account (admins only)",
        Access.LOGIN_CSRF, (Reply(201, "created", AccountReply),),
        body=NewAccountRequest,
    ),
)


def setup_accounts(app: web.Application) -> None:
    """The login limiter, the CSRF middleware and the account routes."""
    settings = app[SETTINGS]
    app[LOGIN_LIMITER] = LoginLimiter(settings.login_max_failures, settings.login_failure_window_s)
    app.middlewares.append(csrf_middleware)
    add_operations(app, OPERATIONS)
