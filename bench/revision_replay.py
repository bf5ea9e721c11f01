"""Judges second-pass gates on a recorded run, without running the model again.

    python -m bench.revision_replay RUN.json [--set min_similarity=0.5 ...]

``RUN.json`` is the output of ``python -m bench.captions`` (WebRTC path, one stream): it keeps each finished
turn's first-pass sentences and second-pass words. This replays ``analysis.revision.revised_sentences``
with the given ``RevisionSettings`` over them and prints the stored transcript's WER per source, beside the
first pass alone and the run's own stored transcript. Only the gate is replayed: which turns there were
and what the second pass heard come from the run.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from analysis.events import TimedWord
from analysis.revision import RevisionSettings, StoredSentence, revised_sentences
from analysis.sentences import join_words
from bench.captions_sim import wer


def replayed_lines(run: dict[str, Any], settings: RevisionSettings | None) -> list[dict[int, tuple[float, str]]]:
    """Per lane: line id -> (start_s, text) as the gate ``settings`` would have stored it (None: no second
    pass at all)."""
    lanes: list[dict[int, tuple[float, str]]] = [
        {int(k): (float(v[0]), str(v[1])) for k, v in lane["stored"].items()} for lane in run["lanes"]
    ]
    for turn in run["second_passes"]:
        stored = [StoredSentence(int(s["line_id"]), tuple(TimedWord(t, a, b) for t, a, b in s["words"]))
                  for s in turn["sentences"]]
        lane = next((lines for lines in lanes if stored and stored[0].line_id in lines), None)
        if lane is None:
            continue
        for sentence in stored:
            lane[sentence.line_id] = (sentence.start_s, join_words(sentence.words))
        if settings is None or turn["new"] is None:
            continue
        new = [TimedWord(t, a, b, glued) for t, a, b, glued in turn["new"]]
        for revised in revised_sentences(stored, new, settings) or []:
            lane[revised.line_id] = (revised.words[0].start_s, revised.text)
    return lanes


def stored_wer(run: dict[str, Any], lanes: list[dict[int, tuple[float, str]]]) -> dict[str, float]:
    """WER of the stored lines against the references, per source and overall, clips attributed by start
    time as ``bench.captions`` does."""
    refs: dict[str, list[str]] = {}
    hyps: dict[str, list[str]] = {}
    rows = iter(run["rows"])
    for lane, lines in zip(run["lanes"], lanes, strict=True):
        bounds = [lane["sent_at"][0] + s for s in lane["starts_s"]] + [float("inf")]
        for lo, hi in itertools.pairwise(bounds):
            row = next(rows)
            text = " ".join(t for start, t in sorted(lines.values()) if lo - 0.2 <= start < hi - 0.2)
            for source in (row["source"], "overall"):
                refs.setdefault(source, []).append(row["reference"])
                hyps.setdefault(source, []).append(text)
    return {source: wer(refs[source], hyps[source]) for source in refs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--set", action="append", default=[], help="RevisionSettings NAME=VALUE")
    args = parser.parse_args(argv)
    run = json.loads(args.run.read_text())
    if len(run["lanes"]) != 1:
        parser.error("replay a run of one stream: rows are dealt round-robin between lanes")
    known = {f.name for f in fields(RevisionSettings)}
    changes = {}
    for pair in args.set:
        name, _, value = pair.partition("=")
        if name not in known:
            parser.error(f"unknown setting {name}")
        changes[name] = float(value)
    settings = replace(RevisionSettings(), **changes)
    offline = {s: v["wer_offline"] for s, v in run["sources"].items()}
    first = stored_wer(run, replayed_lines(run, None))
    replayed = stored_wer(run, replayed_lines(run, settings))
    recorded = {s: v.get("wer_stored") for s, v in run["sources"].items()}
    print(f"{'source':<16}{'offline':>9}{'first pass':>12}{'run stored':>12}{'replayed':>10}")
    for source in sorted(replayed, key=lambda s: (s == "overall", s)):
        print(f"{source:<16}{offline.get(source, 0.0):>9.2f}{first[source]:>12.2f}"
              f"{recorded.get(source) or 0.0:>12.2f}{replayed[source]:>10.2f}")
    print(f"settings: {settings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
