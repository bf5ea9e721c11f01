"""Exports read back with independent readers: webvtt-py for WebVTT, the `srt` package for SRT, pypdf and
poppler's pdftoppm for the PDF report."""

from __future__ import annotations

import asyncio
import html
import io
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import srt
import webvtt
from PIL import Image
from pypdf import PdfReader

from server.records.context import RECORDS
from tests.conftest import AppHarness
from tests.records.conftest import LINES, seed_session

TRICKY = "Café “quotes” & <b>tags</b> --> arrows"


def render_first_page(pdf: bytes, folder: Path) -> np.ndarray:
    """Page 1 as RGB pixels, rendered by poppler's pdftoppm (a reader independent of fpdf2)."""
    pdf_path = folder / "report.pdf"
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf_path), str(folder / "page")],
                   check=True, timeout=60)
    [png] = sorted(folder.glob("page*.png"))
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


async def seeded_with_tricky_line(harness: AppHarness) -> str:
    seeded = await seed_session(harness)
    await harness.app[RECORDS].add_transcript_line(
        seeded.session_id, seeded.client_pid, "client", 30.0, 33.25, TRICKY, datetime.now(UTC)
    )
    return seeded.session_id


async def export(harness: AppHarness, session_id: str, fmt: str) -> tuple[bytes, str, str]:
    resp = await harness.client.get(f"/api/records/sessions/{session_id}/export/{fmt}")
    assert resp.status == 200, await resp.text()
    return await resp.read(), resp.headers["Content-Type"], resp.headers["Content-Disposition"]


async def test_webvtt_export_parses_with_speaker_voices(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    body, ctype, disposition = await export(sqlite_records, sid, "vtt")
    assert ctype.startswith("text/vtt") and f"attune-session-{sid}.vtt" in disposition
    captions = webvtt.from_string(body.decode("utf-8")).captions
    assert len(captions) == len(LINES) + 1
    assert [c.voice for c in captions[:2]] == ["Dr. Ada Marsh", "Robin Quill"]
    assert [html.unescape(c.text) for c in captions] == [t for *_, t in LINES] + [TRICKY]
    assert captions[1].start_in_seconds == 4 and captions[1].end_in_seconds == 9
    assert captions[-1].start == "00:00:30.000" and captions[-1].end == "00:00:33.250"


async def test_srt_export_parses_with_speaker_names(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    body, ctype, _ = await export(sqlite_records, sid, "srt")
    assert ctype.startswith("application/x-subrip")
    subtitles = list(srt.parse(body.decode("utf-8")))
    assert [s.index for s in subtitles] == list(range(1, len(LINES) + 2))
    assert subtitles[1].content == f"Robin Quill: {LINES[1][3]}"
    assert subtitles[1].start == timedelta(seconds=4) and subtitles[1].end == timedelta(seconds=9)
    assert subtitles[-1].content == f"Robin Quill: {TRICKY}"


async def test_text_and_json_exports(sqlite_records: AppHarness) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    text = (await export(sqlite_records, sid, "txt"))[0].decode("utf-8")
    assert "Participants: Dr. Ada Marsh (counselor), Robin Quill (client)" in text
    assert f"[00:00:04] Robin Quill: {LINES[1][3]}" in text.splitlines()
    data = json.loads((await export(sqlite_records, sid, "json"))[0])
    assert [ln["text"] for ln in data["lines"]][-1] == TRICKY
    assert data["cues"][0]["kind"] == "words.risk_language" and data["cues"][0]["evidence"]["score"] == 0.91
    assert {p["name"] for p in data["participants"]} == {"Dr. Ada Marsh", "Robin Quill"}


async def test_pdf_report_has_transcript_cues_and_charts(sqlite_records: AppHarness, tmp_path: Path) -> None:
    sid = await seeded_with_tricky_line(sqlite_records)
    body, ctype, _ = await export(sqlite_records, sid, "pdf")
    assert ctype == "application/pdf" and body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    for expected in ("Session report", "Talk time", "Cues", "Transcript", "Robin said they feel hopeless.",
                     "walks with the dog", "Robin Quill", "Café"):
        assert expected in text, expected
    pixels = await asyncio.to_thread(render_first_page, body, tmp_path)
    # The charts are drawn in each participant's colour: blue (counselor) and amber (client) both show.
    blue = (abs(pixels - np.array([37, 99, 235])).sum(axis=2) < 60).sum()
    amber = (abs(pixels - np.array([217, 119, 6])).sum(axis=2) < 60).sum()
    assert blue > 20 and amber > 20, (blue, amber)


async def test_export_of_an_empty_session_still_works(sqlite_records: AppHarness) -> None:
    created = await sqlite_records.new_session()
    for fmt in ("vtt", "txt", "json", "pdf"):
        body, _, _ = await export(sqlite_records, created["session_id"], fmt)
        assert body
    assert list(srt.parse((await export(sqlite_records, created["session_id"], "srt"))[0].decode())) == []
    vtt = (await export(sqlite_records, created["session_id"], "vtt"))[0].decode()
    assert webvtt.from_string(vtt).captions == []
    assert (await sqlite_records.client.get(f"/api/records/sessions/{created['session_id']}/export/docx")).status == 404


async def test_pdf_without_dejavu_falls_back_to_a_core_font(sqlite_records: AppHarness, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import server.records.export

    monkeypatch.setattr(server.records.export, "DEJAVU_DIR", Path("/nonexistent-fonts"))
    sid = await seeded_with_tricky_line(sqlite_records)
    body, _, _ = await export(sqlite_records, sid, "pdf")
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(body)).pages)
    assert 'Café "quotes" & <b>tags</b> --> arrows' in text
    assert "Robin said they feel hopeless." in text
