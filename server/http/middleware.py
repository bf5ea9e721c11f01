"""Middlewares every response passes through: security headers, and JSON answers for API failures."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.http.api import MAX_BODY_BYTES, json_error

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Links carry tokens: never leak them to another site through the Referer header.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
    if request.path.startswith(("/host/", "/join/", "/api/")):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unexpected errors become a plain JSON 500: the details go to the log, never to the browser. An API
    body over the size limit gets a JSON 413."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # aiohttp's own answer to a body over ``client_max_size`` is plain text; the API's errors are JSON.
        if request.path.startswith("/api/"):
            return json_error(413, "too_large", f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.")
        raise
    except web.HTTPException:
        raise
    except ConnectionResetError:
        # The client went away mid-answer: not a server failure, and nobody is left to tell.
        log.info("%s %s: the client closed the connection", request.method, request.path)
        raise
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, "internal", "Something went wrong on the server.")
