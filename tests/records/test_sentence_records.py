"""The record is made of sentences: rows that grow as a sentence is spoken, words with their times, cues
attached to the sentence they are about, and old records (one row per 2-4-word caption fragment) joined
into sentences when the server starts, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from analysis.events import TimedWord
from server.app import create_app
from server.db.database import DATABASE
from server.db.tables import SessionRow
from server.records.context import RECORDS
from server.records.repository import Fragment
from server.records.upgrade import sentence_groups
from server.settings import Settings
from tests.conftest import AppHarness

# What the first version stored for a short exchange: caption fragments, cut wherever 1.5 s of stable
# words happened to end.
FRAGMENTS: list[tuple[str, float, float, str]] = [
    ("p-k1", 1.0, 2.1, "I went to see all the arts and"),
    ("p-k1", 2.2, 2.9, "crafts"),
    ("p-k1", 3.0, 4.4, "represented in the exhibition."),
    ("p-c1", 5.2, 6.0, "What did you"),
    ("p-c1", 6.1, 7.0, "like most?"),
    ("p-k1", 7.6, 8.5, "The pottery, I think,"),
    ("p-k1", 8.6, 9.4, "it felt calm"),
    ("p-k1", 11.0, 12.0, "and then I went home"),  # 1.6 s of silence before: a new sentence
]


def test_fragments_group_into_sentences_by_punctuation_pause_and_speaker() -> None:
    fragments = [Fragment(i, pid, a, b, text, None) for i, (pid, a, b, text) in enumerate(FRAGMENTS)]
    groups = sentence_groups(fragments)
    assert [[f.line_id for f in g] for g in groups] == [[0, 1, 2], [3, 4], [5, 6], [7]]


async def test_old_fragmented_record_is_joined_into_sentences_when_the_server_starts(
    backend_settings: Settings,
) -> None:
    start = datetime.now(UTC)
    app = create_app(backend_settings)
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        created = await harness.new_session()
        sid = created["session_id"]
        store = app[RECORDS]
        await store.add_participant(sid, "p-c1", "counselor", "Dr. Ada Marsh", start)
        await store.add_participant(sid, "p-k1", "client", "Robin Quill", start)
        ids = [
            await store.add_transcript_line(sid, pid, "counselor" if pid == "p-c1" else "client", a, b, text,
                                            start + timedelta(seconds=b))
            for pid, a, b, text in FRAGMENTS
        ]
        # The counselor had corrected one fragment; a cue was kept (old cues have no sentence, only a time).
        resp = await client.patch(f"/api/records/sessions/{sid}/lines/{ids[1]}", json={"text": "crafts fair"},
                                  headers=harness.csrf)
        assert resp.status == 200, await resp.text()
        await store.add_cue(sid, "p-k1", 9.4, "words.sentiment_shift", "notice", "it felt calm", {})
        async with app[DATABASE].sessionmaker.begin() as db:  # as the first version left it
            await db.execute(update(SessionRow).where(SessionRow.id == sid).values(transcript_version=1))

    app = create_app(backend_settings)  # the upgraded server starts on the same database
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        resp = await client.get(f"/api/records/sessions/{sid}")
        assert resp.status == 200, await resp.text()
        record = await resp.json()
        lines = record["lines"]
        assert [line["text"] for line in lines] == [
            "I went to see all the arts and crafts fair represented in the exhibition.",
            "What did you like most?",
            "The pottery, I think, it felt calm",
            "and then I went home",
        ]
        assert lines[0]["original_text"] == "I went to see all the arts and crafts represented in the exhibition."
        assert (lines[0]["start_s"], lines[0]["end_s"]) == (1.0, 4.4)
        [cue] = record["cues"]
        assert cue["line_id"] == lines[2]["line_id"]  # still points at the sentence it was raised on
        async with app[DATABASE].sessionmaker() as db:
            assert await db.scalar(select(SessionRow.transcript_version).where(SessionRow.id == sid)) == 2

    app = create_app(backend_settings)  # and only once: a joined record is not joined again
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        again = await (await client.get(f"/api/records/sessions/{sid}")).json()
        assert [line["text"] for line in again["lines"]] == [line["text"] for line in lines]


async def test_a_sentence_grows_in_its_row_and_keeps_its_words_encrypted(sqlite_records: AppHarness) -> None:
    harness = sqlite_records
    created = await harness.new_session()
    sid = created["session_id"]
    store = harness.app[RECORDS]
    start = datetime.now(UTC)
    await store.add_participant(sid, "p-k1", "client", "Robin Quill", start)
    first = (TimedWord("I", 1.0, 1.2), TimedWord("just", 1.2, 1.5), TimedWord("want", 1.5, 1.8))
    line_id = await store.add_transcript_line(sid, "p-k1", "client", 1.0, 1.8, "I just want", start, first)
    grown = (*first, TimedWord("to", 1.8, 1.9), TimedWord("rest.", 1.9, 2.6))
    assert await store.update_transcript_line(sid, line_id, 1.0, 2.6, "I just want to rest.", grown)
    await store.add_cue(sid, "p-k1", 2.6, "words.sentiment_shift", "notice", "I just want to rest.", {}, line_id)
    record = await (await harness.client.get(f"/api/records/sessions/{sid}")).json()
    [line] = record["lines"]
    assert (line["line_id"], line["text"], line["end_s"]) == (line_id, "I just want to rest.", 2.6)
    assert record["cues"][0]["line_id"] == line_id
    async with harness.app[DATABASE].sessionmaker() as db:
        from server.db.tables import TranscriptLineRow

        row = await db.scalar(select(TranscriptLineRow).where(TranscriptLineRow.id == line_id))
        assert row is not None and row.words_enc is not None
        assert b"rest" not in row.words_enc and b"want" not in row.text_enc
    [stored] = await store.transcript(sid)
    assert [w.text for w in stored.words] == ["I", "just", "want", "to", "rest."]
    assert stored.words[-1] == TimedWord("rest.", 1.9, 2.6)
