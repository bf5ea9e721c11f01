"""Requests the HTTP parser cannot read: answered by aiohttp with a 400, logged here as one line.

aiohttp logs a request it cannot parse (a request line or header over its limit, a broken request line) at
ERROR with a traceback; any client can send one, many a second, and its message quotes the raw request
line, which may hold a search query (health information). The record becomes one WARNING naming the
error's type and status, without the request's bytes.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["MAX_REQUEST_LINE_BYTES", "MalformedRequestLog", "quiet_malformed_requests"]

# Longest request line and header the server parses: the API's own bounds (a 200-character search query,
# percent-encoded: up to 12 bytes a character) fit well inside, so such requests get the API's JSON errors;
# aiohttp's default, 8190 bytes, answered an over-long query with the parser's plain-text 400 instead.
MAX_REQUEST_LINE_BYTES = 32 * 1024


class MalformedRequestLog(logging.Filter):
    """Turns aiohttp.server's record of an unparsable request into one line (at most WARNING) without the
    request."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = "malformed HTTP request answered with %s (%s)"
            record.args = (exc.code, type(exc).__name__)
            # never above WARNING, nor raised: aiohttp already logs a first request's bad method (a port
            # scanner, TLS on the plain port) at DEBUG
            level = min(record.levelno, logging.WARNING)
            record.levelno, record.levelname = level, logging.getLevelName(level)
            record.exc_info, record.exc_text = None, None
        return True


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server logger once per process."""
    logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequestLog) for f in logger.filters):
        logger.addFilter(MalformedRequestLog())
