"""Sessions, participants, roles, admission and consent: the state the server owns.

A session has one counselor and up to five clients. Roles come from the token a browser joined
with: the counselor token (secret, in the counselor's link) or the invite token (in the client link).
Tokens are kept only as SHA-256 digests, so the registry can look them up but not hand them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from aiohttp import WSCloseCode, web

from server.settings import Settings

log = logging.getLogger(__name__)


class Role(StrEnum):
    COUNSELOR = "counselor"
    CLIENT = "client"


class Presence(StrEnum):
    WAITING = "waiting"
    ADMITTED = "admitted"
    RECONNECTING = "reconnecting"
    LEFT = "left"
    DECLINED = "declined"


class ConsentState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class TokenProblem(Exception):
    """Why a token does not open a session; ``code`` matches the protocol's error codes."""

    def __init__(self, code: str, title: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.title = title
        self.message = message
        self.status = status


BAD_TOKEN = TokenProblem(
    "bad_token",
    "This link doesn't open a session",
    "The link may be mistyped or incomplete. Please check it, or ask your counselor to send it again.",
    404,
)


def now_utc() -> datetime:
    return datetime.now(UTC)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    participant_id: str
    role: Role
    state: ConsentState
    version: str
    at: datetime


@dataclass(slots=True)
class MediaCounters:
    """What the analysis uplink delivered for one participant (kept across uplink restarts)."""

    audio_seconds: float = 0.0
    audio_dropped_seconds: float = 0.0
    video_frames: int = 0
    video_frames_dropped: int = 0
    uplink_state: str = "none"  # none | connecting | connected | closed
    uplinks_opened: int = 0


class Connection:
    """The outbound side of one participant WebSocket: a bounded queue drained by its own writer task,
    so a slow browser never holds up the others. Counselor-only messages are refused here too, as a
    second line behind the routing code."""

    QUEUE_LIMIT = 512

    def __init__(self, ws: web.WebSocketResponse, remote: str) -> None:
        self.ws = ws
        self.remote = remote
        self.role: Role | None = None
        self.participant: Participant | None = None
        self.session: Session | None = None
        self.captions_enabled = True
        self.base_url = ""
        self.closed = False
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(self.QUEUE_LIMIT)
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer {self.remote}")

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        if message.get("type") == "counselor" and self.role is not Role.COUNSELOR:
            log.error("refused to send a counselor-only message to a %s connection (%s)", self.role, self.label)
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("closing %s: it is not reading its messages", self.label)
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
            asyncio.get_running_loop().create_task(self.ws.close(code=WSCloseCode.POLICY_VIOLATION))

    async def _write_loop(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            try:
                await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):
                return

    async def close(self, code: int = WSCloseCode.OK, reason: str = "") -> None:
        """Flush what is queued (e.g. a final ``session_ended``), then close the socket."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._writer), timeout=2)
            self._writer.cancel()
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close(code=code, message=reason.encode()[:120])

    @property
    def label(self) -> str:
        who = self.participant.id if self.participant else "unjoined"
        where = self.session.id if self.session else "-"
        return f"session {where} participant {who} ({self.remote})"


@dataclass(eq=False)
class Participant:
    id: str
    role: Role
    name: str
    resume_key: str
    presence: Presence
    joined_at: datetime = field(default_factory=now_utc)
    epoch: int = 0
    audio: bool = True
    video: bool = True
    net: dict[str, Any] | None = None
    consent: ConsentState = ConsentState.PENDING
    consent_version: str | None = None
    consent_at: datetime | None = None
    connection: Connection | None = None
    grace_task: asyncio.Task[None] | None = None
    media: MediaCounters = field(default_factory=MediaCounters)

    @property
    def analysis_allowed(self) -> bool:
        return self.consent is ConsentState.GRANTED and self.presence in (Presence.ADMITTED, Presence.RECONNECTING)

    def public_view(self) -> dict[str, Any]:
        return {
            "participant_id": self.id,
            "name": self.name,
            "role": self.role.value,
            "state": self.presence.value,
            "audio": self.audio,
            "video": self.video,
            "net": self.net,
            "epoch": self.epoch,
        }

    def consent_view(self) -> dict[str, Any]:
        return {
            "participant_id": self.id,
            "name": self.name,
            "role": self.role.value,
            "state": self.presence.value,
            "consent": self.consent.value,
            "version": self.consent_version,
            "at": self.consent_at.isoformat() if self.consent_at else None,
        }


class Session:
    def __init__(
        self,
        session_id: str,
        counselor_digest: bytes,
        invite_digest: bytes,
        invite_expires_at: float,
        settings: Settings,
        title: str = "Counseling session",
    ) -> None:
        self.id = session_id
        self.title = title
        self.counselor_digest = counselor_digest
        self.invite_digest = invite_digest
        # Kept in memory only (never stored), so the counselor's room can show the link to share.
        self.invite_path = ""
        self.invite_expires_at = invite_expires_at
        self.created_at = now_utc()
        self._created_monotonic = time.monotonic()
        self.ended_at: datetime | None = None
        self.participants: dict[str, Participant] = {}
        self.consent_log: list[ConsentDecision] = []
        self.settings = settings

    def clock(self) -> float:
        """Seconds since the session started: the time base captions and cues are placed on."""
        return time.monotonic() - self._created_monotonic

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def new_participant(self, role: Role, name: str) -> Participant:
        while True:
            pid = f"p-{secrets.token_hex(4)}"
            if pid not in self.participants:
                break
        presence = Presence.ADMITTED if role is Role.COUNSELOR else Presence.WAITING
        participant = Participant(pid, role, name, secrets.token_urlsafe(24), presence)
        self.participants[pid] = participant
        return participant

    def counselor(self) -> Participant | None:
        return next((p for p in self.participants.values() if p.role is Role.COUNSELOR), None)

    def find_by_resume_key(self, key: str) -> Participant | None:
        wanted = digest(key)
        for p in self.participants.values():
            if hmac.compare_digest(digest(p.resume_key), wanted):
                return p
        return None

    def present(self) -> list[Participant]:
        """Participants in the call (admitted, or admitted and briefly disconnected)."""
        return [p for p in self.participants.values() if p.presence in (Presence.ADMITTED, Presence.RECONNECTING)]

    def waiting(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.presence is Presence.WAITING]

    def clients_taking_a_place(self) -> int:
        return sum(
            1
            for p in self.participants.values()
            if p.role is Role.CLIENT and p.presence in (Presence.WAITING, Presence.ADMITTED, Presence.RECONNECTING)
        )

    def connections(self, participants: Iterable[Participant]) -> list[Connection]:
        return [p.connection for p in participants if p.connection is not None and not p.connection.closed]

    # --- messages -----------------------------------------------------------------------------
    def roster_message(self) -> dict[str, Any]:
        return {"type": "roster", "participants": [p.public_view() for p in self.present()]}

    def send_roster(self) -> None:
        message = self.roster_message()
        for conn in self.connections(p for p in self.present() if p.presence is Presence.ADMITTED):
            conn.send(message)

    def broadcast_admitted(self, message: dict[str, Any]) -> None:
        for conn in self.connections(p for p in self.present() if p.presence is Presence.ADMITTED):
            conn.send(message)

    def send_to_counselors(self, event: dict[str, Any]) -> None:
        """The private channel: only sockets whose server-decided role is counselor receive it."""
        message = {"type": "counselor", "event": event}
        for p in self.participants.values():
            if p.role is Role.COUNSELOR and p.connection is not None and p.connection.role is Role.COUNSELOR:
                p.connection.send(message)

    def send_lobby(self) -> None:
        self.send_to_counselors(
            {
                "kind": "lobby",
                "waiting": [
                    {"participant_id": p.id, "name": p.name, "since": p.joined_at.isoformat()}
                    for p in self.waiting()
                ],
            }
        )

    def send_consent_state(self) -> None:
        self.send_to_counselors(
            {
                "kind": "consent_state",
                "participants": [
                    p.consent_view()
                    for p in self.participants.values()
                    if p.presence not in (Presence.DECLINED,)
                ],
            }
        )

    def record_consent(self, participant: Participant, granted: bool, version: str) -> ConsentDecision:
        if granted:
            state = ConsentState.GRANTED
        elif participant.consent is ConsentState.GRANTED:
            state = ConsentState.WITHDRAWN
        else:
            state = ConsentState.DECLINED
        decision = ConsentDecision(participant.id, participant.role, state, version, now_utc())
        participant.consent = state
        participant.consent_version = version
        participant.consent_at = decision.at
        self.consent_log.append(decision)
        log.info("session %s participant %s consent %s (text %s)", self.id, participant.id, state.value, version)
        return decision


class SessionRegistry:
    """All live sessions, looked up by the digest of a token. Also owns the background tasks that
    belong to sessions (reconnect grace timers), so shutdown can cancel them."""

    def __init__(self, settings: Settings, wall_clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.wall_clock = wall_clock
        self.sessions: dict[str, Session] = {}
        self._by_counselor: dict[bytes, Session] = {}
        self._by_invite: dict[bytes, Session] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def create(self, title: str = "Counseling session") -> tuple[Session, str, str]:
        counselor_token = secrets.token_urlsafe(32)
        invite_token = secrets.token_urlsafe(24)
        session = Session(
            secrets.token_hex(8),
            digest(counselor_token),
            digest(invite_token),
            self.wall_clock() + self.settings.invite_ttl_s,
            self.settings,
            title,
        )
        self.sessions[session.id] = session
        self._by_counselor[session.counselor_digest] = session
        self._by_invite[session.invite_digest] = session
        session.invite_path = f"/join/{invite_token}"
        log.info("session %s created", session.id)
        return session, counselor_token, invite_token

    def resolve(self, token: str) -> tuple[Session, Role]:
        key = digest(token)
        session = self._by_counselor.get(key)
        role = Role.COUNSELOR
        if session is None:
            session = self._by_invite.get(key)
            role = Role.CLIENT
        if session is None:
            raise BAD_TOKEN
        if session.ended:
            raise TokenProblem(
                "ended",
                "This session has ended",
                "The counselor has ended this session, so the link no longer works. "
                "If you need to talk again, your counselor can send you a new link.",
                410,
            )
        if role is Role.CLIENT and self.wall_clock() > session.invite_expires_at:
            raise TokenProblem(
                "expired",
                "This invite link has expired",
                "Invite links work for a limited time. Please ask your counselor for a new one.",
                410,
            )
        return session, role

    def resolve_any(self, token: str) -> tuple[Session, Role]:
        """Like ``resolve`` but also for ended sessions: a counselor can still read the record."""
        key = digest(token)
        if (session := self._by_counselor.get(key)) is not None:
            return session, Role.COUNSELOR
        if (session := self._by_invite.get(key)) is not None:
            return session, Role.CLIENT
        raise BAD_TOKEN

    def full_problem(self) -> TokenProblem:
        return TokenProblem(
            "full",
            "This session is full",
            f"A session has room for {self.settings.max_participants} people, and all places are taken. "
            "Please let your counselor know.",
            409,
        )

    def end(self, session: Session) -> None:
        session.ended_at = now_utc()
        for p in session.participants.values():
            if p.grace_task is not None:
                p.grace_task.cancel()
                p.grace_task = None
        log.info("session %s ended", session.id)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
