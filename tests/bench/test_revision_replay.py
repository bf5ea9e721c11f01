"""``bench.revision_replay`` judges second-pass gates on a recorded run: a turn whose second pass the gate
accepts is stored with its words, one it refuses keeps the first pass."""

from __future__ import annotations

from typing import Any

from analysis.revision import RevisionSettings
from bench.revision_replay import replayed_lines, stored_wer


def recorded_run() -> dict[str, Any]:
    first = [["I", 1.0, 1.2], ["was", 1.3, 1.5], ["a", 1.6, 1.7], ["pilot", 1.8, 2.2], ["in", 2.3, 2.4],
             ["the", 2.5, 2.6], ["lung.", 2.7, 3.0]]
    second = [["I", 1.0, 1.2, False], ["was", 1.3, 1.5, False], ["back", 1.6, 2.0, False], ["in", 2.3, 2.4, False],
              ["the", 2.5, 2.6, False], ["room.", 2.7, 3.0, False]]
    return {
        "lanes": [{"sent_at": [0.0], "starts_s": [0.0], "stored": {"1": [1.0, "I was back in the room."]}}],
        "rows": [{"source": "speechocean762", "reference": "I was back in the room."}],
        "second_passes": [{"sentences": [{"line_id": 1, "words": first}], "new": second}],
    }


def test_a_replayed_gate_stores_the_second_pass_it_accepts_and_the_first_pass_it_refuses() -> None:
    run = recorded_run()
    assert stored_wer(run, replayed_lines(run, None))["overall"] > 30.0  # the first pass alone
    assert stored_wer(run, replayed_lines(run, RevisionSettings()))["overall"] == 0.0
    strict = RevisionSettings(min_similarity=0.9)  # the two passes are 0.62 alike
    assert stored_wer(run, replayed_lines(run, strict))["overall"] > 30.0
