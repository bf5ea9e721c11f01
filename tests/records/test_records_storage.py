"""Session records through the HTTP API, on SQLite and on a real PostgreSQL server: list, review page
data, corrections that keep the original, private notes, search, hard delete, retention, audit, and
encryption at rest."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from server.accounts.repository import ACCOUNTS
from server.app import create_app
from server.db.audit import AUDIT
from server.db.database import DATABASE
from server.db.tables import AuditRow, CueRow, NoteRow, ParticipantRow, SessionRow, TranscriptLineRow
from server.records.context import RECORDS
from server.records.retention import purge_expired
from server.settings import SETTINGS, Settings
from tests.conftest import AppHarness
from tests.records.conftest import LINES, seed_session

SECRET_WORDS = ["apartment", "hopeless", "Robin Quill", "Dr. Ada Marsh", "walks with the dog"]


async def get_json(harness: AppHarness, path: str, status: int = 200) -> dict:  # type: ignore[type-arg]
    resp = await harness.client.get(path)
    assert resp.status == status, await resp.text()
    data: dict = await resp.json()  # type: ignore[type-arg]
    return data


async def test_sessions_list_shows_date_participants_duration_and_consent(records: AppHarness) -> None:
    seeded = await seed_session(records)
    listing = await get_json(records, "/api/records/sessions")
    [item] = listing["sessions"]
    assert item["session_id"] == seeded.session_id
    assert datetime.fromisoformat(item["created_at"]).tzinfo is not None
    assert {(p["name"], p["role"], p["consent"]) for p in item["participants"]} == {
        ("Dr. Ada Marsh", "counselor", "granted"), ("Robin Quill", "client", "granted"),
    }
    assert item["line_count"] == len(LINES)
    assert item["duration_s"] == LINES[-1][2]  # never ended cleanly: the last stored line bounds it


async def test_session_record_has_transcript_tone_cues_and_talk_time(records: AppHarness) -> None:
    seeded = await seed_session(records)
    record = await get_json(records, f"/api/records/sessions/{seeded.session_id}")
    lines = record["lines"]
    assert [line["text"] for line in lines] == [text for *_, text in LINES]
    assert [line["speaker"] for line in lines][:2] == ["Dr. Ada Marsh", "Robin Quill"]
    assert all(line["end_s"] > line["start_s"] for line in lines)
    by_text = {line["text"]: line for line in lines}
    assert by_text[LINES[3][3]]["sentiment"] < -0.3  # "... I feel hopeless."
    assert by_text[LINES[4][3]]["sentiment"] > 0.3  # "... they make me happy."
    [cue] = record["cues"]
    assert cue["severity"] == "urgent" and cue["evidence"]["words"] == ["hopeless"]
    assert cue["line_id"] == by_text[LINES[3][3]]["line_id"]  # the marker jumps to the line it was raised on
    talk = {t["name"]: t for t in record["talk_time"]}
    assert talk["Robin Quill"]["seconds"] == 5.0 + 6.5 + 4.5
    assert talk["Robin Quill"]["share"] > talk["Dr. Ada Marsh"]["share"]
    assert abs(sum(t["share"] for t in record["talk_time"]) - 1.0) < 1e-3
    assert {e["state"] for e in record["consent_events"]} == {"granted"}


async def test_correction_keeps_the_original_and_notes_are_private(records: AppHarness) -> None:
    seeded = await seed_session(records)
    record = await get_json(records, f"/api/records/sessions/{seeded.session_id}")
    line = record["lines"][1]
    url = f"/api/records/sessions/{seeded.session_id}/lines/{line['line_id']}"
    resp = await records.client.patch(url, json={"text": "Honestly not great. I wake at four."}, headers=records.csrf)
    assert resp.status == 200, await resp.text()
    resp = await records.client.post(
        f"/api/records/sessions/{seeded.session_id}/notes", json={"text": "Ask about the sister next time."},
        headers=records.csrf,
    )
    assert resp.status == 201
    record = await get_json(records, f"/api/records/sessions/{seeded.session_id}")
    corrected = record["lines"][1]
    assert corrected["text"] == "Honestly not great. I wake at four."
    assert corrected["original_text"] == LINES[1][3] and corrected["corrected"] is True
    assert record["lines"][0]["corrected"] is False and record["lines"][0]["original_text"] is None
    assert [n["text"] for n in record["notes"]] == ["Ask about the sister next time."]
    # The JSON export is the whole record: lines, cues and the counselor's own notes.
    exported = await (await records.client.get(f"/api/records/sessions/{seeded.session_id}/export/json")).json()
    assert exported["lines"][1]["original_text"] == LINES[1][3]
    assert [n["text"] for n in exported["notes"]] == ["Ask about the sister next time."]

    entries = (await get_json(records, "/api/audit"))["entries"]
    actions = [(e["action"], e["session_id"], e["detail"]) for e in entries]
    assert ("edit", seeded.session_id, f"line {line['line_id']}") in actions
    assert ("note", seeded.session_id, "note 1") in actions or any(a[0] == "note" for a in actions)
    assert ("export", seeded.session_id, "json") in actions
    assert sum(1 for a in actions if a[:2] == ("view", seeded.session_id)) == 2
    assert all(e["account_id"] == 1 for e in entries if e["action"] != "login_failed")


async def test_search_across_sessions_finds_recognised_and_corrected_text(records: AppHarness) -> None:
    first = await seed_session(records)
    second = await seed_session(records, client_name="Jules Park", with_cue=False)
    record = await get_json(records, f"/api/records/sessions/{second.session_id}")
    line_id = record["lines"][1]["line_id"]
    await records.client.patch(
        f"/api/records/sessions/{second.session_id}/lines/{line_id}", json={"text": "We talked about the garden."},
        headers=records.csrf,
    )
    hits = await get_json(records, "/api/records/sessions?q=APARTMENT")
    # The second session's "apartment" line was corrected away, but the original still matches: the
    # recognised text is kept and searchable.
    assert {s["session_id"] for s in hits["sessions"]} == {first.session_id, second.session_id}
    assert all("apartment" in m["text"].lower() or "garden" in m["text"].lower()
               for s in hits["sessions"] for m in s["matches"])
    garden = await get_json(records, "/api/records/sessions?q=garden")
    assert [s["session_id"] for s in garden["sessions"]] == [second.session_id]
    by_name = await get_json(records, "/api/records/sessions?q=jules")
    assert [s["session_id"] for s in by_name["sessions"]] == [second.session_id]
    assert (await get_json(records, "/api/records/sessions?q=zebra"))["sessions"] == []


async def test_hard_delete_removes_every_row_and_is_audited(records: AppHarness) -> None:
    gone = await seed_session(records)
    kept = await seed_session(records)
    await records.client.post(
        f"/api/records/sessions/{gone.session_id}/notes", json={"text": "note"}, headers=records.csrf
    )
    resp = await records.client.delete(f"/api/records/sessions/{gone.session_id}", headers=records.csrf)
    assert resp.status == 204
    await get_json(records, f"/api/records/sessions/{gone.session_id}", status=404)
    store = records.app[DATABASE]
    async with store.sessionmaker() as db:
        for model in (SessionRow, ParticipantRow, TranscriptLineRow, CueRow, NoteRow):
            column = model.id if model is SessionRow else model.session_id  # type: ignore[attr-defined]
            count = await db.scalar(select(func.count()).select_from(model).where(column == gone.session_id))
            assert count == 0, model.__tablename__
        assert await db.scalar(
            select(func.count()).select_from(TranscriptLineRow).where(TranscriptLineRow.session_id == kept.session_id)
        ) == len(LINES)
        audit = list(await db.scalars(select(AuditRow).where(AuditRow.session_id == gone.session_id)))
    assert [a.action for a in audit if a.action == "delete"] == ["delete"]


async def test_retention_deletes_old_sessions_only(records: AppHarness) -> None:
    old = await seed_session(records)
    recent = await seed_session(records)
    app = records.app
    async with app[DATABASE].sessionmaker.begin() as db:
        await db.execute(
            update(SessionRow).where(SessionRow.id == old.session_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    now = datetime.now(UTC)
    assert await purge_expired(app[RECORDS], app[AUDIT], app[ACCOUNTS], now, 0) == []  # 0 days: keep until deleted
    assert await purge_expired(app[RECORDS], app[AUDIT], app[ACCOUNTS], now, 30) == [old.session_id]
    listing = await get_json(records, "/api/records/sessions")
    assert [s["session_id"] for s in listing["sessions"]] == [recent.session_id]
    entries = await app[AUDIT].entries()
    assert any(e.action == "retention_delete" and e.session_id == old.session_id and e.account_id is None
               for e in entries)


async def test_retention_runs_by_itself_in_the_server(backend_settings: Settings) -> None:
    app = create_app(replace(backend_settings, retention_days=7, retention_check_interval_s=0.2))
    async with TestServer(app) as server, TestClient(server) as client:
        harness = AppHarness(client)
        await harness.login()
        old = await seed_session(harness)
        store = app[DATABASE]
        async with store.sessionmaker.begin() as db:
            await db.execute(
                update(SessionRow).where(SessionRow.id == old.session_id)
                .values(created_at=datetime.now(UTC) - timedelta(days=8))
            )
        for _ in range(40):
            if not (await (await client.get("/api/records/sessions")).json())["sessions"]:
                break
            await asyncio.sleep(0.1)
        assert (await (await client.get("/api/records/sessions")).json())["sessions"] == []


async def test_a_copied_database_reveals_no_transcript_names_notes_or_cue_evidence(
    records: AppHarness, backend: str
) -> None:
    seeded = await seed_session(records)
    await records.client.post(
        f"/api/records/sessions/{seeded.session_id}/notes", json={"text": "Robin mentioned the apartment"},
        headers=records.csrf,
    )
    line_id = (await get_json(records, f"/api/records/sessions/{seeded.session_id}"))["lines"][0]["line_id"]
    await records.client.patch(
        f"/api/records/sessions/{seeded.session_id}/lines/{line_id}", json={"text": "walks with the dog, hopeless"},
        headers=records.csrf,
    )
    settings = records.app[SETTINGS]
    if backend == "sqlite":
        raw = (settings.data_dir / "attune.db").read_bytes()
    else:
        url = settings.resolved_database_url.replace("postgresql+asyncpg://", "postgresql://")
        dump = []
        with psycopg.connect(url) as conn:
            tables = [r[0] for r in conn.execute(
                "select tablename from pg_tables where schemaname = 'public'").fetchall()]
            assert {"transcript_lines", "cues", "notes", "participants"} <= set(tables)
            for table in tables:
                for row in conn.execute(f'select * from "{table}"').fetchall():
                    dump.append(repr(row))
                    dump.extend(bytes(v).decode("latin-1") for v in row if isinstance(v, (bytes, memoryview)))
        raw = "\n".join(dump).encode("utf-8", "replace")
    lowered = raw.lower()
    for secret in [*SECRET_WORDS, "sister", "mentioned"]:
        assert secret.lower().encode() not in lowered, secret
    # ...while the server with the key reads it all back.
    record = await get_json(records, f"/api/records/sessions/{seeded.session_id}")
    assert record["lines"][1]["text"] == LINES[1][3]
    assert json.dumps(record["cues"]).count("hopeless") >= 1
