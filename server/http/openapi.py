"""``/api/openapi.json``: the OpenAPI 3.1 document, built from the route table and pydantic's JSON Schema.

OpenAPI 3.1 uses JSON Schema 2020-12, which is what pydantic emits, so the models' schemas go into
``components.schemas`` unchanged. The property-based fuzzer (schemathesis, in the tests) checks every
answer of the running server against this document.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.http.api import OPERATIONS, Access, ErrorBody, Operation

REF = "#/components/schemas/{model}"
ERROR_WORDS = {
    400: "the request does not fit its schema",
    401: "not logged in",
    403: "forbidden (role, CSRF token or another site's origin)",
    404: "not found",
    409: "conflict",
    410: "gone",
    413: "body too large",
    415: "wrong content type",
    429: "too many attempts",
    503: "not available now",
}
SECURITY_SCHEMES = {
    "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "attune_session"},
    "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
}


Refs = dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]]


def _schemas(operations: Sequence[Operation]) -> tuple[Refs, dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorBody, "serialization"): None}
    for op in operations:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for answer in op.replies:
            if answer.model is not None:
                wanted[(answer.model, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=REF)
    found: Refs = {
        (model, mode): dict(schema)
        for (model, mode), schema in refs.items()
        if isinstance(model, type) and issubclass(model, BaseModel)
    }
    return found, top.get("$defs", {})


def _security(access: Access) -> list[dict[str, list[str]]]:
    if access is Access.PUBLIC:
        return []
    if access is Access.LOGIN:
        return [{"cookieAuth": []}]
    return [{"cookieAuth": [], "csrfHeader": []}]


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation", ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(op: Operation, refs: Refs) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for answer in op.replies:
        entry: dict[str, Any] = {"description": answer.description}
        content: dict[str, Any] = {}
        if answer.model is not None:
            content["application/json"] = {"schema": refs[(answer.model, "serialization")]}
        for content_type in answer.text_types:
            content[content_type] = {"schema": {"type": "string"}}
        for content_type in answer.binary_types:
            content[content_type] = {"schema": {"type": "string", "contentMediaType": content_type}}
        if content:
            entry["content"] = content
        responses[str(answer.status)] = entry
    error_ref = refs[(ErrorBody, "serialization")]
    for status in op.error_statuses():
        responses.setdefault(
            str(status), {"description": ERROR_WORDS[status], "content": {"application/json": {"schema": error_ref}}}
        )
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "security": _security(op.access),
        "responses": responses,
    }
    parameters: list[dict[str, Any]] = [
        {
            "name": p.name,
            "in": "path",
            "required": True,
            "description": p.description,
            "schema": {"type": "string", **({"enum": list(p.enum)} if p.enum else {})},
        }
        for p in op.path_params
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    if op.tags:
        out["tags"] = list(op.tags)
    return out


def openapi_document(operations: Sequence[Operation]) -> dict[str, Any]:
    refs, schemas = _schemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Attune API",
            "version": "2",
            "description": "Counselor accounts, live sessions and session records. Every call except login "
            "needs the login cookie; state-changing calls also need the X-CSRF-Token header from /api/me "
            "or the login answer.",
        },
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": schemas},
        "paths": paths,
    }


async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI_DOCUMENT])


OPENAPI_DOCUMENT = web.AppKey("openapi_document", dict[str, Any])


def add_openapi_route(app: web.Application) -> None:
    """Serves the document of every operation added so far (call it after all ``add_operations``)."""
    operations: list[Operation] = app[OPERATIONS] if OPERATIONS in app else []
    app[OPENAPI_DOCUMENT] = openapi_document(operations)
    app.router.add_get("/api/openapi.json", openapi_json)
