"""The OpenAPI 3 document of the HTTP API, served at ``/api/openapi.json``.

Written out by hand: the handlers validate their own input, and this document is the contract that the
property-based fuzzer (schemathesis, in the tests) checks them against.
"""

from __future__ import annotations

from typing import Any


def _error() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    words = {400: "bad request", 401: "not logged in", 403: "forbidden (role or CSRF)", 404: "not found",
             413: "body too large", 415: "wrong content type", 429: "rate limited"}
    return {str(code): _json(_error(), words[code]) for code in codes}


SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
LINE_ID = {"name": "line_id", "in": "path", "required": True, "schema": {"type": "string"}}
TEXT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 10000}},
            }
        }
    },
}
LOGIN_SECURITY: list[dict[str, list[str]]] = [{"cookieAuth": [], "csrfHeader": []}]
READ_SECURITY: list[dict[str, list[str]]] = [{"cookieAuth": []}]


def openapi_document() -> dict[str, Any]:
    nullable_str = {"type": "string", "nullable": True}
    participant = {
        "type": "object",
        "properties": {
            "participant_id": {"type": "string"},
            "name": {"type": "string"},
            "role": {"type": "string", "enum": ["counselor", "client"]},
            "consent": {"type": "string"},
            "joined_at": {"type": "string", "format": "date-time"},
            "left_at": nullable_str,
        },
    }
    summary = {
        "type": "object",
        "required": ["session_id", "title", "created_at", "participants"],
        "properties": {
            "session_id": {"type": "string"},
            "title": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "ended_at": nullable_str,
            "duration_s": {"type": "number", "nullable": True},
            "line_count": {"type": "integer"},
            "participants": {"type": "array", "items": participant},
            "matches": {"type": "array", "items": {"type": "object"}},
        },
    }
    line = {
        "type": "object",
        "required": ["line_id", "participant_id", "speaker", "start_s", "end_s", "text"],
        "properties": {
            "line_id": {"type": "integer"},
            "participant_id": {"type": "string"},
            "speaker": {"type": "string"},
            "role": {"type": "string"},
            "start_s": {"type": "number"},
            "end_s": {"type": "number"},
            "text": {"type": "string"},
            "original_text": nullable_str,
            "corrected": {"type": "boolean"},
            "sentiment": {"type": "number", "minimum": -1, "maximum": 1},
        },
    }
    cue = {
        "type": "object",
        "properties": {
            "cue_id": {"type": "integer"},
            "participant_id": {"type": "string"},
            "at_s": {"type": "number"},
            "kind": {"type": "string"},
            "severity": {"type": "string"},
            "sentence": {"type": "string"},
            "evidence": {"type": "object"},
            "line_id": {"type": "integer", "nullable": True},
        },
    }
    account = {
        "type": "object",
        "required": ["account_id", "email", "is_admin"],
        "properties": {
            "account_id": {"type": "integer"},
            "email": {"type": "string"},
            "is_admin": {"type": "boolean"},
            "csrf_token": {"type": "string"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Attune API",
            "version": "1",
            "description": "Counselor accounts and session records. Every call except login needs the login "
            "cookie; state-changing calls also need the X-CSRF-Token header from /api/me or login.",
        },
        "components": {
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "attune_session"},
                "csrfHeader": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Account": account,
                "SessionSummary": summary,
                "Line": line,
                "Cue": cue,
            },
        },
        "paths": {
            "/api/login": {
                "post": {
                    "operationId": "login",
                    "summary": "Log in; sets the HttpOnly login cookie and the readable CSRF cookie",
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["email", "password"],
                                    "properties": {
                                        "email": {"type": "string", "maxLength": 254},
                                        "password": {"type": "string", "maxLength": 1024},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json({"$ref": "#/components/schemas/Account"}, "logged in")}
                    | _errors(400, 401, 403, 413, 415, 429),
                }
            },
            "/api/logout": {
                "post": {
                    "operationId": "logout",
                    "summary": "Log out (the login is deleted on the server)",
                    "security": LOGIN_SECURITY,
                    "responses": {"204": {"description": "logged out"}} | _errors(401, 403),
                }
            },
            "/api/me": {
                "get": {
                    "operationId": "me",
                    "summary": "The logged-in account and its CSRF token",
                    "security": READ_SECURITY,
                    "responses": {"200": _json({"$ref": "#/components/schemas/Account"}, "the account")}
                    | _errors(401),
                }
            },
            "/api/sessions": {
                "post": {
                    "operationId": "createSession",
                    "summary": "Start a live session owned by the logged-in counselor",
                    "security": LOGIN_SECURITY,
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"title": {"type": "string"}}}
                            }
                        },
                    },
                    "responses": {
                        "201": _json(
                            {
                                "type": "object",
                                "required": ["session_id", "counselor_url", "invite_url"],
                                "properties": {
                                    "session_id": {"type": "string"},
                                    "counselor_url": {"type": "string"},
                                    "invite_url": {"type": "string"},
                                    "expires_at": {"type": "number"},
                                },
                            },
                            "created",
                        )
                    }
                    | _errors(400, 401, 403, 413),
                }
            },
            "/api/records/sessions": {
                "get": {
                    "operationId": "listSessions",
                    "summary": "The counselor's session records, newest first; q searches transcripts and names",
                    "security": READ_SECURITY,
                    "parameters": [{"name": "q", "in": "query", "required": False, "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["sessions"],
                                "properties": {
                                    "sessions": {"type": "array",
                                                 "items": {"$ref": "#/components/schemas/SessionSummary"}},
                                    "query": {"type": "string"},
                                },
                            },
                            "the sessions",
                        )
                    }
                    | _errors(400, 401),
                }
            },
            "/api/records/sessions/{session_id}": {
                "parameters": [SESSION_ID],
                "get": {
                    "operationId": "getSession",
                    "summary": "One session record: participants, transcript, tone per line, cues, notes, talk time",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": _json(
                            {
                                "allOf": [{"$ref": "#/components/schemas/SessionSummary"}],
                                "type": "object",
                                "properties": {
                                    "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                                    "cues": {"type": "array", "items": {"$ref": "#/components/schemas/Cue"}},
                                    "notes": {"type": "array", "items": {"type": "object"}},
                                    "talk_time": {"type": "array", "items": {"type": "object"}},
                                    "consent_events": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                            "the record",
                        )
                    }
                    | _errors(401, 404),
                },
                "delete": {
                    "operationId": "deleteSession",
                    "summary": "Hard-delete the session record now",
                    "security": LOGIN_SECURITY,
                    "responses": {"204": {"description": "deleted"}} | _errors(401, 403, 404),
                },
            },
            "/api/records/sessions/{session_id}/lines/{line_id}": {
                "parameters": [SESSION_ID, LINE_ID],
                "patch": {
                    "operationId": "correctLine",
                    "summary": "Correct a transcript line (the recognised text is kept as original_text)",
                    "security": LOGIN_SECURITY,
                    "requestBody": TEXT_BODY,
                    "responses": {"200": _json({"type": "object"}, "corrected")} | _errors(400, 401, 403, 404, 413),
                },
            },
            "/api/records/sessions/{session_id}/notes": {
                "parameters": [SESSION_ID],
                "post": {
                    "operationId": "addNote",
                    "summary": "Add a private note to the session record",
                    "security": LOGIN_SECURITY,
                    "requestBody": TEXT_BODY,
                    "responses": {"201": _json({"type": "object"}, "added")} | _errors(400, 401, 403, 404, 413),
                },
            },
            "/api/records/sessions/{session_id}/export/{fmt}": {
                "parameters": [
                    SESSION_ID,
                    {"name": "fmt", "in": "path", "required": True,
                     "schema": {"type": "string", "enum": ["vtt", "srt", "txt", "json", "pdf"]}},
                ],
                "get": {
                    "operationId": "exportSession",
                    "summary": "Download the record as WebVTT, SRT, text, JSON or a PDF report",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": {
                            "description": "the export",
                            "content": {
                                "text/vtt": {"schema": {"type": "string"}},
                                "application/x-subrip": {"schema": {"type": "string"}},
                                "text/plain": {"schema": {"type": "string"}},
                                "application/json": {"schema": {"type": "object"}},
                                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                            },
                        }
                    }
                    | _errors(401, 404),
                },
            },
            "/api/accounts": {
                "get": {
                    "operationId": "listAccounts",
                    "summary": "All counselor accounts (admins only)",
                    "security": READ_SECURITY,
                    "responses": {
                        "200": _json(
                            {"type": "object", "properties": {
                                "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}},
                            "the accounts",
                        )
                    }
                    | _errors(401, 403),
                },
                "post": {
                    "operationId": "createAccount",
                    "summary": "Create a counselor account (admins only)",
                    "security": LOGIN_SECURITY,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["email", "password"],
                                    "properties": {
                                        "email": {"type": "string"},
                                        "password": {"type": "string"},
                                        "is_admin": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"201": _json({"$ref": "#/components/schemas/Account"}, "created")}
                    | _errors(400, 401, 403, 413),
                },
            },
            "/api/audit": {
                "get": {
                    "operationId": "auditLog",
                    "summary": "Audit entries: your own actions (admins: everyone's)",
                    "security": READ_SECURITY,
                    "responses": {"200": _json({"type": "object"}, "the entries")} | _errors(401),
                }
            },
        },
    }
