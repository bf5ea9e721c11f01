"""Client to server: one pydantic model per message type a browser may send (docs/protocol.md).

Validation is strict: unknown fields are refused, so a browser cannot smuggle a ``role`` into ``join``;
types are not coerced, so ``"granted": "yes"`` or ``1`` is a schema error, not a granted consent. The
JSON is parsed by pydantic (with a nesting limit; huge numbers and lone surrogates are refused), so any
frame gets a clear error, never an exception.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from server.http.fields import NO_INVALID_CHARACTERS, typed_text
from server.session.protocol.errors import ProtocolError


class _Message(BaseModel):
    """Base of client messages. ``sender`` says who may send it (for docs/protocol.md)."""

    # No global whitespace stripping: SDP is data and must keep its final CRLF.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    sender: ClassVar[str] = "any joined"


# Text people type: surrounding whitespace is dropped before the length check.
DisplayName = Annotated[str, typed_text(1, 60), NO_INVALID_CHARACTERS]
ChatText = Annotated[str, typed_text(1, 2000), NO_INVALID_CHARACTERS]
ParticipantId = Annotated[str, Field(min_length=1, max_length=40)]


class Join(_Message):
    """Join with a counselor or invite token; ``resume_key`` (from an earlier ``welcome``) rejoins as the
    same participant after a reload, a dropped connection or a server restart."""

    sender: ClassVar[str] = "anyone, first message"
    type: Literal["join"]
    token: Annotated[str, Field(min_length=8, max_length=200)]
    name: DisplayName
    resume_key: Annotated[str | None, Field(max_length=200)] = None
    continuing: bool = Field(
        False, description="the page kept its peer-to-peer call (only the socket dropped): peers keep it too"
    )


class Consent(_Message):
    """The participant's decision on the consent text of that version; ``granted=false`` stops their
    analysis uplink at once."""

    type: Literal["consent"]
    granted: bool
    version: Annotated[str, Field(min_length=1, max_length=40)]


class Admit(_Message):
    """Let someone in from the waiting room."""

    sender: ClassVar[str] = "counselor"
    type: Literal["admit"]
    participant_id: ParticipantId


class Decline(_Message):
    """Turn someone in the waiting room away (they see a kind message; their socket closes)."""

    sender: ClassVar[str] = "counselor"
    type: Literal["decline"]
    participant_id: ParticipantId


class SessionDescription(_Message):
    type: Literal["offer", "answer", "pranswer", "rollback"]
    sdp: Annotated[str, Field(max_length=20_000)] = ""


class IceCandidate(_Message):
    candidate: Annotated[str, Field(max_length=1000)]
    sdpMid: Annotated[str | None, Field(max_length=64)] = None
    sdpMLineIndex: Annotated[int | None, Field(ge=0, le=1024)] = None
    usernameFragment: Annotated[str | None, Field(max_length=256)] = None


class Signal(_Message):
    """Peer-to-peer signaling, relayed to ``to`` as ``signal`` with ``from`` (mesh, trickle ICE, perfect
    negotiation)."""

    sender: ClassVar[str] = "admitted"
    type: Literal["signal"]
    to: ParticipantId
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None


class UplinkOffer(_Message):
    """Offer for the analysis uplink (send-only, ICE gathering complete); answered by ``uplink_answer``."""

    sender: ClassVar[str] = "admitted, consent granted"
    type: Literal["uplink_offer"]
    sdp: Annotated[str, Field(min_length=10, max_length=20_000)]


class UplinkStop(_Message):
    """Close this participant's analysis uplink."""

    sender: ClassVar[str] = "admitted"
    type: Literal["uplink_stop"]


class MediaState(_Message):
    """Microphone and camera on or off, shown on tiles (and telling the cues a face is off on purpose)."""

    sender: ClassVar[str] = "admitted"
    type: Literal["media_state"]
    audio: bool
    video: bool


class NetQuality(_Message):
    """The sender's own measured link quality, shown on its tile for the others."""

    sender: ClassVar[str] = "admitted"
    type: Literal["net_quality"]
    level: Literal["good", "fair", "poor", "unknown"]
    rtt_ms: Annotated[float | None, Field(ge=0, le=60_000)] = None
    loss_pct: Annotated[float | None, Field(ge=0, le=100)] = None


class Chat(_Message):
    """A chat message to everyone admitted."""

    sender: ClassVar[str] = "admitted"
    type: Literal["chat"]
    text: ChatText


class Captions(_Message):
    """Whether this socket receives live captions (default on)."""

    type: Literal["captions"]
    enabled: bool


class CueMute(_Message):
    """Mute or unmute a cue kind for this session (urgent alerts are never muted)."""

    sender: ClassVar[str] = "counselor"
    type: Literal["cue_mute"]
    kind: Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z_.]+$")]
    muted: bool


class Leave(_Message):
    """Leave for good. A socket that closes without ``leave`` is a dropped connection: the participant
    shows as reconnecting for the grace period."""

    type: Literal["leave"]


class EndSession(_Message):
    """End the session for everyone."""

    sender: ClassVar[str] = "counselor"
    type: Literal["end_session"]


class Subscribe(_Message):
    """Ask for an event channel; ``counselor`` is refused unless the sender's role is counselor."""

    type: Literal["subscribe"]
    channel: Annotated[str, Field(min_length=1, max_length=40)]


class ResumeSaved(_Message):
    """The page saved the `resume_key` of its last `welcome`; the key before it stops working."""

    type: Literal["resume_saved"]


class Ping(_Message):
    """Answered by ``pong``."""

    sender: ClassVar[str] = "any"
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
    | ResumeSaved
    | Ping,
    Field(discriminator="type"),
]

_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_MESSAGES: tuple[type[_Message], ...] = (
    Join, Consent, Admit, Decline, Signal, UplinkOffer, UplinkStop, MediaState, NetQuality,
    Chat, Captions, CueMute, Leave, EndSession, Subscribe, ResumeSaved, Ping,
)
KNOWN_TYPES = frozenset(str(get_args(m.model_fields["type"].annotation)[0]) for m in CLIENT_MESSAGES)


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """The message in one text frame, or ``ProtocolError`` saying what is wrong with it."""
    try:
        data = pydantic_core.from_json(raw)
    except ValueError as exc:
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
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "message"
        raise ProtocolError("bad_message", f"Invalid '{kind}' message: {where}: {first['msg']}.", ref=kind) from exc
