"""Live sessions in the database (real SQLite through the migrations): what is stored comes back as the same
session, taken over by whichever instance claims it, and abandoned sessions are found for the sweep."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.db.database import Database, open_database
from server.session.participant import digest, now_utc
from server.session.registry import SessionRegistry, TokenProblem
from server.session.states import ConsentState, Presence, Role
from server.session.store import LiveSessionStore
from tests.session.test_model import ListOutbox


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'attune.db'}", tmp_path, None)
    yield database
    await database.close()


async def test_a_stored_session_comes_back_whole_on_another_instance(database: Database) -> None:
    here = SessionRegistry(3600, 6, LiveSessionStore(database), instance="a")
    session, counselor_token, invite_token = await here.create("Family session")
    counselor = session.join(Role.COUNSELOR, "Dr. Rivera", None, ListOutbox(Role.COUNSELOR))
    client = session.join(Role.CLIENT, "Sam", None, ListOutbox(Role.CLIENT))
    session.admit(client.participant.id)
    session.record_consent(client.participant, True, "v1")
    waiting = session.join(Role.CLIENT, "Alex", None, ListOutbox(Role.CLIENT))
    await here.save(session)

    there = SessionRegistry(3600, 6, LiveSessionStore(database), instance="b")
    found = await there.look_up(invite_token)
    assert found.session_id == session.id and found.role is Role.CLIENT and found.has_room_for_a_client
    opened = await there.open(counselor_token)
    assert opened.restored and opened.previous_owner == "a" and opened.role is Role.COUNSELOR
    copy = opened.session
    assert copy.title == "Family session" and copy.invite_path == session.invite_path
    assert copy.created_at == session.created_at
    back = copy.participants[client.participant.id]
    assert back.name == "Sam" and back.presence is Presence.RECONNECTING and back.connection is None
    assert back.consent is ConsentState.GRANTED and back.consent_version == "v1" and back.epoch == 1
    assert copy.participants[waiting.participant.id].presence is Presence.WAITING
    assert copy.participants[counselor.participant.id].role is Role.COUNSELOR
    # The resume key the browser holds opens the same place; nobody is admitted or asked again.
    rejoined = copy.join(Role.CLIENT, "Sam", client.resume_key, ListOutbox(Role.CLIENT), continuing=True)
    assert rejoined.rejoined and rejoined.participant.id == client.participant.id
    assert rejoined.participant.presence is Presence.ADMITTED and rejoined.participant.epoch == 1
    # The instance that held it before learns it lost it at its next renewal.
    assert await here.renew() == [session.id]
    assert await there.renew() == []


async def test_the_counselor_and_a_client_rejoining_together_both_get_the_one_taken_over_session(
    database: Database,
) -> None:
    # After a failover everyone's browser rejoins at once; each open awaits the database. Two opens in flight
    # once took the session over twice, or refused the counselor's link as replaced (seen in the failover test).
    here = SessionRegistry(3600, 6, LiveSessionStore(database), instance="a")
    session, counselor_token, invite_token = await here.create()
    await here.save(session)
    there = SessionRegistry(3600, 6, LiveSessionStore(database), instance="b")
    opened = await asyncio.gather(there.open(invite_token), there.open(counselor_token), there.open(invite_token))
    assert [o.role for o in opened] == [Role.CLIENT, Role.COUNSELOR, Role.CLIENT]
    assert len({id(o.session) for o in opened}) == 1 and list(there.sessions) == [session.id]
    assert [o.restored for o in opened] == [True, False, False]


async def test_ended_and_unknown_tokens_are_refused_from_the_database(database: Database) -> None:
    first = SessionRegistry(3600, 6, LiveSessionStore(database), instance="a")
    session, counselor_token, invite_token = await first.create()
    session.end("ended_by_counselor")
    await first.save(session)
    later = SessionRegistry(3600, 6, LiveSessionStore(database), instance="b")
    for token in (counselor_token, invite_token):
        with pytest.raises(TokenProblem) as problem:
            await later.open(token)
        assert problem.value.code == "ended"
    with pytest.raises(TokenProblem) as problem:
        await later.look_up("not-a-token-at-all")
    assert problem.value.code == "bad_token"


async def test_sessions_whose_instance_stopped_renewing_are_found_after_the_grace(database: Database) -> None:
    store = LiveSessionStore(database)
    registry = SessionRegistry(3600, 6, store, instance="a", lease_s=1.0)
    session, _, _ = await registry.create()
    now = now_utc()
    assert await store.abandoned(now, timedelta(seconds=30)) == []
    found = await store.abandoned(now + timedelta(seconds=40), timedelta(seconds=30))
    assert [sid for sid, _ in found] == [session.id]
    assert found[0][1] is not None and found[0][1] <= now + timedelta(seconds=1.5)
    # A clean shutdown hands the session back: its grace starts then, not at the lease's end.
    await registry.release_all()
    assert [sid for sid, _ in await store.abandoned(now_utc() + timedelta(seconds=31), timedelta(seconds=30))] == [
        session.id
    ]
    assert (await store.find_token(digest("x" * 20))) is None
