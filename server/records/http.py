"""Session records for their counselor: the review pages and their JSON API, exports, the audit log.

Every handler here needs a logged-in counselor (cookie, ``server.accounts.auth``) and answers only about
that counselor's own sessions: someone else's session id gets the same 404 as an id that does not exist.

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
from datetime import datetime
from pathlib import Path

from aiohttp import web

from server.accounts.auth import current_login, require_account
from server.accounts.repository import Account
from server.db.audit import AUDIT, Action
from server.db.crypto import FieldCipher
from server.http.api import (
    Access,
    ApiModel,
    Operation,
    PathParam,
    Reply,
    add_operations,
    json_error,
    read_body,
    read_query,
    reply,
)
from server.records.api_models import (
    CorrectionReply,
    CorrectionRequest,
    NoteReply,
    NoteRequest,
    SearchMatch,
    SessionList,
    SessionListItem,
    SessionListQuery,
    SessionRecordReply,
    SessionSummaryReply,
)
from server.records.context import ANNOTATIONS, RECORDS, SENTIMENT
from server.records.export import FORMATS
from server.records.models import SessionSummary
from server.records.read_model import load_record
from server.records.retention import retention_ctx
from server.session.participant import now_utc
from server.session.registry import SESSIONS

log = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_LINE_ID = 2**31 - 1
# The reason of a record page's 404: the error-page middleware words its page for a counselor by it.
NO_SUCH_RECORD = "No such session record"
MATCHES_PER_SESSION = 5


class ReviewPages:
    """The login and review pages, read once at start."""

    def __init__(self, web_dir: Path) -> None:
        self.login = (web_dir / "login.html").read_text(encoding="utf-8")
        self.sessions = (web_dir / "review" / "sessions.html").read_text(encoding="utf-8")
        self.session = (web_dir / "review" / "session.html").read_text(encoding="utf-8")


REVIEW_PAGES = web.AppKey("review_pages", ReviewPages)


def _html(body: str) -> web.Response:
    return web.Response(text=body, content_type="text/html", headers={"Cache-Control": "no-store"})


def _to_login(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound(f"/login?next={request.path}")


async def login_page(request: web.Request) -> web.Response:
    return _html(request.app[REVIEW_PAGES].login)


async def sessions_page(request: web.Request) -> web.Response:
    if await current_login(request) is None:
        raise _to_login(request)
    return _html(request.app[REVIEW_PAGES].sessions)


async def session_page(request: web.Request) -> web.Response:
    login = await current_login(request)
    if login is None:
        raise _to_login(request)
    # An unknown id (or someone else's) gets the styled not-found page, not an empty review page.
    if await _owned_summary(request, login.account) is None:
        raise web.HTTPNotFound(reason=NO_SUCH_RECORD)
    session_id = request.match_info["session_id"]
    return _html(request.app[REVIEW_PAGES].session.replace("__SESSION_ID__", html.escape(session_id)))


def _not_found() -> web.Response:
    return json_error(404, "not_found", "There is no such session record.")


async def _owned_summary(request: web.Request, account: Account) -> SessionSummary | None:
    session_id = request.match_info["session_id"]
    if not SESSION_ID.match(session_id):
        return None
    found = await request.app[RECORDS].session_summaries(account.id, only=session_id)
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


def _listed(summary: SessionSummary, matches: list[tuple[int, str]], live: set[str]) -> SessionListItem:
    return SessionListItem(
        **SessionSummaryReply.summary_fields(summary),
        matches=[SearchMatch(line_id=lid, text=text) for lid, text in matches[:MATCHES_PER_SESSION]],
        live=summary.ended_at is None and summary.session_id in live,
    )


async def list_sessions(request: web.Request) -> web.Response:
    account = await require_account(request)
    query = read_query(request, SessionListQuery).q.strip()
    records = request.app[RECORDS]
    summaries = await records.session_summaries(account.id)
    # Live now, on this instance or another: the list offers a way back into the room.
    live = await request.app[SESSIONS].live_session_ids([s.session_id for s in summaries if s.ended_at is None])
    if not query:
        return reply(SessionList(sessions=[_listed(s, [], live) for s in summaries]))
    blobs = await records.encrypted_lines_of(account.id)
    hits = await asyncio.to_thread(_search_lines, records.cipher, blobs, query)
    folded = query.casefold()
    found = []
    for s in summaries:
        in_meta = folded in s.title.casefold() or any(folded in p.name.casefold() for p in s.participants)
        matches = hits.get(s.session_id, [])
        if matches or in_meta:
            found.append(_listed(s, matches, live))
    return reply(SessionList(sessions=found, query=query))


async def session_detail(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    notes = await request.app[ANNOTATIONS].notes(summary.session_id)
    record = await load_record(request.app[RECORDS], summary, request.app[SENTIMENT], notes)
    await request.app[AUDIT].record(account.id, Action.VIEW, summary.session_id)
    return reply(SessionRecordReply.of(record))


async def delete_session(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    await request.app[RECORDS].delete_sessions([summary.session_id])
    await request.app[AUDIT].record(account.id, Action.DELETE, summary.session_id)
    return web.Response(status=204)


def _row_id(request: web.Request, name: str) -> int | None:
    raw = request.match_info[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not 0 < int(raw) <= MAX_LINE_ID:
        return None
    return int(raw)


def _line_id(request: web.Request) -> int | None:
    return _row_id(request, "line_id")


async def correct_line(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    line_id = _line_id(request)
    if summary is None or line_id is None:
        return _not_found()
    body = await read_body(request, CorrectionRequest)
    if not await request.app[ANNOTATIONS].correct_line(summary.session_id, line_id, body.text, account.id, now_utc()):
        return json_error(404, "not_found", "There is no such line in this session.")
    await request.app[AUDIT].record(account.id, Action.EDIT, summary.session_id, f"line {line_id}")
    line = next(ln for ln in await request.app[RECORDS].transcript(summary.session_id) if ln.line_id == line_id)
    corrected = CorrectionReply(line_id=line.line_id, text=line.text, original_text=line.original_text, corrected=True)
    return reply(corrected)


async def add_note(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    if summary is None:
        return _not_found()
    body = await read_body(request, NoteRequest)
    note = await request.app[ANNOTATIONS].add_note(summary.session_id, account.id, body.text, now_utc())
    await request.app[AUDIT].record(account.id, Action.NOTE, summary.session_id, f"note {note.id}")
    return reply(NoteReply.of(note), status=201)


async def edit_note(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    note_id = _row_id(request, "note_id")
    if summary is None or note_id is None:
        return _not_found()
    body = await read_body(request, NoteRequest)
    note = await request.app[ANNOTATIONS].edit_note(summary.session_id, note_id, account.id, body.text)
    if note is None:
        return _no_such_note()
    await request.app[AUDIT].record(account.id, Action.NOTE_EDIT, summary.session_id, f"note {note_id}")
    return reply(NoteReply.of(note))


async def delete_note(request: web.Request) -> web.Response:
    account = await require_account(request)
    summary = await _owned_summary(request, account)
    note_id = _row_id(request, "note_id")
    if summary is None or note_id is None:
        return _not_found()
    if not await request.app[ANNOTATIONS].delete_note(summary.session_id, note_id, account.id):
        return _no_such_note()
    await request.app[AUDIT].record(account.id, Action.NOTE_DELETE, summary.session_id, f"note {note_id}")
    return web.Response(status=204)


def _no_such_note() -> web.Response:
    return json_error(404, "not_found", "There is no such note in this session record.")


async def export_session(request: web.Request) -> web.Response:
    account = await require_account(request)
    fmt = request.match_info["fmt"]
    summary = await _owned_summary(request, account)
    if summary is None or fmt not in FORMATS:
        return _not_found()
    notes = await request.app[ANNOTATIONS].notes(summary.session_id)
    record = await load_record(request.app[RECORDS], summary, request.app[SENTIMENT], notes)
    exported = await asyncio.to_thread(FORMATS[fmt], record)
    await request.app[AUDIT].record(account.id, Action.EXPORT, summary.session_id, fmt)
    return web.Response(
        body=exported.body,
        headers={
            "Content-Type": exported.content_type,
            "Content-Disposition": f'attachment; filename="attune-session-{summary.session_id}.{exported.extension}"',
        },
    )


class AuditEntryReply(ApiModel):
    at: datetime
    account_id: int | None
    action: str
    session_id: str | None
    detail: str


class AuditReply(ApiModel):
    entries: list[AuditEntryReply]


async def audit_log(request: web.Request) -> web.Response:
    """A counselor sees the entries about their own actions; an admin sees everyone's."""
    account = await require_account(request)
    entries = await request.app[AUDIT].entries(None if account.is_admin else account.id)
    return reply(
        AuditReply(
            entries=[
                AuditEntryReply(
                    at=e.at, account_id=e.account_id, action=e.action, session_id=e.session_id, detail=e.detail
                )
                for e in entries
            ]
        )
    )


