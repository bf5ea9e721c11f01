"""The session state machine without sockets: every transition's presence change and the effects it asks
for, with list-backed outboxes standing in for WebSockets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from server.session.delivery import deliver
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
from server.session.model import Session, SessionFull
from server.session.participant import digest
from server.session.protocol import client as c
from server.session.protocol import server as s
from server.session.protocol.counselor import ConsentStates, Lobby
from server.session.protocol.errors import ProtocolError
from server.session.states import ConsentState, Presence, Role


@dataclass(eq=False)
class ListOutbox:
    assigned_role: Role | None = None
    captions: bool = True
    open: bool = True
    frames: list[dict[str, object]] = field(default_factory=list)
    closed_with: tuple[int, str] | None = None

    @property
    def role(self) -> Role | None:
        return self.assigned_role

    @property
    def captions_enabled(self) -> bool:
        return self.captions

    @property
    def is_open(self) -> bool:
        return self.open

    def send(self, frame: s.Frame) -> None:
        if frame.private and self.assigned_role is not Role.COUNSELOR:
            raise AssertionError("a private frame reached a non-counselor outbox")
        self.frames.append(json.loads(frame.text))

    def close_soon(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)
        self.open = False

    def types(self) -> list[object]:
        return [f["type"] for f in self.frames]


def new_session(max_participants: int = 6) -> Session:
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ticks = iter(range(10_000))
    return Session("s1", digest("counselor-token"), digest("invite-token"), 1e12, max_participants,
                   wall_clock=lambda: start + timedelta(seconds=next(ticks)))


def kinds(effects: list[Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def counselor_in(session: Session) -> tuple[str, ListOutbox]:
    outbox = ListOutbox(Role.COUNSELOR)
    joined = session.join(Role.COUNSELOR, "Dr. Rivera", None, outbox)
    deliver(session, joined.effects)
    return joined.participant.id, outbox


def client_waiting(session: Session, name: str = "Sam") -> tuple[str, ListOutbox, str]:
    outbox = ListOutbox(Role.CLIENT)
    joined = session.join(Role.CLIENT, name, None, outbox)
    deliver(session, joined.effects)
    return joined.participant.id, outbox, joined.resume_key


def client_admitted(session: Session, name: str = "Sam") -> tuple[str, ListOutbox, str]:
    """A session with its counselor in and one admitted client."""
    counselor_in(session)
    pid, outbox, key = client_waiting(session, name)
    deliver(session, session.admit(pid))
    return pid, outbox, key


def test_a_new_client_waits_and_the_counselor_hears_of_it() -> None:
    session = new_session()
    _, counselor = counselor_in(session)
    outbox = ListOutbox(Role.CLIENT)
    joined = session.join(Role.CLIENT, "Sam", None, outbox)
    assert not joined.rejoined and joined.participant.presence is Presence.WAITING
    assert kinds(joined.effects) == ["ParticipantJoined", "ToParticipant", "ToCounselors", "ToCounselors"]
    deliver(session, joined.effects)
    assert outbox.types() == ["waiting"]
    lobby = [f for f in counselor.frames if f["type"] == "counselor" and f["event"]["kind"] == "lobby"][-1]  # type: ignore[index]
    assert [w["name"] for w in lobby["event"]["waiting"]] == ["Sam"]  # type: ignore[index]


def test_admit_moves_the_client_into_the_call_and_updates_everyone() -> None:
    session = new_session()
    counselor_in(session)
    pid, client, _ = client_waiting(session)
    effects = session.admit(pid)
    assert session.participants[pid].presence is Presence.ADMITTED
    assert isinstance(effects[0], ToParticipant) and isinstance(effects[0].message, s.Admitted)
    roster = next(e for e in effects if isinstance(e, ToAdmitted))
    assert isinstance(roster.message, s.Roster)
    assert {p.participant_id for p in roster.message.participants} == set(session.participants)
    deliver(session, effects)
    assert client.types()[-2:] == ["admitted", "roster"]
    with pytest.raises(ProtocolError) as err:
        session.admit(pid)  # not in the waiting room any more
    assert err.value.code == "unknown_peer"


def test_decline_closes_the_socket_and_records_the_departure() -> None:
    session = new_session()
    counselor_in(session)
    pid, client, _ = client_waiting(session)
    effects = session.decline(pid)
    assert session.participants[pid].presence is Presence.DECLINED
    assert session.participants[pid].connection is None
    assert [type(e) for e in effects[:4]] == [StopGrace, ToSocket, CloseSocket, ParticipantLeft]
    assert isinstance(effects[-1], ToCounselors) and isinstance(effects[-1].event, Lobby)
    rest = deliver(session, effects)
    assert client.types() == ["waiting", "declined"]
    assert kinds(rest) == ["StopGrace", "CloseSocket", "ParticipantLeft"]


def test_a_dropped_socket_holds_the_place_and_a_resume_key_rejoins_it() -> None:
    session = new_session()
    pid, client, key = client_admitted(session)
    dropped = session.drop(session.participants[pid], client)
    assert session.participants[pid].presence is Presence.RECONNECTING
    assert isinstance(dropped[0], StartGrace) and dropped[0].participant_id == pid

    again = ListOutbox(Role.CLIENT)
    joined = session.join(Role.CLIENT, "Sam", key, again)
    assert joined.rejoined and joined.participant.id == pid
    assert joined.participant.presence is Presence.ADMITTED and joined.participant.epoch == 2
    assert isinstance(joined.effects[0], StopGrace)
    # The key is replaced at every join: once the page confirms the new one, the old one is spent.
    assert joined.resume_key != key
    session.resume_key_saved(joined.participant)
    assert session.find_by_resume_key(key) is None
    assert session.find_by_resume_key(joined.resume_key) is joined.participant


def test_a_lost_welcome_does_not_lock_the_participant_out_and_a_confirmed_key_retires_the_old() -> None:
    session = new_session()
    pid, client, first_key = client_admitted(session)
    session.drop(session.participants[pid], client)
    lost = session.join(Role.CLIENT, "Sam", first_key, ListOutbox(Role.CLIENT), continuing=True)
    # That welcome (with lost.resume_key) never reached the page: it tries its old key again.
    session.drop(lost.participant, lost.participant.connection)  # type: ignore[arg-type]
    again = session.join(Role.CLIENT, "Sam", first_key, ListOutbox(Role.CLIENT), continuing=True)
    assert again.rejoined and again.participant.id == pid
    # The page confirms the key it got this time: from now on only that key opens the place.
    session.resume_key_saved(again.participant)
    assert session.find_by_resume_key(first_key) is None
    assert session.find_by_resume_key(lost.resume_key) is None
    assert session.find_by_resume_key(again.resume_key) is again.participant


def test_joining_again_from_another_window_replaces_the_old_socket() -> None:
    session = new_session()
    pid, first = counselor_in(session)
    second = ListOutbox(Role.COUNSELOR)
    joined = session.join(Role.COUNSELOR, "Dr. Rivera", None, second)  # the counselor link is the identity
    assert joined.participant.id == pid and joined.participant.connection is second
    deliver(session, joined.effects)
    assert first.frames[-1]["type"] == "error" and first.frames[-1]["code"] == "replaced"
    assert any(isinstance(e, CloseSocket) and e.outbox is first for e in joined.effects)
    # The old socket closing later is not the participant leaving.
    assert session.drop(joined.participant, first) == []
    assert joined.participant.presence is Presence.ADMITTED


def test_grace_expiry_after_no_return_is_a_departure_but_not_after_a_rejoin() -> None:
    session = new_session()
    pid, client, key = client_admitted(session)
    session.drop(session.participants[pid], client)
    session.join(Role.CLIENT, "Sam", key, ListOutbox(Role.CLIENT))
    assert session.expire(pid) == []  # came back in time
    other, other_box, _ = client_waiting(session, "Alex")
    deliver(session, session.admit(other))
    session.drop(session.participants[other], other_box)
    effects = session.expire(other)
    assert session.participants[other].presence is Presence.LEFT
    assert isinstance(effects[0], ParticipantLeft) and effects[0].reason == "did not come back"


def test_a_full_session_refuses_another_client() -> None:
    session = new_session(max_participants=2)
    counselor_in(session)
    client_waiting(session)
    with pytest.raises(SessionFull):
        session.join(Role.CLIENT, "Third", None, ListOutbox(Role.CLIENT))


def test_the_counselor_stepping_out_keeps_the_session_open() -> None:
    session = new_session()
    pid, outbox = counselor_in(session)
    effects = session.leave(session.participants[pid], outbox)
    assert session.participants[pid].presence is Presence.RECONNECTING and not session.ended
    assert any(isinstance(e, UplinkNoLongerWanted) and not e.discard for e in effects)
    assert isinstance(effects[-1], CloseSocket)


def test_a_client_leaving_is_gone_for_good() -> None:
    session = new_session()
    pid, client, key = client_admitted(session)
    effects = session.leave(session.participants[pid], client)
    assert session.participants[pid].presence is Presence.LEFT
    assert kinds(effects)[0] == "ParticipantLeft"
    assert session.join(Role.CLIENT, "Sam", key, ListOutbox(Role.CLIENT)).participant.id != pid


def test_consent_withdrawal_stops_analysis_at_once_and_is_recorded() -> None:
    session = new_session()
    counselor_in(session)
    pid, client, _ = client_waiting(session)
    participant = session.participants[pid]
    deliver(session, session.admit(pid))
    session.record_consent(participant, True, "v1")
    assert participant.analysis_allowed
    effects = session.record_consent(participant, False, "v1")
    assert participant.consent is ConsentState.WITHDRAWN and not participant.analysis_allowed
    assert isinstance(effects[0], UplinkNoLongerWanted) and effects[0].discard
    recorded = next(e for e in effects if isinstance(e, ConsentRecorded))
    assert recorded.decision.state is ConsentState.WITHDRAWN and recorded.decision.version == "v1"
    states = next(e for e in effects if isinstance(e, ToCounselors))
    assert isinstance(states.event, ConsentStates)
    assert [p.consent for p in states.event.participants if p.participant_id == pid] == [ConsentState.WITHDRAWN]
    deliver(session, effects)
    assert client.frames[-1] == {"type": "consent_recorded", "state": "withdrawn", "version": "v1"}


def test_ending_tells_everyone_and_closes_every_socket() -> None:
    session = new_session()
    _, counselor = counselor_in(session)
    pid, client, _ = client_waiting(session)
    deliver(session, session.admit(pid))
    effects = session.end("ended_by_counselor")
    assert session.ended and all(p.presence is Presence.LEFT for p in session.participants.values())
    rest = deliver(session, effects)
    for outbox in (counselor, client):
        assert outbox.frames[-1] == {"type": "session_ended", "reason": "ended_by_counselor"}
    assert sum(isinstance(e, CloseSocket) for e in rest) == 2
    over = next(i for i, e in enumerate(rest) if isinstance(e, SessionOver))
    assert all(isinstance(e, ParticipantLeft) for e in rest[over + 1 :]) and len(rest[over + 1 :]) == 2
    assert session.end("again") == []


def test_signals_go_only_to_admitted_peers() -> None:
    session = new_session()
    counselor_pid, _ = counselor_in(session)
    pid, client, _ = client_waiting(session)
    counselor = session.participants[counselor_pid]
    message = c.Signal(type="signal", to=pid)
    with pytest.raises(ProtocolError):
        session.relay_signal(counselor, message)  # still waiting
    deliver(session, session.admit(pid))
    deliver(session, session.relay_signal(counselor, message))
    assert client.frames[-1]["type"] == "signal" and client.frames[-1]["from"] == counselor_pid


def test_counselor_events_reach_only_counselor_outboxes() -> None:
    session = new_session()
    _, counselor = counselor_in(session)
    pid, client, _ = client_waiting(session)
    deliver(session, session.admit(pid))
    # A socket whose participant is a client never gets a counselor frame, even if the routing were asked to.
    deliver(session, [session.lobby(), session.consent_states()])
    assert all(f["type"] != "counselor" for f in client.frames)
    assert [f["event"]["kind"] for f in counselor.frames[-2:]] == ["lobby", "consent_state"]  # type: ignore[index]


def test_participant_joined_is_only_for_new_participants() -> None:
    session = new_session()
    joined = session.join(Role.COUNSELOR, "Dr. Rivera", None, ListOutbox(Role.COUNSELOR))
    assert any(isinstance(e, ParticipantJoined) for e in joined.effects)
    again = session.join(Role.COUNSELOR, "Dr. Rivera", None, ListOutbox(Role.COUNSELOR))
    assert not any(isinstance(e, ParticipantJoined) for e in again.effects)


def test_a_client_stopping_the_camera_tells_the_counselor_and_only_the_counselor() -> None:
    session = new_session()
    pid, client, _ = client_admitted(session)
    counselor = next(p.connection for p in session.participants.values() if p.role is Role.COUNSELOR)
    assert isinstance(counselor, ListOutbox)
    participant = session.participants[pid]
    deliver(session, session.set_media(participant, audio=True, video=False))
    assert participant.video is False  # what the live analysis reads to pause the video cues

    def camera_events(outbox: ListOutbox) -> list[object]:
        return [f["event"] for f in outbox.frames if f["type"] == "counselor" and f["event"]["kind"] == "camera_state"]  # type: ignore[index]

    assert camera_events(counselor) == [{"kind": "camera_state", "participant_id": pid, "camera_on": False}]
    assert camera_events(client) == [] and "counselor" not in client.types()
    # The same state again is no news; turning it on is.
    deliver(session, session.set_media(participant, audio=False, video=False))
    deliver(session, session.set_media(participant, audio=False, video=True))
    assert [e["camera_on"] for e in camera_events(counselor)] == [False, True]  # type: ignore[index]
    # A counselor who reloads the room hears which clients have their camera off right now.
    deliver(session, session.set_media(participant, audio=False, video=False))
    again = ListOutbox(Role.COUNSELOR)
    deliver(session, session.join(Role.COUNSELOR, "Dr. Rivera", None, again).effects)
    assert camera_events(again) == [{"kind": "camera_state", "participant_id": pid, "camera_on": False}]
