"""The WebSocket message protocol: one pydantic model per client message type (see docs/protocol.md).

Validation is strict: unknown fields are refused, so a browser cannot smuggle a ``role`` into ``join``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError


class _Message(BaseModel):
    # No global whitespace stripping: SDP is data and must keep its final CRLF.
    model_config = ConfigDict(extra="forbid", frozen=True)


# Text people type: surrounding whitespace is dropped before the length check.
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
ChatText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Join(_Message):
    type: Literal["join"]
    token: Annotated[str, Field(min_length=8, max_length=200)]
    name: DisplayName
    resume_key: Annotated[str | None, Field(max_length=200)] = None


class Consent(_Message):
    type: Literal["consent"]
    granted: bool
    version: Annotated[str, Field(min_length=1, max_length=40)]


class Admit(_Message):
    type: Literal["admit"]
    participant_id: Annotated[str, Field(min_length=1, max_length=40)]


class Decline(_Message):
    type: Literal["decline"]
    participant_id: Annotated[str, Field(min_length=1, max_length=40)]


class SessionDescription(_Message):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: Annotated[str, Field(max_length=20_000)] = ""


class IceCandidate(_Message):
    candidate: Annotated[str, Field(max_length=1000)]
    sdpMid: Annotated[str | None, Field(max_length=64)] = None
    sdpMLineIndex: int | None = None
    usernameFragment: Annotated[str | None, Field(max_length=256)] = None


class Signal(_Message):
    type: Literal["signal"]
    to: Annotated[str, Field(min_length=1, max_length=40)]
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None


class UplinkOffer(_Message):
    type: Literal["uplink_offer"]
    sdp: Annotated[str, Field(min_length=10, max_length=20_000)]


class UplinkStop(_Message):
    type: Literal["uplink_stop"]


class MediaState(_Message):
    type: Literal["media_state"]
    audio: bool
    video: bool


class NetQuality(_Message):
    type: Literal["net_quality"]
    level: Literal["good", "fair", "poor", "unknown"]
    rtt_ms: Annotated[float | None, Field(ge=0, le=60_000)] = None
    loss_pct: Annotated[float | None, Field(ge=0, le=100)] = None


class Chat(_Message):
    type: Literal["chat"]
    text: ChatText


class Captions(_Message):
    type: Literal["captions"]
    enabled: bool


class CueMute(_Message):
    type: Literal["cue_mute"]
    kind: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z_.]+$")]
    muted: bool


class Leave(_Message):
    type: Literal["leave"]


class EndSession(_Message):
    type: Literal["end_session"]


class Subscribe(_Message):
    type: Literal["subscribe"]
    channel: Annotated[str, Field(min_length=1, max_length=40)]


class Ping(_Message):
    type: Literal["ping"]


ClientMessage = Annotated[
    Join
    | Consent
    | Admit
    | Decline
    | Signal
    | UplinkOffer
    | UplinkStop
    | MediaState
    | NetQuality
    | Chat
    | Captions
    | CueMute
    | Leave
    | EndSession
    | Subscribe
    | Ping,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
KNOWN_TYPES = frozenset(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in (
        Join, Consent, Admit, Decline, Signal, UplinkOffer, UplinkStop, MediaState, NetQuality,
        Chat, Captions, CueMute, Leave, EndSession, Subscribe, Ping,
    )
)


class ProtocolError(Exception):
    """A message was refused; ``code`` and ``message`` go back to the sender in an ``error`` reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def to_message(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.ref:
            out["ref"] = self.ref
        return out


def parse_client_message(raw: str) -> ClientMessage:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ProtocolError("bad_json", "The message was not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "A message must be a JSON object with a 'type'.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "A message must have a string 'type'.")
    if kind not in KNOWN_TYPES:
        raise ProtocolError("unknown_type", f"Unknown message type {kind[:40]!r}.", ref=kind[:40])
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError("bad_message", f"Invalid '{kind}' message: {where}: {first['msg']}.", ref=kind) from exc
