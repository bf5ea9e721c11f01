"""A participant of a live session: role, presence, consent, and what their analysis uplink delivered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from server.session.outbox import Outbox
from server.session.protocol.counselor import ConsentView
from server.session.protocol.server import NetReport, RosterEntry
from server.session.states import ConsentState, Presence, Role


def now_utc() -> datetime:
    return datetime.now(UTC)


def digest(token: str) -> bytes:
    """Tokens and resume keys are kept only as SHA-256 digests."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    participant_id: str
    role: Role
    state: ConsentState
    version: str
    at: datetime
    at_s: float  # on the session clock, for the record's timeline


@dataclass(slots=True)
class MediaCounters:
    """What the analysis uplink delivered for one participant (kept across uplink restarts)."""

    audio_seconds: float = 0.0
    audio_dropped_seconds: float = 0.0
    video_frames: int = 0
    video_frames_dropped: int = 0
    uplink_state: str = "none"  # none | connecting | connected | closed
    uplinks_opened: int = 0


@dataclass(eq=False)
class Participant:
    id: str
    role: Role
    name: str
    resume_digest: bytes
    presence: Presence
    joined_at: datetime = field(default_factory=now_utc)
    epoch: int = 0
    audio: bool = True
    video: bool = True
    net: NetReport | None = None
    consent: ConsentState = ConsentState.PENDING
    consent_version: str | None = None
    consent_at: datetime | None = None
    connection: Outbox | None = None
    media: MediaCounters = field(default_factory=MediaCounters)
    # The key before the one in the last ``welcome``, until the page confirms it saved the new one
    # (``resume_saved``): a welcome lost with its socket must not lock the participant out.
    unconfirmed_previous_digest: bytes | None = None

    @property
    def in_call(self) -> bool:
        """Admitted, or admitted and briefly disconnected."""
        return self.presence in (Presence.ADMITTED, Presence.RECONNECTING)

    @property
    def analysis_allowed(self) -> bool:
        return self.consent is ConsentState.GRANTED and self.in_call

    def roster_entry(self) -> RosterEntry:
        return RosterEntry(
            participant_id=self.id,
            name=self.name,
            role=self.role,
            state=self.presence,
            audio=self.audio,
            video=self.video,
            net=self.net,
            epoch=self.epoch,
        )

    def consent_view(self) -> ConsentView:
        return ConsentView(
            participant_id=self.id,
            name=self.name,
            role=self.role,
            state=self.presence,
            consent=self.consent,
            version=self.consent_version,
            at=self.consent_at.isoformat() if self.consent_at else None,
        )