SESSION_PARAM = PathParam("session_id", "the session record's id")
NOTE_PARAM = PathParam("note_id", "the note's id")
RECORD = "/api/records/sessions/{session_id}"
OPERATIONS = (
    Operation(
        "GET", "/api/records/sessions", list_sessions, "listSessions",
        "The counselor's session records, newest first; q searches transcripts, titles and names",
        Access.LOGIN, (Reply(200, "the sessions", SessionList),), query=SessionListQuery,
    ),
    Operation(
        "GET", RECORD, session_detail, "getSession",
        "One session record: participants, consent, transcript with tone per line, cues, notes, talk time",
        Access.LOGIN, (Reply(200, "the record", SessionRecordReply),), path_params=(SESSION_PARAM,),
    ),
    Operation(
        "DELETE", RECORD, delete_session, "deleteSession", "Hard-delete the session record now",
        Access.LOGIN_CSRF, (Reply(204, "deleted"),), path_params=(SESSION_PARAM,),
    ),
    Operation(
        "PATCH", RECORD + "/lines/{line_id}", correct_line, "correctLine",
        "Correct a transcript line (the recognised text is kept as original_text)",
        Access.LOGIN_CSRF, (Reply(200, "corrected", CorrectionReply),), body=CorrectionRequest,
        path_params=(SESSION_PARAM, PathParam("line_id", "the line's id")),
    ),
    Operation(
        "POST", RECORD + "/notes", add_note, "addNote", "Add a private note to the session record",
        Access.LOGIN_CSRF, (Reply(201, "added", NoteReply),), body=NoteRequest, path_params=(SESSION_PARAM,),
    ),
    Operation(
        "PATCH", RECORD + "/notes/{note_id}", edit_note, "editNote", "Replace the text of one of your private notes",
        Access.LOGIN_CSRF, (Reply(200, "edited", NoteReply),), body=NoteRequest,
        path_params=(SESSION_PARAM, NOTE_PARAM),
    ),
    Operation(
        "DELETE", RECORD + "/notes/{note_id}", delete_note, "deleteNote", "Delete one of your private notes for good",
        Access.LOGIN_CSRF, (Reply(204, "deleted"),), path_params=(SESSION_PARAM, NOTE_PARAM),
    ),
    Operation(
        "GET", RECORD + "/export/{fmt}", export_session, "exportSession",
        "Download the record as WebVTT, SRT, text, JSON or a PDF report (text, JSON and PDF with your notes)",
        Access.LOGIN,
        (
            Reply(200, "the export (JSON: the whole record)", SessionRecordReply,
                  text_types=("text/vtt", "application/x-subrip", "text/plain"), binary_types=("application/pdf",)),
        ),
        path_params=(SESSION_PARAM, PathParam("fmt", "the format", enum=tuple(FORMATS))),
    ),
    Operation(
        "GET", "/api/audit", audit_log, "auditLog", "Audit entries: your own actions (admins: everyone's)",
        Access.LOGIN, (Reply(200, "the entries", AuditReply),),
    ),
)


def setup_records(app: web.Application, web_dir: Path) -> None:
    """The review pages, the records API and exports, and the retention sweep."""
    app[REVIEW_PAGES] = ReviewPages(web_dir)
    app.cleanup_ctx.append(retention_ctx)
    app.router.add_get("/login", login_page)
    app.router.add_get("/records", sessions_page)
    app.router.add_get("/records/{session_id}", session_page)
    add_operations(app, OPERATIONS)
