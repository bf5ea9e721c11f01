"""HTTP routes around the socket: the start page, starting a session, the call pages and their error
pages, and the health check."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated

from aiohttp import web
from pydantic import Field

from server.accounts.auth import current_login, require_account
from server.http.api import Access, ApiModel, Operation, Reply, add_operations, read_body, reply
from server.http.fields import NO_INVALID_CHARACTERS, typed_text
from server.records.context import RECORDER
from server.session.registry import BAD_TOKEN, SESSIONS, TokenProblem
from server.session.states import Role
from server.settings import SETTINGS

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
# The error page's last paragraph (trusted HTML): what to do next.
CLIENT_HINT = (
    "Nothing is wrong with your computer. If a counselor sent you this link, please contact them for a new one. "
    "They can send a fresh invite link at any time."
)
# The same for a counselor's room link (/host/...): the way back is the records list, not "your counselor".
COUNSELOR_HINT = (
    'Your sessions are under <a href="/records">Session records</a>: a session that is still live has a '
    '<strong>Return to the session</strong> button there, which gives you a new room link. You can also '
    '<a href="/">start a new session</a>.'
)
COUNSELOR_BAD_LINK = TokenProblem(
    "bad_token",
    "This room link doesn't open a session",
    "The link may be mistyped, or a newer link to this session was made from Session records (each new "
    "link replaces the one before).",
    404,
)


class Templates:
    """The HTML pages, read once at start (no file work on the event loop while serving)."""

    def __init__(self, web_dir: Path) -> None:
        self.index = (web_dir / "index.html").read_text(encoding="utf-8")
        self.call = (web_dir / "call.html").read_text(encoding="utf-8")
        self.error = (web_dir / "error.html").read_text(encoding="utf-8")

    def render_call(self, role: Role, token: str, session_id: str) -> str:
        # The session id routes the page's socket: the load balancer sends every socket of one session
        # to the same instance (deploy/haproxy.cfg).
        return (
            self.call.replace("__ROLE__", role.value)
            .replace("__TOKEN__", html.escape(token, quote=True))
            .replace("__SESSION__", html.escape(session_id, quote=True))
        )

    def render_error(self, title: str, message: str, hint_html: str = CLIENT_HINT) -> str:
        """The styled error page; ``hint_html`` is one of this server's own fixed hints, never user input."""
        return (
            self.error.replace("__TITLE__", html.escape(title))
            .replace("__MESSAGE__", html.escape(message))
            .replace("__HINT__", hint_html)
        )


TEMPLATES = web.AppKey("templates", Templates)


def error_page(request: web.Request, problem: TokenProblem, role: Role = Role.CLIENT) -> web.Response:
    if role is Role.COUNSELOR and problem.code == BAD_TOKEN.code:
        problem = COUNSELOR_BAD_LINK
    hint = COUNSELOR_HINT if role is Role.COUNSELOR else CLIENT_HINT
    body = request.app[TEMPLATES].render_error(problem.title, problem.message, hint)
    return web.Response(text=body, content_type="text/html", status=problem.status)


def base_url(request: web.Request) -> str:
    configured = request.app[SETTINGS].public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


async def index(request: web.Request) -> web.Response:
    if await current_login(request) is None:
        raise web.HTTPFound("/login?next=/")
    return web.Response(text=request.app[TEMPLATES].index, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


class NewSessionRequest(ApiModel):
    title: Annotated[str, typed_text(1, 200), NO_INVALID_CHARACTERS] = "Counseling session"


class NewSessionReply(ApiModel):
    session_id: str
    counselor_url: str = Field(description="the counselor's room (keep it private)")
    invite_url: str = Field(description="the link to send to the client(s)")
    expires_at: float = Field(description="when the invite link stops working (Unix seconds)")


async def create_session(request: web.Request) -> web.Response:
    """Only a logged-in counselor starts sessions; the session's record then belongs to them."""
    account = await require_account(request)
    body = await read_body(request, NewSessionRequest)
    session, counselor_token, invite_token = await request.app[SESSIONS].create(body.title)
    await request.app[RECORDER].session_created(session, account.id)
    root = base_url(request)
    return reply(
        NewSessionReply(
            session_id=session.id,
            counselor_url=f"{root}/host/{counselor_token}",
            invite_url=f"{root}/join/{invite_token}",
            expires_at=session.invite_expires_at,
        ),
        status=201,
    )


def _page_for(role: Role) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def page(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        registry = request.app[SESSIONS]
        try:
            found = await registry.look_up(token)
        except TokenProblem as problem:
            return error_page(request, problem, role)
        if found.role is not role:
            # A counselor token on /join (or the reverse) is a wrong link, not a way in.
            return error_page(request, BAD_TOKEN, role)
        if role is Role.CLIENT and not found.has_room_for_a_client:
            return error_page(request, registry.full_problem())
        page = request.app[TEMPLATES].render_call(role, token, found.session_id)
        return web.Response(text=page, content_type="text/html")

    return page


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


OPERATIONS = (
    Operation(
        "POST", "/api/sessions", create_session, "createSession",
        "Start a live session owned by the logged-in counselor",
        Access.LOGIN_CSRF, (Reply(201, "created", NewSessionReply),), body=NewSessionRequest, body_required=False,
    ),
)


def setup_pages(app: web.Application, web_dir: Path) -> None:
    app[TEMPLATES] = Templates(web_dir)
    app.router.add_get("/", index)
    app.router.add_get("/host/{token}", _page_for(Role.COUNSELOR))
    app.router.add_get("/join/{token}", _page_for(Role.CLIENT))
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static", web_dir / "static", follow_symlinks=False)
    add_operations(app, OPERATIONS)
