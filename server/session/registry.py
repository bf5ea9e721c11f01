"""The live sessions of this instance, looked up by the digest of a token, and the way to the others.

Only digests of the counselor and invite tokens are kept, so the registry can look a token up but not
hand one out. Looking a token up says which role it opens, or why it opens nothing (``TokenProblem``).
Sessions this instance does not hold are found in the database (``server.session.store``) and taken
over when their socket arrives here.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from server.session.model import Session
from server.session.participant import digest, now_utc
from server.session.states import Role
from server.session.store import LiveSessionStore

log = logging.getLogger(__name__)


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


def ended_problem(role: Role) -> TokenProblem:
    if role is Role.COUNSELOR:
        return TokenProblem(
            "ended",
            "This session has ended",
            "You ended this session, so its room is closed. Its record is under Session records, and you "
            "can start a new session from the start page.",
            410,
        )
    return TokenProblem(
        "ended",
        "This session has ended",
        "The counselor has ended this session, so the link no longer works. "
        "If you need to talk again, your counselor can send you a new link.",
        410,
    )


EXPIRED = TokenProblem(
    "expired",
    "This invite link has expired",
    "Invite links work for a limited time. Please ask your counselor for a new one.",
    410,
)


def full_problem(max_participants: int) -> TokenProblem:
    return TokenProblem(
        "full",
        "This session is full",
        f"A session has room for {max_participants} people, and all places are taken. "
        "Please let your counselor know.",
        409,
    )


@dataclass(frozen=True, slots=True)
class TokenView:
    """What a token opens, for pages: enough to pick the right page without holding the session."""

    session_id: str
    role: Role
    has_room_for_a_client: bool


@dataclass(frozen=True, slots=True)
class Opened:
    session: Session
    role: Role
    restored: bool  # taken over from the database just now (a restart, or from another instance)
    previous_owner: str | None  # the instance that held it before, if it was another one


class SessionRegistry:
    """The live sessions this instance holds, and the way to the ones it does not (``LiveSessionStore``).

    ``lease_s``: how long a holder's claim lasts without renewal (``renew`` every third of it)."""

    def __init__(
        self,
        invite_ttl_s: float,
        max_participants: int,
        store: LiveSessionStore | None = None,
        instance: str = "local",
        lease_s: float = 15.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.invite_ttl_s = invite_ttl_s
        self.max_participants = max_participants
        self.store = store
        self.instance = instance
        self.lease_s = lease_s
        self.wall_clock = wall_clock
        self.sessions: dict[str, Session] = {}
        self._by_counselor: dict[bytes, Session] = {}
        self._by_invite: dict[bytes, Session] = {}
        # One open at a time: after a failover the counselor and the clients of a session rejoin together,
        # and each open awaits the database; without it two of them could both take the session over, or
        # one could find it held here halfway and take its link for a replaced one.
        self._opening = asyncio.Lock()

    async def create(self, title: str = "Counseling session") -> tuple[Session, str, str]:
        """A new session; returns it with its counselor token and invite token (shown once)."""
        counselor_token = secrets.token_urlsafe(32)
        invite_token = secrets.token_urlsafe(24)
        session = Session(
            secrets.token_hex(8),
            digest(counselor_token),
            digest(invite_token),
            self.wall_clock() + self.invite_ttl_s,
            self.max_participants,
            title,
        )
        session.invite_path = f"/join/{invite_token}"
        # Stored before it is held: a lease renewal running meanwhile would find a held session missing from
        # the database, take it for taken over and forget it (seen under load in bench.load).
        await self.save(session)
        self.add(session)
        log.info("session %s created", session.id)
        return session, counselor_token, invite_token

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session
        self._by_counselor[session.counselor_digest] = session
        self._by_invite[session.invite_digest] = session

    def forget(self, session_id: str) -> Session | None:
        """Another instance holds the session now: drop this instance's copy."""
        session = self.sessions.pop(session_id, None)
        if session is not None:
            self._by_counselor.pop(session.counselor_digest, None)
            self._by_invite.pop(session.invite_digest, None)
        return session

    def _in_memory(self, key: bytes) -> tuple[Session, Role] | None:
        if (session := self._by_counselor.get(key)) is not None:
            return session, Role.COUNSELOR
        if (session := self._by_invite.get(key)) is not None:
            return session, Role.CLIENT
        return None

    def _check(self, role: Role, ended: bool, invite_expires_at: float) -> None:
        if ended:
            raise ended_problem(role)
        if role is Role.CLIENT and self.wall_clock() > invite_expires_at:
            raise EXPIRED

    async def _held(self, key: bytes) -> tuple[Session, Role] | None:
        """The session a token opens among those held here. The counselor link can be replaced from any
        instance (``replace_counselor_link``), so a counselor digest is checked against the stored one:
        a replaced link opens nothing, and a new one opens the session this instance holds."""
        held = self._in_memory(key)
        if self.store is None or (held is not None and held[1] is Role.CLIENT):
            return held
        if held is not None:
            current = await self.store.counselor_digest(held[0].id)
            if current is None or current == key:
                return held
            self._rekey_counselor(held[0], current)
            return None
        stored = await self.store.find_token(key)
        session = self.sessions.get(stored.session_id) if stored is not None else None
        if stored is None or session is None or stored.role is not Role.COUNSELOR:
            return None
        self._rekey_counselor(session, key)
        return session, Role.COUNSELOR

    def _rekey_counselor(self, session: Session, key: bytes) -> None:
        self._by_counselor.pop(session.counselor_digest, None)
        session.counselor_digest = key
        self._by_counselor[key] = session

    async def replace_counselor_link(self, session_id: str) -> str | None:
        """A fresh counselor link for a live session (shown once); the old one stops working on every
        instance. None when the session is not live (ended, or unknown)."""
        held = self.sessions.get(session_id)
        if held is not None and held.ended:
            return None
        token = secrets.token_urlsafe(32)
        key = digest(token)
        if self.store is not None:
            if not await self.store.replace_counselor_digest(session_id, key):
                return None
        elif held is None:
            return None
        if held is not None:
            self._rekey_counselor(held, key)
        log.info("session %s: counselor link replaced", session_id)
        return token

    async def live_session_ids(self, session_ids: list[str]) -> set[str]:
        """Which of these sessions are live now, on this instance or another."""
        here = {sid for sid in session_ids if (s := self.sessions.get(sid)) is not None and not s.ended}
        if self.store is None:
            return here
        ended_here = {sid for sid in session_ids if (s := self.sessions.get(sid)) is not None and s.ended}
        return (here | await self.store.live_ids(session_ids)) - ended_here

    async def look_up(self, token: str) -> TokenView:
        """Which session and role a token opens, from memory or the database; ``TokenProblem`` if none."""
        key = digest(token)
        held = await self._held(key)
        if held is not None:
            session, role = held
            self._check(role, session.ended, session.invite_expires_at)
            return TokenView(session.id, role, session.has_room_for_a_client())
        stored = await self.store.find_token(key) if self.store is not None else None
        if stored is None:
            raise BAD_TOKEN
        self._check(stored.role, stored.ended, stored.invite_expires_at)
        return TokenView(stored.session_id, stored.role, stored.has_room_for_a_client)

    async def open(self, token: str) -> Opened:
        """The live session a token opens, held by this instance: taken over from the database when it
        is not here yet (this instance restarted, or the balancer sent the session here)."""
        async with self._opening:
            return await self._open(digest(token))

    async def _open(self, key: bytes) -> Opened:
        held = await self._held(key)
        if held is not None:
            session, role = held
            self._check(role, session.ended, session.invite_expires_at)
            return Opened(session, role, restored=False, previous_owner=None)
        stored = await self.store.find_token(key) if self.store is not None else None
        if stored is None or self.store is None:
            raise BAD_TOKEN
        if stored.session_id in self.sessions:
            raise BAD_TOKEN  # a replaced counselor link of a session held here
        self._check(stored.role, stored.ended, stored.invite_expires_at)
        claimed = await self.store.claim(stored.session_id, self.instance, self._lease_until())
        if claimed is None:
            raise ended_problem(stored.role)
        session, previous = claimed
        self.add(session)
        log.info("session %s taken over by instance %s (held by %s)", session.id, self.instance, previous or "nobody")
        return Opened(session, stored.role, restored=True, previous_owner=previous)

    async def take_over_to_end(self, session_id: str) -> Session | None:
        """Claims an abandoned session so this instance can end its record."""
        if self.store is None or session_id in self.sessions:
            return None
        claimed = await self.store.claim(session_id, self.instance, self._lease_until())
        if claimed is None:
            return None
        session, _ = claimed
        self.add(session)
        return session

    async def save(self, session: Session) -> None:
        if self.store is not None:
            await self.store.save(session, self.instance, self._lease_until())

    async def renew(self) -> list[str]:
        """Renews this instance's lease on its live sessions; returns those another instance took."""
        if self.store is None:
            return []
        return await self.store.renew(self.instance, [s.id for s in self.live()], self._lease_until())

    async def release_all(self) -> None:
        if self.store is not None:
            await self.store.release([s.id for s in self.live()], self.instance, now_utc())

    def _lease_until(self) -> datetime:
        return now_utc() + timedelta(seconds=self.lease_s)

    def full_problem(self) -> TokenProblem:
        return full_problem(self.max_participants)

    def live(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.ended]


SESSIONS = web.AppKey("sessions", SessionRegistry)
