"""The styled error page for addresses that lead nowhere: an unknown path, or a session record that does not
exist (or is someone else's). Under /api/ a 404 stays JSON (an unknown API path too); static files and the
socket keep their plain ones."""

from __future__ import annotations

from aiohttp import web

from server.call.pages import CLIENT_HINT, TEMPLATES
from server.http.api import json_error
from server.http.middleware import Handler
from server.records.http import NO_SUCH_RECORD

PLAIN_PREFIXES = ("/static/", "/ws")
RECORDS_HINT = '<a href="/records">Go to your session records</a>'


@web.middleware
async def styled_not_found(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound as exc:
        if request.path.startswith("/api/"):
            if exc.content_type == "application/json":
                raise
            return json_error(404, "not_found", "There is no such API path.")
        if request.path.startswith(PLAIN_PREFIXES) or TEMPLATES not in request.app:
            raise
        templates = request.app[TEMPLATES]
        if exc.reason == NO_SUCH_RECORD:
            body = templates.render_error(
                "No such session record",
                "There is no session record at this address. It may have been deleted (by you, or by the "
                "retention policy), or the link may be incomplete.",
                RECORDS_HINT,
            )
        else:
            body = templates.render_error(
                "Page not found", "There is no page at this address. The link may be incomplete or mistyped.",
                CLIENT_HINT,
            )
        return web.Response(text=body, status=404, content_type="text/html", headers={"Cache-Control": "no-store"})
