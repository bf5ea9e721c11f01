"""The second pass over a finished turn, through the real path: an aiortc peer speaks a recording, the real
Whisper model captions it, and when the speaker's stream ends their turn is decoded once more as a whole;
the stored sentences and the counselor's transcript take its words, the captions already shown do not.

To prove which words came from the second pass, the test wraps the server's own second pass and changes
one word of what it returns ("tired" -> "weary"): that word can only have come through it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from analysis.events import TimedWord
from analysis.revision import TurnToRevise
from server.live.engine import LIVE
from tests.conftest import DATA, AppHarness
from tests.e2e.media import joined_wav
from tests.integration.test_uplink import start_uplink


def turns(metrics: str, outcome: str) -> float:
    series = rf'^attune_transcript_turns_second_pass_total{{outcome="{outcome}"}} ([0-9.e+-]+)$'
    found = re.search(series, metrics, re.M)
    return float(found.group(1)) if found else 0.0


def plain(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


async def test_a_finished_turn_is_decoded_again_and_its_sentences_take_the_new_words(live: AppHarness) -> None:
    app = live.client.server.app
    engine = app[LIVE]
    real_second_pass = engine._revise_turn
    second_passes: list[list[TimedWord]] = []

    async def marked_second_pass(turn: TurnToRevise) -> list[TimedWord] | None:
        found = await real_second_pass(turn)
        if found is None:
            return None
        marked = [TimedWord("weary" if w.text == "tired" else w.text, w.start_s, w.end_s, w.glued) for w in found]
        second_passes.append(marked)
        return marked

    engine._revise_turn = marked_second_pass  # type: ignore[method-assign]

    s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, DATA / "spoken" / "crisis_split.wav")
    try:
        await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "transcript_line" and m["event"]["closed"] and "tell" in m["event"]["text"],
            timeout=60,
        )
    finally:
        await pc.close()  # the stream ends: the turn is over

    for _ in range(60):  # reading the counselor's socket meanwhile (it answers the server's heartbeat)
        await counselor.drain(1.0)
        if turns(await live.metrics(), "revised") >= 1:
            break
    await engine.transcripts[s["session_id"]].revisions_done()
    await counselor.drain(0.5)
    assert second_passes, "the second pass never ran"

    # The stored record holds the second pass's words (the word-perfect whole-turn decode, marked).
    record = await (await live.client.get(f"/api/records/sessions/{s['session_id']}")).json()
    first_lines = [ln["text"] for ln in sorted(record["lines"], key=lambda ln: ln["start_s"]) if ln["start_s"] < 11.0]
    assert plain(" ".join(first_lines)) == (
        "i have been so weary lately and honestly i just want to end it all and i don't know who to tell about it"
    ), first_lines
    # The counselor's transcript shows the same words, as an update of the same rows.
    shown: dict[int, str] = {}
    for m in counselor.inbox:
        if m.get("type") == "counselor" and m["event"]["kind"] == "transcript_line":
            shown[m["event"]["line_id"]] = m["event"]["text"]
    stored_ids = {ln["line_id"]: ln["text"] for ln in record["lines"]}
    assert any("weary" in text for text in shown.values()), shown
    assert all(shown[i] == text for i, text in stored_ids.items() if i in shown), (shown, stored_ids)
    # The captions already shown were not rewritten.
    captions: list[dict[str, Any]] = [m for m in client.inbox + counselor.inbox if m.get("type") == "caption"]
    assert captions and not any("weary" in m["text"] for m in captions)


async def test_a_turn_of_several_sentences_is_decoded_again_as_one(live: AppHarness, tmp_path: Path) -> None:
    """A reader says two sentences 1.2 s apart: one turn, decoded again as a whole once the stream ends. The
    second sentence's words settle more than 4 s after the first sentence's end while the reader is still
    speaking; that is no pause, and the first sentence must not be decoded again without the second."""
    clips = [DATA / "ljspeech_subset" / "wavs" / f"LJ001-{n}.flac" for n in ("0009", "0017")]
    recording = joined_wav(clips, tmp_path / "two_sentences.wav", pause_s=1.2)
    engine = live.client.server.app[LIVE]
    real_second_pass = engine._revise_turn
    turns_decoded: list[TurnToRevise] = []

    async def recorded_second_pass(turn: TurnToRevise) -> list[TimedWord] | None:
        turns_decoded.append(turn)
        return await real_second_pass(turn)

    engine._revise_turn = recorded_second_pass  # type: ignore[method-assign]
    s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, recording)
    try:
        await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "transcript_line" and "closely" in m["event"]["text"].lower(),
            timeout=90,
        )
    finally:
        await pc.close()
    for _ in range(60):
        await counselor.drain(1.0)
        if turns_decoded:
            break
    await engine.transcripts[s["session_id"]].revisions_done()
    [turn] = turns_decoded  # the old rule closed the first sentence's turn while the second was spoken
    record = await (await live.client.get(f"/api/records/sessions/{s['session_id']}")).json()
    assert len(turn.sentence_ids) == len(record["lines"]) >= 2, (turn, record["lines"])
    assert turn.end_s - turn.start_s > 12.0, turn  # both sentences: 7.6 s + 1.2 s + 7.0 s of recording
