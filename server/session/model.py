"""A live session and its state machine: join, admit, decline, drop, expire, leave, end.

A session has one counselor and up to five clients. Every transition changes presence here and returns
the effects to carry out (``server.session.effects``): messages to send, sockets to close, grace timers,
uplinks to stop, what to store. Nothing here does I/O or reads the wall clock except through the clock
functions it is given, so the whole lifecycle is unit-tested without sockets (the same shape as the
caption policy).

Roles come from the token a browser joined with; tokens and resume keys are kept only as digests.
A resume key is replaced at every join, so a copied key stops working once its owner reconnects (and
confirms it saved the new key: until then the old one still works, as a welcome can be lost).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import WSCloseCode

from server.session.effects import (
    CloseSocket,
    ConsentRecorded,
    Effect,
    ParticipantJoined,
    ParticipantLeft,
    SessionOver,
    StartGrace,
    StopGrace,
    ToAdmitted,
    ToCounselors,
    ToParticipant,
    ToSocket,
    UplinkNoLongerWanted,
)
from server.session.outbox import Outbox
from server.session.participant import ConsentDecision, Participant, digest, now_utc
from server.session.protocol import client as c
from server.session.protocol import server as s
from server.session.protocol.counselor import CameraState, ConsentStates, Lobby, WaitingPerson
from server.session.protocol.errors import ProtocolError
from server.session.states import ConsentState, Presence, Role

log = logging.getLogger(__name__)


class SessionFull(Exception):
    """No place is left for another client."""


@dataclass(frozen=True, slots=True)
class Joined:
    participant: Participant
    resume_key: str  # the participant's new resume key (only its digest is kept)
    rejoined: bool
    effects: list[Effect]


class Session:
    def __init__(
        self,
        session_id: str,
        counselor_digest: bytes,
        invite_digest: bytes,
        invite_expires_at: float,
        max_participants: int,
        title: str = "Counseling session",
        *,
        created_at: datetime | None = None,
        wall_clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.id = session_id
        self.title = title
        self.counselor_digest = counselor_digest
        self.invite_digest = invite_digest
        # The counselor's room shows the link to share; stored encrypted (server.session.store).
        self.invite_path = ""
        self.invite_expires_at = invite_expires_at
        self.max_participants = max_participants
        self.created_at = created_at or wall_clock()
        self._wall_clock = wall_clock
        self.ended_at: datetime | None = None
        self.participants: dict[str, Participant] = {}
        self.consent_log: list[ConsentDecision] = []

    def clock(self) -> float:
        """Seconds since the session started: the time base captions and cues are placed on. From the
        wall clock, so it carries on when another instance takes the session over."""
        return (self._wall_clock() - self.created_at).total_seconds()

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    # --- queries ----------------------------------------------------------------------------------
    def counselor(self) -> Participant | None:
        return next((p for p in self.participants.values() if p.role is Role.COUNSELOR), None)

    def find_by_resume_key(self, key: str) -> Participant | None:
        wanted = digest(key)
        for p in self.participants.values():
            if hmac.compare_digest(p.resume_digest, wanted):
                return p
            previous = p.unconfirmed_previous_digest
            if previous is not None and hmac.compare_digest(previous, wanted):
                return p
        return None

    def present(self) -> list[Participant]:
        """Participants in the call (admitted, or admitted and briefly disconnected)."""
        return [p for p in self.participants.values() if p.in_call]

    def waiting(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.presence is Presence.WAITING]

    def clients_taking_a_place(self) -> int:
        return sum(
            1
            for p in self.participants.values()
            if p.role is Role.CLIENT and p.presence in (Presence.WAITING, Presence.ADMITTED, Presence.RECONNECTING)
        )

    def has_room_for_a_client(self) -> bool:
        return self.clients_taking_a_place() < self.max_participants - 1

    # --- what everyone is told ----------------------------------------------------------------
    def roster(self) -> ToAdmitted:
        return ToAdmitted(s.Roster(participants=[p.roster_entry() for p in self.present()]))

    def lobby(self) -> ToCounselors:
        return ToCounselors(
            Lobby(
                waiting=[
                    WaitingPerson(participant_id=p.id, name=p.name, since=p.joined_at.isoformat())
                    for p in self.waiting()
                ]
            )
        )

    def consent_states(self) -> ToCounselors:
        return ToCounselors(
            ConsentStates(
                participants=[
                    p.consent_view() for p in self.participants.values() if p.presence is not Presence.DECLINED
                ]
            )
        )

    # --- transitions -------------------------------------------------------------------------------
    def join(
        self, role: Role, name: str, resume_key: str | None, outbox: Outbox, *, continuing: bool = False
    ) -> Joined:
        """A socket joins as ``role``: the same participant again (resume key, or the counselor link,
        which is the counselor's identity) or a new one. Raises ``SessionFull``.

        ``continuing``: the page kept its peer connections (only its socket dropped, e.g. the server
        instance changed), so the epoch stays and the other browsers keep their call to it."""
        effects: list[Effect] = []
        participant = self._rejoining(role, resume_key)
        rejoined = participant is not None
        if participant is None:
            if role is Role.CLIENT and not self.has_room_for_a_client():
                raise SessionFull
            participant = self._new_participant(role, name)
            effects.append(ParticipantJoined(participant.id))
            log.info("session %s: %s %s joined", self.id, role.value, participant.id)
        else:
            effects.append(StopGrace(participant.id))
            old = participant.connection
            if old is not None and old is not outbox:
                effects.append(
                    ToSocket(old, s.error_reply("replaced", "You joined from another window."))
                )
                effects.append(CloseSocket(old, WSCloseCode.POLICY_VIOLATION, "replaced"))
            if participant.presence is Presence.RECONNECTING:
                participant.presence = Presence.ADMITTED
            log.info("session %s: participant %s rejoined", self.id, participant.id)
        new_key = secrets.token_urlsafe(24)
        used = digest(resume_key) if resume_key else None
        if used is not None and rejoined and used == participant.resume_digest:
            participant.unconfirmed_previous_digest = participant.resume_digest
        elif used is None or not rejoined or used != participant.unconfirmed_previous_digest:
            participant.unconfirmed_previous_digest = None
        participant.resume_digest = digest(new_key)
        if not (rejoined and continuing):
            participant.epoch += 1
        participant.connection = outbox
        if participant.presence is Presence.WAITING:
            effects.append(ToParticipant(participant.id, s.Waiting()))
        else:
            effects.append(self.roster())
        effects += [self.lobby(), self.consent_states()]
        if role is Role.COUNSELOR:
            effects += self.cameras_off()
        return Joined(participant, new_key, rejoined, effects)

    def admit(self, participant_id: str) -> list[Effect]:
        target = self._waiting_participant(participant_id, "admit")
        target.presence = Presence.ADMITTED
        log.info("session %s: participant %s admitted", self.id, target.id)
        return [ToParticipant(target.id, s.Admitted()), self.roster(), self.lobby(), self.consent_states()]

    def decline(self, participant_id: str) -> list[Effect]:
        target = self._waiting_participant(participant_id, "decline")
        target.presence = Presence.DECLINED
        log.info("session %s: participant %s declined", self.id, target.id)
        effects: list[Effect] = [StopGrace(target.id)]
        outbox, target.connection = target.connection, None
        if outbox is not None:
            effects += [ToSocket(outbox, s.Declined()), CloseSocket(outbox, WSCloseCode.OK, "declined")]
        effects += [ParticipantLeft(target.id, "declined"), self.lobby()]
        return effects

    def drop(self, participant: Participant, outbox: Outbox) -> list[Effect]:
        """The participant's socket closed without ``leave``: hold their place for the grace period, so a
        reload or a network blip rejoins the same participant, and show "reconnecting" to the others."""
        if participant.connection is not outbox:
            return []  # an old socket of someone who has joined again from elsewhere
        participant.connection = None
        if self.ended or participant.presence in (Presence.LEFT, Presence.DECLINED):
            return []
        if participant.presence is Presence.ADMITTED:
            participant.presence = Presence.RECONNECTING
        log.info("session %s participant %s disconnected; holding their place", self.id, participant.id)
        return [StartGrace(participant.id), self.roster(), self.lobby()]

    def expire(self, participant_id: str) -> list[Effect]:
        """The grace period is over: a participant who did not come back has left. When nobody is left
        in the session or still within their grace period, the session ends: nobody returned to it."""
        participant = self.participants.get(participant_id)
        if (
            participant is None
            or participant.connection is not None
            or self.ended
            or participant.presence in (Presence.LEFT, Presence.DECLINED)
        ):
            return []
        effects = self._depart(participant, "did not come back")
        pending = [p for p in self.participants.values() if p.presence in (Presence.RECONNECTING, Presence.WAITING)]
        if not self.anyone_connected and not pending:
            effects += self.end("nobody_returned")
        return effects

    def resume_key_saved(self, participant: Participant) -> None:
        """The page has the key from its last ``welcome``: the one before stops working now."""
        participant.unconfirmed_previous_digest = None

    def restored(self) -> list[Effect]:
        """This instance has just taken the session over: nobody is connected here yet, so everyone's
        place is held for the grace period, as after a dropped connection."""
        return [
            StartGrace(p.id) for p in self.participants.values() if p.presence not in (Presence.LEFT, Presence.DECLINED)
        ]

    @property
    def anyone_connected(self) -> bool:
        return any(p.connection is not None for p in self.participants.values())

    def leave(self, participant: Participant, outbox: Outbox) -> list[Effect]:
        effects: list[Effect] = []
        if participant.connection is outbox:
            participant.connection = None
            if participant.role is Role.COUNSELOR:
                # The counselor leaving without ending keeps the session open: they can come back.
                participant.presence = Presence.RECONNECTING
                effects += [UplinkNoLongerWanted(participant.id, "counselor stepped out", discard=False), self.roster()]
            else:
                effects += self._depart(participant, "left")
        effects.append(CloseSocket(outbox, WSCloseCode.OK, "left"))
        return effects

    def end(self, reason: str, at: datetime | None = None) -> list[Effect]:
        """Everyone hears of the end at once; the last lines are flushed and stored after that. ``at``:
        when it ended, if not now (a session whose instance died ends when it was last known alive)."""
        if self.ended:
            return []
        self.ended_at = at or self._wall_clock()
        log.info("session %s ended (%s)", self.id, reason)
        effects: list[Effect] = []
        departed: list[Effect] = []
        for participant in self.participants.values():
            effects.append(StopGrace(participant.id))
            outbox, participant.connection = participant.connection, None
            if outbox is not None:
                effects += [
                    ToSocket(outbox, s.SessionEnded(reason=reason)),
                    CloseSocket(outbox, WSCloseCode.OK, "session ended"),
                ]
            if participant.presence not in (Presence.LEFT, Presence.DECLINED):
                participant.presence = Presence.LEFT
                departed.append(ParticipantLeft(participant.id, "session ended"))
        # The end is recorded (and the last lines flushed) before each departure is.
        return [*effects, SessionOver(reason), *departed]

    def record_consent(self, participant: Participant, granted: bool, version: str) -> list[Effect]:
        if granted:
            state = ConsentState.GRANTED
        elif participant.consent is ConsentState.GRANTED:
            state = ConsentState.WITHDRAWN
        else:
            state = ConsentState.DECLINED
        decision = ConsentDecision(participant.id, participant.role, state, version, self._wall_clock(), self.clock())
        participant.consent = state
        participant.consent_version = version
        participant.consent_at = decision.at
        self.consent_log.append(decision)
        log.info("session %s participant %s consent %s (text %s)", self.id, participant.id, state.value, version)
        effects: list[Effect] = []
        if not granted:
            # Withdrawal is immediate: the peer is closed and queued audio is discarded unheard.
            effects.append(UplinkNoLongerWanted(participant.id, "consent withdrawn", discard=True))
        effects += [
            ToParticipant(participant.id, s.ConsentRecorded(state=state, version=version)),
            self.consent_states(),
            ConsentRecorded(decision),
        ]
        return effects

    def relay_signal(self, sender: Participant, message: c.Signal) -> list[Effect]:
        target = self.participants.get(message.to)
        if target is None or target is sender or target.presence is not Presence.ADMITTED or target.connection is None:
            raise ProtocolError("unknown_peer", "That participant is not connected.", ref="signal")
        relay = s.SignalRelay(sender=sender.id, description=message.description, candidate=message.candidate)
        return [ToParticipant(target.id, relay)]

    def set_media(self, participant: Participant, audio: bool, video: bool) -> list[Effect]:
        camera_changed = participant.video != video
        participant.audio, participant.video = audio, video
        effects: list[Effect] = [self.roster()]
        if camera_changed and participant.role is Role.CLIENT:
            # The live analysis reads participant.video and pauses the client's video cues meanwhile.
            effects.append(ToCounselors(CameraState(participant_id=participant.id, camera_on=video)))
        return effects

    def cameras_off(self) -> list[Effect]:
        """For a counselor who (re)joins: the clients in the call whose camera is off right now."""
        return [
            ToCounselors(CameraState(participant_id=p.id, camera_on=False))
            for p in self.present()
            if p.role is Role.CLIENT and not p.video
        ]

    def set_network(self, participant: Participant, report: s.NetReport) -> list[Effect]:
        changed = participant.net is None or participant.net.level != report.level
        participant.net = report
        return [self.roster()] if changed else []

    def chat(self, participant: Participant, text: str) -> list[Effect]:
        relay = s.ChatRelay(sender=participant.id, name=participant.name, text=text, at=self._wall_clock().isoformat())
        return [ToAdmitted(relay)]

    # --- internals --------------------------------------------------------------------------------
    def _new_participant(self, role: Role, name: str) -> Participant:
        while True:
            pid = f"p-{secrets.token_hex(4)}"
            if pid not in self.participants:
                break
        presence = Presence.ADMITTED if role is Role.COUNSELOR else Presence.WAITING
        participant = Participant(pid, role, name, b"", presence, joined_at=self._wall_clock())
        self.participants[pid] = participant
        return participant

    def _rejoining(self, role: Role, resume_key: str | None) -> Participant | None:
        if resume_key:
            participant = self.find_by_resume_key(resume_key)
            if (
                participant is not None
                and participant.role is role
                and participant.presence not in (Presence.LEFT, Presence.DECLINED)
            ):
                return participant
        if role is Role.COUNSELOR:
            # The counselor link is the counselor's identity: opening it again is the same person.
            return self.counselor()
        return None

    def _waiting_participant(self, participant_id: str, ref: str) -> Participant:
        target = self.participants.get(participant_id)
        if target is None or target.presence is not Presence.WAITING:
            raise ProtocolError("unknown_peer", "That person is not in the waiting room.", ref=ref)
        return target

    def _depart(self, participant: Participant, reason: str) -> list[Effect]:
        participant.presence = Presence.LEFT
        return [ParticipantLeft(participant.id, reason), self.roster(), self.lobby(), self.consent_states()]
