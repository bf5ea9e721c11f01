"""``attune analyze-text FILE.jsonl``: the live session's text cues, run over a transcript file.

Input: one JSON object per line, ``{"role": "counselor"|"client", "speaker": NAME, "text": ...}``
(an optional numeric ``at_s`` places the line on the session clock; otherwise line N is at N seconds).
Blank lines are skipped. ``-`` reads standard input.

Output: one JSON object per input line, in order:
``{"line": N, "sentiment": <compound -1..1>, "risk": null | {"level", "phrase", "category", "rule",
"verdict", "model_probability"}, "counselor_act": null | "open_question" | "closed_question" | "reflection" |
"other", "set_aside": null | {"phrase", "category", "rule", "reason"}}``.
Risk is assessed on client lines only and counselor acts on counselor lines only, as in a live session,
by the same `WordCues` with the rules plus the sentence-embedding model (analysis.text_model): `risk` is
an alert (`urgent` or `notice`); `set_aside` is a rule hit the model judged very unlikely, with the reason.
``--rules-only`` runs the rules alone (then `verdict` and `model_probability` are null).

The whole input is checked before anything is printed: a bad line gives one error on stderr naming the
file and line, and exit status 2, with no partial output.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from analysis.text_model import TextCueJudge, Verdict
from analysis.words import CLIENT, COUNSELOR, LineAnalysis, WordCues

_ROLES = (COUNSELOR, CLIENT)


class InputError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    number: int
    role: str
    speaker: str
    text: str
    at_s: float


def parse_line(raw: str, number: int) -> TranscriptLine:
    try:
        obj: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}")
    role = obj.get("role")
    if role not in _ROLES:
        raise InputError(f'"role" must be "counselor" or "client", got {json.dumps(role)}')
    speaker = obj.get("speaker")
    if not isinstance(speaker, str) or not speaker.strip():
        raise InputError('"speaker" must be a non-empty string')
    text = obj.get("text")
    if not isinstance(text, str):
        raise InputError('"text" must be a string')
    at_s = obj.get("at_s", float(number))
    if isinstance(at_s, bool) or not isinstance(at_s, int | float) or not math.isfinite(at_s):
        raise InputError('"at_s", when given, must be a finite number of seconds')
    return TranscriptLine(number, role, speaker.strip(), text, float(at_s))


def read_transcript(stream: TextIO, name: str) -> list[TranscriptLine]:
    lines: list[TranscriptLine] = []
    for number, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        try:
            lines.append(parse_line(raw, number))
        except InputError as exc:
            raise InputError(f"{name}:{number}: {exc}") from None
    return lines


def line_result(line: TranscriptLine, analysis: LineAnalysis) -> dict[str, Any]:
    risk = analysis.risk
    judgement = analysis.judgement
    set_aside = None
    if judgement is not None and judgement.verdict is Verdict.SET_ASIDE and judgement.rules is not None:
        rules = judgement.rules
        set_aside = {
            "phrase": rules.phrase,
            "category": rules.category.value,
            "rule": rules.rule,
            "reason": judgement.reason,
        }
    return {
        "line": line.number,
        "sentiment": round(analysis.sentiment, 4),
        "risk": None
        if risk is None
        else {
            "level": risk.level.value,
            "phrase": risk.phrase,
            "category": risk.category.value,
            "rule": risk.rule,
            "verdict": None if judgement is None else judgement.verdict.value,
            "model_probability": None if judgement is None else round(judgement.probability, 3),
        },
        "counselor_act": None if analysis.counselor_act is None else analysis.counselor_act.value,
        "set_aside": set_aside,
    }


def analyze(lines: list[TranscriptLine], judge: TextCueJudge | None = None) -> list[dict[str, Any]]:
    cues = WordCues(judge=judge)
    out: list[dict[str, Any]] = []
    for line in lines:
        analysis, _ = cues.feed_line(line.speaker, line.role, line.text, line.at_s)
        out.append(line_result(line, analysis))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="attune analyze-text", description="Run the text cues over a JSONL transcript."
    )
    parser.add_argument("file", help="JSONL file, one {role, speaker, text} object per line; - for stdin")
    parser.add_argument("--rules-only", action="store_true", help="rules alone, without the embedding model")
    args = parser.parse_args(argv)
    try:
        if args.file == "-":
            lines = read_transcript(sys.stdin, "<stdin>")
        else:
            with open(args.file, encoding="utf-8") as f:
                lines = read_transcript(f, args.file)
    except InputError as exc:
        print(f"attune analyze-text: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"attune analyze-text: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"attune analyze-text: {args.file} is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 2
    judge = None
    if not args.rules_only:
        from server.live.text_encoder import EncoderUnavailable, make_text_cue_judge

        try:
            judge = make_text_cue_judge()
        except EncoderUnavailable as exc:
            print(f"attune analyze-text: {exc} (--rules-only runs without the model)", file=sys.stderr)
            return 2
    for result in analyze(lines, judge):
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
