"""The route table: every JSON route is declared once, as an ``Operation``, with its request and reply
models. The same table registers the aiohttp handlers and builds ``/api/openapi.json``
(``server.http.openapi``), so the document cannot drift from what the handlers accept and return.

Handlers stay plain aiohttp handlers: they call ``read_body`` / ``read_query`` to validate input against
the operation's models (a clear 400 on any mismatch, never a 500) and answer with ``reply``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
ModelT = TypeVar("ModelT", bound=BaseModel)


class ApiModel(BaseModel):
    """Base of request and reply bodies: unknown fields in a request are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ErrorBody(ApiModel):
    """Every error answer: a stable machine code and a sentence for people."""

    error: str
    message: str


class Access(StrEnum):
    PUBLIC = "public"  # no login
    LOGIN = "login"  # the login cookie
    LOGIN_CSRF = "login_csrf"  # the login cookie and the X-CSRF-Token header (state-changing calls)


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented answer. ``model`` is the JSON body; ``text_types`` and ``binary_types`` name the
    other bodies the same answer may carry (exports)."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    text_types: tuple[str, ...] = ()
    binary_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    description: str
    enum: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Operation:
    method: Method
    path: str
    handler: Handler
    operation_id: str
    summary: str
    access: Access
    replies: tuple[Reply, ...]
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    path_params: tuple[PathParam, ...] = ()
    errors: tuple[int, ...] = ()  # error statuses beyond those implied by access, body and path
    tags: tuple[str, ...] = field(default=())

    def error_statuses(self) -> list[int]:
        implied: set[int] = set(self.errors)
        if self.access is not Access.PUBLIC:
            implied.add(401)
        if self.access is Access.LOGIN_CSRF or self.method != "GET":
            implied.add(403)  # CSRF token or a cross-site Origin
        if self.body is not None or self.query is not None:
            implied.add(400)
        if self.body is not None:
            implied.add(413)
        if self.path_params:
            implied.add(404)
        return sorted(implied)


# Largest request body the server reads (aiohttp's ``client_max_size``); larger ones get a 413.
MAX_BODY_BYTES = 64 * 1024


def json_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    return reply(ErrorBody(error=code, message=message), status=status, headers=headers)


def reply(model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json", headers=headers
    )


class BadRequest(web.HTTPBadRequest):
    """A request that does not fit its model, answered as a JSON ``ErrorBody``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(text=ErrorBody(error=code, message=message).model_dump_json(), content_type="application/json")


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


async def read_body(request: web.Request, model: type[ModelT]) -> ModelT:
    """The request body validated against ``model``; raises ``BadRequest`` with the first problem.

    pydantic parses the JSON itself (in Rust, with a nesting limit), so deeply nested or oversized
    documents, huge numbers and invalid UTF-8 become a 400 like any other mismatch."""
    raw = await request.read()
    if not raw.strip():
        raw = b"{}"
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("bad_json", "The body must be a JSON object.") from None
        raise BadRequest("bad_request", _describe(exc)) from None


def read_query(request: web.Request, model: type[ModelT]) -> ModelT:
    """The query string validated against ``model`` (each parameter at most once)."""
    values: dict[str, Any] = {}
    for key in request.query:
        found = request.query.getall(key)
        if len(found) > 1:
            raise BadRequest("bad_request", f"{key}: give this parameter at most once")
        values[key] = found[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise BadRequest("bad_request", _describe(exc)) from None


def add_operations(app: web.Application, operations: Iterable[Operation]) -> None:
    """Registers the handlers (``HEAD`` follows ``GET``) and remembers the table for the OpenAPI document."""
    if OPERATIONS not in app:
        app[OPERATIONS] = []
    table = app[OPERATIONS]
    for op in operations:
        app.router.add_route(op.method, op.path, op.handler)
        table.append(op)


OPERATIONS = web.AppKey("api_operations", list[Operation])
