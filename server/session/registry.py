"""All live sessions of this server, looked up by the digest of a token.

Only digests of the counselor and invite tokens are kept, so the registry can look a token up but not
hand one out. Resolving a token says which role it opens, or why it opens nothing (``TokenProblem``).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

from aiohttp import web

from server.session.model import Session
from server.session.participant import digest
from server.session.states import Role

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


class SessionRegistry:
    def __init__(
        self, invite_ttl_s: float, max_participants: int, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self.invite_ttl_s = invite_ttl_s
        self.max_participants = max_participants
        self.wall_clock = wall_clock
        self.sessions: dict[str, Session] = {}
        self._by_counselor: dict[bytes, Session] = {}
        self._by_invite: dict[bytes, Session] = {}

    def create(self, title: str = "Counseling session") -> tuple[Session, str, str]:
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
        self.add(session)
        log.info("session %s created", session.id)
        return session, counselor_token, invite_token

    def add(self, session: Session) -> None:
        self.sessions[session.id] = session
        self._by_counselor[session.counselor_digest] = session
        self._by_invite[session.invite_digest] = session

    def resolve(self, token: str) -> tuple[Session, Role]:
        """The live session a token opens and the role it opens it as; ``TokenProblem`` otherwise."""
        key = digest(token)
        session = self._by_counselor.get(key)
        role = Role.COUNSELOR
        if session is None:
            session = self._by_invite.get(key)
            role = Role.CLIENT
        if session is None:
            raise BAD_TOKEN
        if session.ended:
            raise ended_problem(role)
        if role is Role.CLIENT and self.wall_clock() > session.invite_expires_at:
            raise EXPIRED
        return session, role

    def full_problem(self) -> TokenProblem:
        return full_problem(self.max_participants)

    def live(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.ended]


SESSIONS = web.AppKey("sessions", SessionRegistry)
