"""HTTP routes around the socket: pages, session creation, health and metrics."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server import keys
from server.auth import current_login, require_account
from server.sessions import BAD_TOKEN, Role, TokenProblem

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class Templates:
    """The HTML pages, read once at start (no file work on the event loop while serving)."""

    def __init__(self, web_dir: Path) -> None:
        self.index = (web_dir / "index.html").read_text(encoding="utf-8")
        self.call = (web_dir / "call.html").read_text(encoding="utf-8")
        self.error = (web_dir / "error.html").read_text(encoding="utf-8")

    def render_call(self, role: Role, token: str) -> str:
        return self.call.replace("__ROLE__", role.value).replace("__TOKEN__", html.escape(token, quote=True))

    def render_error(self, title: str, message: str) -> str:
        return self.error.replace("__TITLE__", html.escape(title)).replace("__MESSAGE__", html.escape(message))


def error_page(request: web.Request, problem: TokenProblem) -> web.Response:
    body = request.app[keys.templates].render_error(problem.title, problem.message)
    return web.Response(text=body, content_type="text/html", status=problem.status)


def base_url(request: web.Request) -> str:
    configured = request.app[keys.settings].public_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"


async def index(request: web.Request) -> web.Response:
    if await current_login(request) is None:
        raise web.HTTPFound("/login?next=/")
    return web.Response(text=request.app[keys.templates].index, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


async def create_session(request: web.Request) -> web.Response:
    """Only a logged-in counselor starts sessions; the session's record then belongs to them."""
    account = await require_account(request)
    title = "Counseling session"
    if request.can_read_body:
        try:
            body: Any = await request.json()
        except ValueError:
            return web.json_response({"error": "bad_json", "message": "The body must be JSON."}, status=400)
        if isinstance(body, dict) and isinstance(body.get("title"), str) and 0 < len(body["title"]) <= 200:
            title = body["title"].strip()
    registry = request.app[keys.sessions]
    session, counselor_token, invite_token = registry.create(title)
    await request.app[keys.recorder].session_created(session, account.id)
    root = base_url(request)
    return web.json_response(
        {
            "session_id": session.id,
            "counselor_url": f"{root}/host/{counselor_token}",
            "invite_url": f"{root}/join/{invite_token}",
            "expires_at": session.invite_expires_at,
        },
        status=201,
    )


def _page_for(role: Role):  # type: ignore[no-untyped-def]
    async def page(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        registry = request.app[keys.sessions]
        try:
            session, actual_role = registry.resolve(token)
        except TokenProblem as problem:
            return error_page(request, problem)
        if actual_role is not role:
            # A counselor token on /join (or the reverse) is a wrong link, not a way in.
            return error_page(request, BAD_TOKEN)
        if role is Role.CLIENT and session.clients_taking_a_place() >= registry.settings.max_participants - 1:
            return error_page(request, registry.full_problem())
        return web.Response(text=request.app[keys.templates].render_call(role, token), content_type="text/html")

    return page


async def transcript(request: web.Request) -> web.Response:
    """The stored transcript of a session, for its counselor (bearer: the counselor token)."""
    auth = request.headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ").strip()
    try:
        session, role = request.app[keys.sessions].resolve_any(token)
    except TokenProblem:
        return web.json_response({"error": "bad_token", "message": "Not allowed."}, status=403)
    if role is not Role.COUNSELOR:
        return web.json_response({"error": "forbidden", "message": "Not allowed."}, status=403)
    store = request.app[keys.store]
    lines = await store.transcript(session.id)
    return web.json_response(
        {
            "session_id": session.id,
            "lines": [
                {
                    "participant_id": line.participant_id,
                    "speaker": line.speaker_name,
                    "role": line.speaker_role,
                    "start_s": round(line.start_s, 2),
                    "end_s": round(line.end_s, 2),
                    "text": line.text,
                }
                for line in lines
            ],
        }
    )


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[keys.metrics_registry])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application, web_dir: Path = WEB_DIR) -> None:
    app.router.add_get("/", index)
    app.router.add_post("/api/sessions", create_session)
    app.router.add_get("/api/transcript", transcript)
    app.router.add_get("/host/{token}", _page_for(Role.COUNSELOR))
    app.router.add_get("/join/{token}", _page_for(Role.CLIENT))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_static("/static", web_dir / "static", follow_symlinks=False)
