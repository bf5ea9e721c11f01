"""What the review adds to the record and what the exports carry: consent history on the session clock
(in the list, the record and every text export, shaded on the PDF's chart and explained in its transcript),
private notes that can be edited and deleted (owner only, audited) and appear in the exports, human labels
in the PDF, and styled not-found pages."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from pypdf import PdfReader

from server.records.context import RECORDS
from server.records.export import _tint
from tests.conftest import AppHarness
from tests.records.conftest import SeededSession, seed_session
from tests.records.test_exports import export, render_first_page

AMBER = (217, 119, 6)  # the client's colour in the report (second participant)


async def seed_with_a_pause(harness: AppHarness) -> SeededSession:
    """Robin agrees, stops captions and cues at 00:19 and agrees again at 00:31 (seconds on the session's
    clock, which starts when the session is created)."""
    seeded = await seed_session(harness)
    listing = await (await harness.client.get("/api/records/sessions")).json()
    created = datetime.fromisoformat(
        next(s for s in listing["sessions"] if s["session_id"] == seeded.session_id)["created_at"])
    store = harness.app[RECORDS]
    await store.add_consent(seeded.session_id, seeded.client_pid, "client", "withdrawn", "2026-11-01",
                            created + timedelta(seconds=19.2))
    await store.add_consent(seeded.session_id, seeded.client_pid, "client", "granted", "2026-11-01",
                            created + timedelta(seconds=31.0))
    return seeded


async def test_consent_events_carry_their_time_on_the_session_clock(records: AppHarness) -> None:
    seeded = await seed_with_a_pause(records)
    record = await (await records.client.get(f"/api/records/sessions/{seeded.session_id}")).json()
    robin = [e for e in record["consent_events"] if e["participant_id"] == seeded.client_pid]
    assert [e["state"] for e in robin] == ["granted", "withdrawn", "granted"]
    assert [e["at_s"] for e in robin[1:]] == [19.2, 31.0]
    assert 0 <= robin[0]["at_s"] < 5
    # The records list has them too (it words the changes instead of "All clients agreed").
    listing = await (await records.client.get("/api/records/sessions")).json()
    [item] = listing["sessions"]
    assert [(e["state"], e["at_s"]) for e in item["consent_events"] if e["participant_id"] == seeded.client_pid][
        1:] == [("withdrawn", 19.2), ("granted", 31.0)]
    exported = json.loads((await export(records, seeded.session_id, "json"))[0])
    assert [e["at_s"] for e in exported["consent_events"]] == [e["at_s"] for e in record["consent_events"]]


async def test_notes_can_be_edited_and_deleted_by_their_owner_and_it_is_audited(records: AppHarness) -> None:
    seeded = await seed_session(records)
    base = f"/api/records/sessions/{seeded.session_id}/notes"
    first = await (await records.client.post(base, json={"text": "Ask about the sister."}, headers=records.csrf)).json()
    second = await (await records.client.post(base, json={"text": "Sleep diary?"}, headers=records.csrf)).json()

    resp = await records.client.patch(f"{base}/{first['note_id']}", json={"text": "Ask about the sister and the rent."},
                                      headers=records.csrf)
    assert resp.status == 200, await resp.text()
    edited = await resp.json()
    assert edited == {**first, "text": "Ask about the sister and the rent."}
    resp = await records.client.delete(f"{base}/{second['note_id']}", headers=records.csrf)
    assert resp.status == 204
    record = await (await records.client.get(f"/api/records/sessions/{seeded.session_id}")).json()
    assert [n["text"] for n in record["notes"]] == ["Ask about the sister and the rent."]

    # Gone is gone; unknown or malformed ids and empty text get clear answers, never a 5xx.
    assert (await records.client.delete(f"{base}/{second['note_id']}", headers=records.csrf)).status == 404
    assert (await records.client.patch(f"{base}/{second['note_id']}", json={"text": "x"},
                                       headers=records.csrf)).status == 404
    assert (await records.client.patch(f"{base}/abc", json={"text": "x"}, headers=records.csrf)).status == 404
    assert (await records.client.patch(f"{base}/{first['note_id']}", json={"text": ""},
                                       headers=records.csrf)).status == 400

    entries = (await (await records.client.get("/api/audit")).json())["entries"]
    actions = [(e["action"], e["session_id"], e["detail"]) for e in entries]
    assert ("note_edit", seeded.session_id, f"note {first['note_id']}") in actions
    assert ("note_delete", seeded.session_id, f"note {second['note_id']}") in actions
    # The audit says which note, never what it said.
    assert not any("sister" in e["detail"] for e in entries)


async def test_text_export_has_notes_consent_history_and_the_gap(sqlite_records: AppHarness) -> None:
    seeded = await seed_with_a_pause(sqlite_records)
    note = {"text": "Follow up on sleep.\nAsk about walks."}
    await sqlite_records.client.post(f"/api/records/sessions/{seeded.session_id}/notes", json=note,
                                     headers=sqlite_records.csrf)
    text = (await export(sqlite_records, seeded.session_id, "txt"))[0].decode("utf-8")
    lines = text.splitlines()
    assert "Consent history:" in lines
    assert "  [00:00:19] Robin Quill stopped captions and cues (consent text 2026-11-01)" in lines
    assert "  [00:00:31] Robin Quill agreed again to captions and cues (consent text 2026-11-01)" in lines
    assert "Private notes:" in lines and "    Follow up on sleep." in lines and "    Ask about walks." in lines
    gap = ("[00:00:19] -- Analysis off: Robin Quill stopped captions and cues; nothing Robin Quill said was "
           "transcribed until 00:00:31, when they agreed again.")
    # Where it happened: after the turn that started before 00:19.2, before the one that started after it (the
    # note ends Robin's turn; paragraphs are apart by a blank line).
    assert lines.index(gap) == lines.index(next(ln for ln in lines if ln.startswith("[00:00:12] Robin"))) + 2
    assert lines.index(gap) == lines.index(next(ln for ln in lines if ln.startswith("[00:00:19] Robin"))) - 2


async def test_pdf_has_consent_history_shaded_gap_notes_and_human_labels(
    sqlite_records: AppHarness, tmp_path: Path
) -> None:
    seeded = await seed_with_a_pause(sqlite_records)
    await sqlite_records.client.post(f"/api/records/sessions/{seeded.session_id}/notes",
                                     json={"text": "Follow up on sleep."}, headers=sqlite_records.csrf)
    body = (await export(sqlite_records, seeded.session_id, "pdf"))[0]
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(body)).pages)
    for expected in (
        "Consent history", "00:00:19 Robin Quill stopped captions and cues",
        "Analysis off: Robin Quill stopped captions and cues; nothing Robin Quill said was transcribed until "
        "00:00:31, when they agreed again.",
        "Private notes", "Follow up on sleep.",
        "Urgent alert", "Risk language (words)",  # the cue's severity and kind in words
        "Shaded: stretches in which a client had captions and cues off",
    ):
        assert expected in text, expected
    assert "URGENT" not in text and "words.risk_language" not in text
    # The chart shades Robin's stretch in a light tint of Robin's colour.
    pixels = await asyncio.to_thread(render_first_page, body, tmp_path)
    shade = (abs(pixels - np.array(_tint(AMBER))).sum(axis=2) < 12).sum()
    assert shade > 2000, shade  # about 11,700 at 50 dpi


async def test_pdf_without_a_pause_has_no_shading(sqlite_records: AppHarness, tmp_path: Path) -> None:
    seeded = await seed_session(sqlite_records)
    body = (await export(sqlite_records, seeded.session_id, "pdf"))[0]
    pixels = await asyncio.to_thread(render_first_page, body, tmp_path)
    shade = (abs(pixels - np.array(_tint(AMBER))).sum(axis=2) < 12).sum()
    assert shade < 200, shade  # anti-aliased edges of the amber bars only (about 13)


async def test_unknown_records_and_paths_get_the_styled_page_and_the_api_stays_json(sqlite_records: AppHarness) -> None:
    client = sqlite_records.client
    for path in ("/records/0123456789abcdef", "/records/not-an-id"):
        resp = await client.get(path)
        page = await resp.text()
        assert resp.status == 404 and resp.content_type == "text/html", path
        assert "No such session record" in page and 'href="/records"' in page and "/static/style.css" in page
        assert "Content-Security-Policy" in resp.headers
    resp = await client.get("/no/such/page")
    assert resp.status == 404 and resp.content_type == "text/html"
    assert "Page not found" in await resp.text()
    api = await client.get("/api/no/such/thing")
    assert api.status == 404 and api.content_type == "application/json"
    assert (await api.json())["error"] == "not_found"
    record = await client.get("/api/records/sessions/0123456789abcdef")
    assert record.status == 404 and (await record.json())["error"] == "not_found"
    # A record that exists still opens its page.
    seeded = await seed_session(sqlite_records)
    assert (await client.get(f"/records/{seeded.session_id}")).status == 200
