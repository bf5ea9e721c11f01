"""Crisis language spoken across a caption cut, through the real path: an aiortc peer sends a recording
over the uplink, the real Whisper model transcribes it, the caption policy cuts it into finals at a
pause, the sentence assembler joins them, and the text cues judge the sentence (and the words while they
are spoken). The clips are synthesized speech (tests/data/spoken/SOURCE.md)."""

from __future__ import annotations

import time
from typing import Any

from tests.conftest import DATA, AppHarness
from tests.integration.test_uplink import start_uplink

SPOKEN = DATA / "spoken"


def finals(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m.get("type") == "caption" and m["kind"] == "final"]


def transcript(messages: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The counselor's transcript as the page builds it: the newest version of each sentence."""
    lines: dict[int, dict[str, Any]] = {}
    for m in messages:
        if m.get("type") == "counselor" and m["event"]["kind"] == "transcript_line":
            lines[m["event"]["line_id"]] = m["event"]
    return lines


async def test_a_crisis_phrase_split_over_two_finals_raises_one_urgent_alert(live: AppHarness) -> None:
    s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, SPOKEN / "crisis_split.wav")
    started = time.monotonic()
    try:
        alert = await counselor.expect("counselor", lambda m: m["event"]["kind"] == "alert", timeout=60)
        alerted_after = time.monotonic() - started
        closed = await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "transcript_line" and m["event"]["closed"]
            and "tell" in m["event"]["text"],
            timeout=30,
        )
    finally:
        await pc.close()
    cue = alert["event"]["cue"]
    assert cue["severity"] == "urgent" and cue["kind"] == "words.risk"
    assert "want to end it all" in cue["evidence"]["line"].lower(), cue
    # The phrase really was cut: "... I just want to" settled as one final, "end it all ..." as a later one.
    shown = finals(counselor.inbox)
    cut = next(i for i, text in enumerate(shown) if text.lower().rstrip(" .,").endswith("want to"))
    assert any("end it all" in text.lower() for text in shown[cut + 1 :]), shown
    # The transcript holds it as one sentence, marked urgent, that the alert points at.
    sentence = closed["event"]
    assert "want to end it all" in sentence["text"].lower() and sentence["text"].startswith("I have been")
    assert sentence["risk"] == "urgent"
    assert cue["line_id"] in (None, sentence["line_id"])
    # Raised while the sentence was being spoken (from its tentative or settled words), not at its end.
    assert cue["evidence"]["heard_as"] in ("tentative", "settled"), cue
    # One alert for the phrase, not one per check (stable words, open sentence, finished sentence).
    await counselor.drain(1.0)
    alerts = [m for m in counselor.inbox if m.get("type") == "counselor" and m["event"]["kind"] == "alert"]
    assert len(alerts) == 1, alerts
    print(f"urgent alert {alerted_after:.1f} s after the uplink started (the phrase ends at about 6.4 s)")
    # The client saw their own captions and nothing of the alert.
    await client.drain(0.3)
    assert finals(client.inbox) and not any(m.get("type") == "counselor" for m in client.inbox)
    record = await (await live.client.get(f"/api/records/sessions/{s['session_id']}")).json()
    [stored_cue] = [c for c in record["cues"] if c["severity"] == "urgent"]
    stored_line = next(ln for ln in record["lines"] if ln["line_id"] == stored_cue["line_id"])
    assert "end it all" in stored_line["text"].lower()


async def test_a_denial_split_over_two_finals_raises_no_alert(live: AppHarness) -> None:
    _s, counselor, _, client, clw = await live.admitted_pair()
    await client.send(type="consent", granted=True, version=clw["consent"]["version"])
    await client.expect("consent_recorded")
    pc, _ = await start_uplink(client, SPOKEN / "denial_split.wav")
    try:
        await counselor.expect(
            "counselor",
            lambda m: m["event"]["kind"] == "transcript_line" and m["event"]["closed"]
            and "kids" in m["event"]["text"].lower(),
            timeout=60,
        )
        await counselor.drain(1.5)
    finally:
        await pc.close()
    shown = finals(counselor.inbox)
    assert any("hurt myself" in text.lower() and "never" not in text.lower() for text in shown), shown
    lines = [line["text"] for line in transcript(counselor.inbox).values()]
    assert any("never want to hurt myself" in text.lower() for text in lines), lines
    alerts = [m["event"] for m in counselor.inbox if m.get("type") == "counselor" and m["event"]["kind"] == "alert"]
    assert alerts == []
