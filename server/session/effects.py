"""What a session state change asks the world to do, as data.

The session model (``server.session.model``) returns these from every transition; the layers above carry
them out: ``server.session.delivery`` sends the messages, ``server.call.signaling`` closes sockets,
starts and stops grace timers, closes analysis uplinks and stores what the record needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.session.outbox import Outbox
from server.session.participant import ConsentDecision
from server.session.protocol.counselor import CounselorEventUnion
from server.session.protocol.server import Caption, PublicMessage


@dataclass(frozen=True, slots=True)
class ToParticipant:
    participant_id: str
    message: PublicMessage


@dataclass(frozen=True, slots=True)
class ToAdmitted:
    """Everyone admitted whose socket is open."""

    message: PublicMessage


@dataclass(frozen=True, slots=True)
class ToCaptionViewers:
    """Everyone admitted whose socket is open and has captions on."""

    message: Caption


@dataclass(frozen=True, slots=True)
class ToCounselors:
    """The private channel: counselor sockets only."""

    event: CounselorEventUnion


@dataclass(frozen=True, slots=True)
class ToSocket:
    """A socket that is leaving its participant (replaced, declined, session over): its last words."""

    outbox: Outbox
    message: PublicMessage


@dataclass(frozen=True, slots=True)
class CloseSocket:
    """A socket that no longer belongs to any participant (replaced, declined, session over)."""

    outbox: Outbox
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class StartGrace:
    """Hold a dropped participant's place; call ``Session.expire`` when the grace period is over."""

    participant_id: str


@dataclass(frozen=True, slots=True)
class StopGrace:
    participant_id: str


@dataclass(frozen=True, slots=True)
class ParticipantJoined:
    """A new participant (not a rejoin): its record is stored."""

    participant_id: str


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    """Gone for good (left, declined after joining, did not come back): uplink closed, record updated."""

    participant_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class UplinkNoLongerWanted:
    """The participant stays but their analysis stops (consent withdrawn, counselor stepped out).
    ``discard`` drops queued audio unheard (consent withdrawn) instead of finishing it."""

    participant_id: str
    reason: str
    discard: bool


@dataclass(frozen=True, slots=True)
class ConsentRecorded:
    decision: ConsentDecision


@dataclass(frozen=True, slots=True)
class SessionOver:
    reason: str


Message = ToParticipant | ToAdmitted | ToCaptionViewers | ToCounselors | ToSocket
Effect = (
    ToParticipant
    | ToSocket
    | ToAdmitted
    | ToCaptionViewers
    | ToCounselors
    | CloseSocket
    | StartGrace
    | StopGrace
    | ParticipantJoined
    | ParticipantLeft
    | UplinkNoLongerWanted
    | ConsentRecorded
    | SessionOver
)
