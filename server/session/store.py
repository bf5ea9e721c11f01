"""Live sessions in the database: what a session needs to continue on any instance (the session, token
digests, participants with their role, presence, consent and resume-key digest), stored as it changes.

One instance holds a session at a time (``owner``) under a lease it renews; another instance takes it
over when the load balancer sends it the session's socket (its instance died, or the balancer moved it),
and sessions whose lease ran out and that nobody came back to are ended by whichever instance sweeps
first. Names, the title and the invite token are encrypted like the rest of the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update

from server.db.database import Database, aware
from server.db.tables import LiveParticipantRow, LiveSessionRow
from server.session.model import Session
from server.session.participant import Participant
from server.session.states import ConsentState, Presence, Role


@dataclass(frozen=True, slots=True)
class StoredToken:
    """Which live session a token opens, as the database knows it (no session object is built)."""

    session_id: str
    role: Role
    ended: bool
    invite_expires_at: float
    clients_taking_a_place: int
    max_participants: int

    @property
    def has_room_for_a_client(self) -> bool:
        return self.clients_taking_a_place < self.max_participants - 1


class LiveSessionStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        self._cipher = database.cipher

    async def save(self, session: Session, owner: str, lease_until: datetime) -> None:
        """Writes the session and every participant as they are now (one transaction)."""
        sid = session.id
        async with self._db.sessionmaker.begin() as db:
            row = await db.get(LiveSessionRow, sid)
            if row is None:
                row = LiveSessionRow(
                    id=sid,
                    title_enc=self._cipher.encrypt(session.title, sid),
                    counselor_digest=session.counselor_digest,
                    invite_digest=session.invite_digest,
                    invite_token_enc=self._cipher.encrypt(session.invite_path.rsplit("/", 1)[-1], sid),
                    invite_expires_at=session.invite_expires_at,
                    max_participants=session.max_participants,
                    created_at=session.created_at,
                )
                db.add(row)
            row.ended_at = session.ended_at
            row.owner = owner
            row.lease_until = lease_until
            stored = {
                p.id: p
                for p in await db.scalars(select(LiveParticipantRow).where(LiveParticipantRow.session_id == sid))
            }
            for participant in session.participants.values():
                prow = stored.get(participant.id)
                if prow is None:
                    prow = LiveParticipantRow(
                        session_id=sid,
                        id=participant.id,
                        role=participant.role.value,
                        name_enc=self._cipher.encrypt(participant.name, sid),
                        joined_at=participant.joined_at,
                    )
                    db.add(prow)
                prow.resume_digest = participant.resume_digest
                prow.previous_resume_digest = participant.unconfirmed_previous_digest
                prow.presence = participant.presence.value
                prow.epoch = participant.epoch
                prow.consent = participant.consent.value
                prow.consent_version = participant.consent_version
                prow.consent_at = participant.consent_at

    async def find_token(self, token_digest: bytes) -> StoredToken | None:
        async with self._db.sessionmaker() as db:
            row = await db.scalar(
                select(LiveSessionRow).where(
                    or_(LiveSessionRow.counselor_digest == token_digest, LiveSessionRow.invite_digest == token_digest)
                )
            )
            if row is None:
                return None
            taking = sum(
                1
                for p in await db.scalars(select(LiveParticipantRow).where(LiveParticipantRow.session_id == row.id))
                if p.role == Role.CLIENT.value
                and p.presence in (Presence.WAITING.value, Presence.ADMITTED.value, Presence.RECONNECTING.value)
            )
        role = Role.COUNSELOR if row.counselor_digest == token_digest else Role.CLIENT
        return StoredToken(row.id, role, row.ended_at is not None, row.invite_expires_at, taking, row.max_participants)

    async def replace_counselor_digest(self, session_id: str, token_digest: bytes) -> bool:
        """Makes ``token_digest`` the session's only counselor link (the old link stops opening it, on every
        instance: they check the stored digest); False when there is no such live session (never stored, or
        ended)."""
        async with self._db.sessionmaker.begin() as db:
            result = await db.execute(
                update(LiveSessionRow)
                .where(LiveSessionRow.id == session_id, LiveSessionRow.ended_at.is_(None))
                .values(counselor_digest=token_digest)
            )
            return bool(cast(CursorResult[Any], result).rowcount)

    async def counselor_digest(self, session_id: str) -> bytes | None:
        """The digest of the session's current counselor link (None: no such stored session)."""
        async with self._db.sessionmaker() as db:
            found = await db.scalar(select(LiveSessionRow.counselor_digest).where(LiveSessionRow.id == session_id))
            return bytes(found) if found is not None else None

    async def live_ids(self, session_ids: list[str]) -> set[str]:
        """Which of these sessions are live (stored and not ended), wherever they are held."""
        if not session_ids:
            return set()
        async with self._db.sessionmaker() as db:
            return set(
                await db.scalars(
                    select(LiveSessionRow.id).where(
                        LiveSessionRow.id.in_(session_ids), LiveSessionRow.ended_at.is_(None)
                    )
                )
            )

    async def claim(self, session_id: str, owner: str, lease_until: datetime) -> tuple[Session, str | None] | None:
        """Takes the session over for ``owner`` and rebuilds it; returns it with the previous owner
        (None when it had none), or None if there is no such live session. Participants who were in the
        call come back as reconnecting: nobody is connected to this instance yet."""
        async with self._db.sessionmaker.begin() as db:
            row = await db.get(LiveSessionRow, session_id, with_for_update=True)
            if row is None or row.ended_at is not None:
                return None
            previous = row.owner
            row.owner = owner
            row.lease_until = lease_until
            participants = list(
                await db.scalars(select(LiveParticipantRow).where(LiveParticipantRow.session_id == session_id))
            )
        return self._rebuild(row, participants), previous if previous != owner else None

    def _rebuild(self, row: LiveSessionRow, participants: list[LiveParticipantRow]) -> Session:
        sid = row.id
        session = Session(
            sid,
            row.counselor_digest,
            row.invite_digest,
            row.invite_expires_at,
            row.max_participants,
            self._cipher.decrypt(row.title_enc, sid),
            created_at=aware(row.created_at),
        )
        session.invite_path = f"/join/{self._cipher.decrypt(row.invite_token_enc, sid)}"
        for p in sorted(participants, key=lambda p: aware(p.joined_at)):
            presence = Presence(p.presence)
            if presence is Presence.ADMITTED:
                presence = Presence.RECONNECTING
            session.participants[p.id] = Participant(
                id=p.id,
                role=Role(p.role),
                name=self._cipher.decrypt(p.name_enc, sid),
                resume_digest=p.resume_digest,
                unconfirmed_previous_digest=p.previous_resume_digest,
                presence=presence,
                joined_at=aware(p.joined_at),
                epoch=p.epoch,
                consent=ConsentState(p.consent),
                consent_version=p.consent_version,
                consent_at=aware(p.consent_at) if p.consent_at else None,
            )
        return session

    async def renew(self, owner: str, session_ids: list[str], lease_until: datetime) -> list[str]:
        """Extends ``owner``'s lease on these sessions; returns the ids it no longer owns (taken over)."""
        if not session_ids:
            return []
        async with self._db.sessionmaker.begin() as db:
            await db.execute(
                update(LiveSessionRow)
                .where(LiveSessionRow.id.in_(session_ids), LiveSessionRow.owner == owner)
                .values(lease_until=lease_until)
            )
            owned = set(
                await db.scalars(
                    select(LiveSessionRow.id).where(LiveSessionRow.id.in_(session_ids), LiveSessionRow.owner == owner)
                )
            )
        return [sid for sid in session_ids if sid not in owned]

    async def abandoned(self, now: datetime, grace: timedelta) -> list[tuple[str, datetime | None]]:
        """Live sessions whose holder stopped renewing its lease more than ``grace`` ago, with the time
        that lease ran out (when the session was last known to be alive)."""
        async with self._db.sessionmaker() as db:
            rows = await db.execute(
                select(LiveSessionRow.id, LiveSessionRow.lease_until).where(
                    LiveSessionRow.ended_at.is_(None),
                    or_(LiveSessionRow.lease_until.is_(None), LiveSessionRow.lease_until < now - grace),
                )
            )
            return [(sid, aware(until) if until else None) for sid, until in rows]

    async def release(self, session_ids: list[str], owner: str, now: datetime) -> None:
        """This instance lets the sessions go (shutdown): another may take them over at once, and the
        grace period for nobody coming back starts now."""
        if not session_ids:
            return
        async with self._db.sessionmaker.begin() as db:
            await db.execute(
                update(LiveSessionRow)
                .where(LiveSessionRow.id.in_(session_ids), LiveSessionRow.owner == owner)
                .values(owner=None, lease_until=now)
            )

    async def delete(self, session_ids: list[str]) -> int:
        async with self._db.sessionmaker.begin() as db:
            await db.execute(delete(LiveParticipantRow).where(LiveParticipantRow.session_id.in_(session_ids)))
            result = await db.execute(delete(LiveSessionRow).where(LiveSessionRow.id.in_(session_ids)))
            return int(cast(CursorResult[Any], result).rowcount or 0)
