"""Back into a live session from the records list: a fresh counselor link for the session's owner.

A counselor who closed the room's tab (or lost its link) has no way back otherwise: the counselor link is
shown once and only its digest is kept. Asking again mints a new link and makes it the only one (the old
digest is replaced in the shared live-session store, so a copy of the old link left on another device or in
a browser's history stops working on every instance). Only the session's own counselor may ask; someone
else's session gets the same 404 as an unknown id, and an ended session has nothing to return to (409).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from server.accounts.auth import require_account
from server.call.pages import base_url
from server.db.audit import AUDIT, Action
from server.http.api import Access, ApiModel, Operation, PathParam, Reply, add_operations, json_error, read_body, reply
from server.records.context import RECORDS
from server.records.http import SESSION_ID
from server.session.registry import SESSIONS


class ReturnRequest(ApiModel):
    """Nothing to say: the session is in the path (a body, if any, must be an empty JSON object)."""


class ReturnReply(ApiModel):
    session_id: str
    counselor_url: str = Field(description="the counselor's room, with a new link (the old one no longer works)")


def _not_found() -> web.Response:
    return json_error(404, "not_found", "There is no such session.")


async def return_to_session(request: web.Request) -> web.Response:
    account = await require_account(request)
    await read_body(request, ReturnRequest)
    session_id = request.match_info["session_id"]
    if not SESSION_ID.match(session_id):
        return _not_found()
    owned = await request.app[RECORDS].session_summaries(account.id, only=session_id)
    if not owned:
        return _not_found()
    ended = json_error(409, "ended", "This session has ended, so there is no room to return to. Its record "
                                     "stays under Session records.")
    if owned[0].ended_at is not None:
        return ended
    token = await request.app[SESSIONS].replace_counselor_link(session_id)
    if token is None:
        return ended
    await request.app[AUDIT].record(account.id, Action.ROOM_LINK, session_id)
    return reply(ReturnReply(session_id=session_id, counselor_url=f"{base_url(request)}/host/{token}"))


OPERATIONS = (
    Operation(
        "POST", "/api/sessions/{session_id}/return", return_to_session, "returnToSession",
        "A new counselor link to your live session (the old link stops working)",
        Access.LOGIN_CSRF, (Reply(200, "the room's new link", ReturnReply),), body=ReturnRequest,
        body_required=False, path_params=(PathParam("session_id", "the live session's id"),), errors=(409,),
    ),
)


def setup_return_link(app: web.Application) -> None:
    add_operations(app, OPERATIONS)
