"""Server to client: every message the server sends on a participant's socket (docs/protocol.md).

Two families that never mix:
- ``PublicMessage`` subclasses may go to any participant the routing picks (the joiner, everyone
  admitted, caption viewers).
- ``CounselorChannel`` wraps a ``server.session.protocol.counselor.CounselorEvent``: it is not a
  ``PublicMessage``, so ``Outbox.send`` cannot take it, and ``Outbox.send_counselor`` refuses any socket
  whose server-assigned role is not counselor.
A message is encoded once (``encode``) however many sockets it goes to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from server.session.protocol.client import IceCandidate, SessionDescription
from server.session.protocol.counselor import CounselorEventUnion
from server.session.states import ConsentState, Presence, Role


class PublicMessage(BaseModel):
    """Base of the messages any participant may receive. ``recipients`` is for docs/protocol.md."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    recipients: ClassVar[str] = "the sender"
    type: str


class You(BaseModel):
    participant_id: str
    role: Role
    name: str


class SessionInfo(BaseModel):
    session_id: str
    title: str


class CounselorSessionInfo(SessionInfo):
    invite_url: str = Field(description="the link to share with the client(s)")


class ConsentOffer(BaseModel):
    version: str
    title: str
    text: str
    state: ConsentState = Field(description="the participant's current decision")


class IceServer(BaseModel):
    model_config = ConfigDict(extra="allow")
    urls: str | list[str]
    username: str | None = None
    credential: str | None = None


class Welcome(PublicMessage):
    """Join accepted."""

    recipients: ClassVar[str] = "the joiner"
    type: Literal["welcome"] = "welcome"
    you: You
    session: CounselorSessionInfo | SessionInfo = Field(description="`invite_url` for the counselor only")
    resume_key: str = Field(description="rejoins as the same participant; a new key comes with every welcome")
    ice_servers: list[IceServer]
    consent: ConsentOffer
    state: Literal["waiting", "admitted"]
    captions_available: bool


class ConsentRecorded(PublicMessage):
    """The decision is recorded (with its time and the text's version)."""

    recipients: ClassVar[str] = "the sender of `consent`"
    type: Literal["consent_recorded"] = "consent_recorded"
    state: ConsentState
    version: str


class Subscribed(PublicMessage):
    """The channel is open to this socket."""

    recipients: ClassVar[str] = "the sender of `subscribe`"
    type: Literal["subscribed"] = "subscribed"
    channel: Literal["counselor", "captions"]


class Waiting(PublicMessage):
    """You are in the waiting room."""

    recipients: ClassVar[str] = "a client"
    type: Literal["waiting"] = "waiting"


class Admitted(PublicMessage):
    """The counselor let you in."""

    recipients: ClassVar[str] = "a client"
    type: Literal["admitted"] = "admitted"


class Declined(PublicMessage):
    """The counselor declined; the socket then closes."""

    recipients: ClassVar[str] = "a client"
    type: Literal["declined"] = "declined"


class NetReport(BaseModel):
    level: Literal["good", "fair", "poor", "unknown"]
    rtt_ms: float | None = None
    loss_pct: float | None = None


class RosterEntry(BaseModel):
    participant_id: str
    name: str
    role: Role
    state: Presence
    audio: bool
    video: bool
    net: NetReport | None
    epoch: int = Field(description="grows every time the participant's socket (re)joins: peers rebuild their link")


class Roster(PublicMessage):
    """Who is here (admitted and reconnecting participants)."""

    recipients: ClassVar[str] = "every admitted participant"
    type: Literal["roster"] = "roster"
    participants: list[RosterEntry]


class SignalRelay(PublicMessage):
    """A relayed `signal`."""

    recipients: ClassVar[str] = "the target peer"
    type: Literal["signal"] = "signal"
    sender: str = Field(alias="from", serialization_alias="from")
    description: SessionDescription | None = None
    candidate: IceCandidate | None = None


class UplinkAnswer(PublicMessage):
    """The answer for the analysis uplink."""

    recipients: ClassVar[str] = "the sender of the offer"
    type: Literal["uplink_answer"] = "uplink_answer"
    sdp: str


class UplinkClosed(PublicMessage):
    """The server closed this participant's uplink (consent withdrawn, stopped, error)."""

    recipients: ClassVar[str] = "the participant"
    type: Literal["uplink_closed"] = "uplink_closed"
    reason: str


class ChatRelay(PublicMessage):
    """A chat message."""

    recipients: ClassVar[str] = "every admitted participant"
    type: Literal["chat"] = "chat"
    sender: str = Field(alias="from", serialization_alias="from")
    name: str
    text: str
    at: str = Field(description="ISO 8601, UTC")


class SessionEnded(PublicMessage):
    """The session is over; the socket then closes."""

    recipients: ClassVar[str] = "everyone"
    type: Literal["session_ended"] = "session_ended"
    reason: str


class Caption(PublicMessage):
    """A live caption (see Captions below)."""

    recipients: ClassVar[str] = "participants with captions on"
    type: Literal["caption"] = "caption"
    participant_id: str
    name: str
    utterance_id: int
    kind: Literal["partial", "final"]
    text: str
    stable: str = Field(description="the prefix of `text` that will not change any more")
    start_s: float
    end_s: float


class CaptionsUnavailable(PublicMessage):
    """This session runs without live captions (the caption engine is at capacity); the call itself is
    unaffected. ``message`` is a calm sentence to show as is."""

    recipients: ClassVar[str] = "each participant of a session started without captions, when their uplink starts"
    type: Literal["captions_unavailable"] = "captions_unavailable"
    message: str


class CaptionsAvailable(PublicMessage):
    """Live captions are on now for this session, which started without them. ``message`` is a calm
    sentence to show as is."""

    recipients: ClassVar[str] = "everyone admitted, when a session started without captions gets them"
    type: Literal["captions_available"] = "captions_available"
    message: str


class ErrorReply(PublicMessage):
    """The message was refused; nothing else changed."""

    type: Literal["error"] = "error"
    code: str
    message: str
    ref: str | None = Field(None, description="the `type` of the refused message")


class Pong(PublicMessage):
    """The answer to `ping`."""

    type: Literal["pong"] = "pong"


class CounselorChannel(BaseModel):
    """The private channel: waiting room, consent states, uplink status, transcript lines, cues and
    alerts. Sent only on sockets whose server-assigned role is counselor."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    recipients: ClassVar[str] = "counselor connections only"
    type: Literal["counselor"] = "counselor"
    event: Annotated[CounselorEventUnion, Field(discriminator="kind")]


PUBLIC_MESSAGES: tuple[type[PublicMessage], ...] = (
    Welcome, ConsentRecorded, Subscribed, Waiting, Admitted, Declined, Roster, SignalRelay, UplinkAnswer,
    UplinkClosed, ChatRelay, SessionEnded, Caption, CaptionsUnavailable, CaptionsAvailable, ErrorReply,
    Pong,
)
ServerMessage = PublicMessage | CounselorChannel


@dataclass(frozen=True, slots=True)
class Frame:
    """A message and its JSON text, encoded once for all the sockets it goes to."""

    message: ServerMessage
    text: str

    @property
    def private(self) -> bool:
        return isinstance(self.message, CounselorChannel)


def encode(message: ServerMessage) -> Frame:
    return Frame(message, message.model_dump_json(by_alias=True))


def error_reply(code: str, message: str, ref: str | None = None) -> ErrorReply:
    return ErrorReply(code=code, message=message, ref=ref)

