"""Session records for their counselor: the review pages and their JSON API, exports, accounts admin.

Every handler here needs a logged-in counselor (cookie, ``server.auth``) and answers only about that
counselor's own sessions: someone else's session id gets the same 404 as an id that does not exist.

Search: transcript text is encrypted at rest, so a search decrypts the counselor's own lines in a worker
thread and matches there. A keyed blind index would be faster but would leak which lines share words
(and word frequencies) to anyone holding the database; one counselor's sessions are small enough to scan.
The search text never reaches SQL at all; ids do, as bound parameters only.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from server import audit, keys
from server.accounts import AccountError, create_account
from server.auth import account_view, credentials_body, current_login, json_error, require_account, setup_auth
from server.crypto import FieldCipher
from server.export import FORMATS
from server.openapi import openapi_document
from server.record_view import (
    SentimentScorer,
    load_record,
    record_json,
    summary_json,
)
from server.retention import retention_ctx
from server.sessions import now_utc
from server.store import Account, SessionSummary

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_LINE_ID = 2**31 - 1
MAX_QUERY = 200
MAX_CORRECTION = 5000
MAX_NOTE = 10_000
MATCHES_PER_SESSION = 5

scorer_key = web.AppKey("sentiment_scorer", SentimentScorer)


class ReviewPages:
    """The login and review pages, read once at start."""

    def __init__(self, web_dir: Path) -> None:
        self.login = (web_dir / "login.html").read_text(encoding="utf-8")
        self.sessions = (web_dir / "review" / "sessions.html").read_text(encoding="utf-8")
        self.session = (web_dir / "review" / "session.html").read_text(encoding="utf-8")


pages_key = web.AppKey("review_pages", ReviewPages)


def _html(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})


def _to_login(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound(f"/login?next={request.path}")


async def login_page(request: web.Request) -> web.Response:
    return _html(request.app[pages_key].login)


async def sessions_page(request: web.Request) -> web.Response:
    if await current_login(request) is None:
        raise _to_login(request)
    return _html(request.app[pages_key].sessions)


async def session_page(request: web.Request) -> web.Response:
    if await current_login(request) is None:
        raise _to_login(request)
    session_id = request.match_info["session_id"]
    if not SESSION_ID.match(session_id):
        raise web.HTTPNotFound()
    return _html(request.app[pages_key].session.replace("__SESSION_ID__", html.escape(session_id)))


def _not_found() -> web.Response:
    return json_error(404, "not_found", "There is no such session record.")


async def _owned_summary(request: web.Request, account: Account) -> SessionSummary | None:
    session_id = request.match_info["session_id"]
    if not SESSION_ID.match(session_id):
        return None
    found = await request.app[keys.store].session_summaries(account.id, only=session_id)
    return found[0] if found else None


def _search_lines(
    cipher: FieldCipher, blobs: list[tuple[str, int, bytes, bytes | None]], needle: str
) -> dict[str, list[tuple[int, str]]]:
    """(line id, matching text) per session, for lines whose text (as corrected, or as recognised)
    contains ``needle``, ignoring case."""
    found: dict[str, list[tuple[int, str]]] = {}
    folded = needle.casefold()
    for session_id, line_id, text_enc, corrected_enc in blobs:
        texts = [cipher.decrypt(text_enc, session_id)]
        if corrected_enc is not None:
            texts.insert(0, cipher.decrypt(corrected_enc, session_id))
        for text in texts:
            if folded in text.casefold():
                found.setdefault(session_id, []).append((line_id, text))
                break
    return found


async def list_sessions(request: web.Request) -> web.Response:
    account = await require_account(request)
    store = request.app[keys.store]
    query = request.query.get("q", "").strip()
    if len(query) > MAX_QUERY:
        return json_error(400, "bad_request", f"Search for at most {MAX_QUERY} characters.")
    summaries = await store.session_summaries(account.id)
    if not query:
        return web.json_response({"sessions": [summary_json(s) | {"matches": []} for s in summaries]})
    blobs = await store.encrypted_lines_of(account.id)
    hits = await asyncio.to_thread(_search_lines, store.cipher, blobs, query)
    folded = query.casefold()
    out = []
    for s in summaries:
        in_meta = folded in s.title.casefold() or any(folded in p.name.casefold() for p in s.participants)
        matches = hits.get(s.session_id, [])
        if matches or in_meta:
            out.append(
                summary_json(s)
                | {"matches": [{"line_id": lid, "text": text} for lid, text in matches[:MATCHES_PER_SESSION]]}
            )
    return web.json_response({"sessions": out, "query": query})


async def session_detail(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    store = request.app[keys.store]
    record = await load_record(store, summary, request.app[scorer_key])
    notes = await store.notes(summary.session_id)
    await audit.record(store, account.id, audit.Action.VIEW, summary.session_id)
    body = record_json(record) | {
        "notes": [{"note_id": n.id, "text": n.text, "created_at": n.created_at.isoformat()} for n in notes]
    }
    return web.json_response(body)


async def delete_session(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    store = request.app[keys.store]
    await store.delete_sessions([summary.session_id])
    await audit.record(store, account.id, audit.Action.DELETE, summary.session_id)
    return web.Response(status=204)


async def _text_body(request: web.Request, limit: int) -> str | web.Response:
    try:
        body: Any = await request.json()
    except ValueError:
        return json_error(400, "bad_json", "The body must be JSON.")
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip() or len(text) > limit:
        return json_error(400, "bad_request", f"Send a text of 1 to {limit} characters.")
    return text.strip()


async def correct_line(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    raw_id = request.match_info["line_id"]
    if summary is None or not raw_id.isdigit() or not 0 < int(raw_id) <= MAX_LINE_ID:
        return _not_found()
    text = await _text_body(request, MAX_CORRECTION)
    if isinstance(text, web.Response):
        return text
    store = request.app[keys.store]
    if not await store.correct_line(summary.session_id, int(raw_id), text, account.id, now_utc()):
        return json_error(404, "not_found", "There is no such line in this session.")
    await audit.record(store, account.id, audit.Action.EDIT, summary.session_id, f"line {raw_id}")
    line = next(ln for ln in await store.transcript(summary.session_id) if ln.line_id == int(raw_id))
    return web.json_response(
        {"line_id": line.line_id, "text": line.text, "original_text": line.original_text, "corrected": True}
    )


async def add_note(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    text = await _text_body(request, MAX_NOTE)
    if isinstance(text, web.Response):
        return text
    store = request.app[keys.store]
    note = await store.add_note(summary.session_id, account.id, text, now_utc())
    await audit.record(store, account.id, audit.Action.NOTE, summary.session_id, f"note {note.id}")
    return web.json_response(
        {"note_id": note.id, "text": note.text, "created_at": note.created_at.isoformat()}, status=201
    )


async def export_session(request: web.Request) -> web.Response:
    account = await require_account(request)
    fmt = request.match_info["fmt"]
    summary = await _owned_summary(request, account)
    if summary is None or fmt not in FORMATS:
        return _not_found()
    store = request.app[keys.store]
    record = await load_record(store, summary, request.app[scorer_key])
    exported = await asyncio.to_thread(FORMATS[fmt], record)
    await audit.record(store, account.id, audit.Action.EXPORT, summary.session_id, fmt)
    return web.Response(
        body=exported.body,
        headers={
            "Content-Type": exported.content_type,
            "Content-Disposition": f'attachment; filename="attune-session-{summary.session_id}.{exported.extension}"',
        },
    )


async def list_accounts(request: web.Request) -> web.Response:
    account = await require_account(request)
    if not account.is_admin:
        return json_error(403, "forbidden", "Only an admin can see the accounts.")
    accounts = await request.app[keys.store].accounts()
    return web.json_response({"accounts": [account_view(a) for a in accounts]})


async def add_account(request: web.Request) -> web.Response:
    account = await require_account(request)
    if not account.is_admin:
        return json_error(403, "forbidden", "Only an admin can create accounts.")
    body = await credentials_body(request)
    if isinstance(body, web.Response):
        return body
    is_admin = body.get("is_admin", False)
    if not isinstance(is_admin, bool):
        return json_error(400, "bad_request", "is_admin must be true or false.")
    store = request.app[keys.store]
    try:
        created = await create_account(store, body["email"], body["password"], is_admin=is_admin)
    except AccountError as exc:
        return json_error(400, "bad_account", str(exc))
    await audit.record(store, account.id, audit.Action.ACCOUNT_CREATED, None, f"account {created.id}")
    return web.json_response(account_view(created), status=201)


async def audit_log(request: web.Request) -> web.Response:
    """A counselor sees the entries about their own actions; an admin sees everyone's."""
    account = await require_account(request)
    entries = await request.app[keys.store].audit_entries(None if account.is_admin else account.id)
    return web.json_response(
        {
            "entries": [
                {"at": e.at.isoformat(), "account_id": e.account_id, "action": e.action,
                 "session_id": e.session_id, "detail": e.detail}
                for e in entries
            ]
        }
    )


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


def setup_records(app: web.Application, web_dir: Path) -> None:
    """Accounts, login, review pages and API, exports and retention (one call from ``create_app``)."""
    setup_auth(app)
    app[pages_key] = ReviewPages(web_dir)
    app[scorer_key] = SentimentScorer()
    app.cleanup_ctx.append(retention_ctx)
    r = app.router
    r.add_get("/login", login_page)
    r.add_get("/records", sessions_page)
    r.add_get("/records/{session_id}", session_page)
    r.add_get("/api/openapi.json", openapi_json)
    r.add_get("/api/records/sessions", list_sessions)
    r.add_get("/api/records/sessions/{session_id}", session_detail)
    r.add_delete("/api/records/sessions/{session_id}", delete_session)
    r.add_patch("/api/records/sessions/{session_id}/lines/{line_id}", correct_line)
    r.add_post("/api/records/sessions/{session_id}/notes", add_note)
    r.add_get("/api/records/sessions/{session_id}/export/{fmt}", export_session)
    r.add_get("/api/accounts", list_accounts)
    r.add_post("/api/accounts", add_account)
    r.add_get("/api/audit", audit_log)
