"""What the early crisis check on words still being spoken costs: alerts raised from a sentence's first
words that the whole sentence would not raise, on real public text.

    python -m bench.early_alerts [--split dev|test|both] [--limit 600] [--out bench/results/early_alerts.json]

Each text is "spoken" word by word: after every word, the check a live session runs on the newest caption
(``WordCues.assess_open_sentence`` with the words so far as tentative, the words before the last one as
the previous partial) with the real rules and text model. A text is *alerted early* when any of its
prefixes raises an URGENT alert; the whole text is judged as when its sentence ends. Reported per set:
the share alerted by the whole text, the share alerted early, and the share alerted early but not by the
whole text (an alert the counselor would get mid-sentence for words that, finished, were not urgent).
Sets as in ``bench.crisis_real`` (read from ATTUNE_TEXT_DATA, default /work/shared/data/text).

Limits: posts are written, not spoken, and are fed whole (a live session judges one sentence at a time,
so a post's later sentences here see more text than they would live); a real partial's tentative words
are Whisper's guesses, not the writer's words.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from analysis.events import Severity
from analysis.words import WordCues
from training import datasets as ds

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OUT = RESULTS / "early_alerts.json"


def sets() -> dict[str, list[ds.CrisisExample]]:
    tweets = [e for e in ds.suicide_tweets() if e.short_mention]
    return {
        "posts, own intent": [e for e in tweets if e.intent == 1],
        "posts, no intent": [e for e in tweets if e.intent == 0],
        "stress posts": ds.dreaddit_negatives(),
        "help-seekers": ds.esconv_seekers(),
    }


def spoken_alerts(cues: WordCues, text: str) -> tuple[bool, bool]:
    """(alerted early, alerted by the whole text)."""
    words = text.split()
    early = False
    for k in range(2, len(words) + 1):
        prefix = " ".join(words[:k])
        cue = cues.assess_open_sentence("c", "client", "", 0.0, tentative=prefix, heard_before=" ".join(words[: k - 1]))
        if cue is not None and cue.severity is Severity.URGENT:
            early = True
            break
    whole = cues.judge.assess_client_line(text) if cues.judge is not None else None
    return early, whole is not None and whole.alert is not None and whole.alert.level is Severity.URGENT


def evaluate(splits: list[str], limit: int) -> dict[str, Any]:
    from server.live.text_encoder import make_text_cue_judge

    judge = make_text_cue_judge()
    cues = WordCues(judge=judge)
    out: dict[str, Any] = {}
    for name, examples in sets().items():
        for split in splits:
            chosen = [e for e in examples if e.split == split][:limit]
            early = whole = early_only = 0
            for e in chosen:
                judge.clear_context()
                by_prefix, by_whole = spoken_alerts(cues, e.text)
                early += by_prefix
                whole += by_whole
                early_only += by_prefix and not by_whole
            n = max(1, len(chosen))
            out[f"{name} / {split}"] = {
                "texts": len(chosen),
                "urgent_whole": round(whole / n, 4),
                "urgent_early": round(early / n, 4),
                "urgent_early_only": round(early_only / n, 4),
            }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.early_alerts", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="dev")
    parser.add_argument("--limit", type=int, default=600, help="texts per set and split (the first ones)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    result = evaluate(splits, args.limit)
    print(f"{'set / split':<32}{'texts':>7}{'urgent (whole)':>16}{'urgent (early)':>16}{'early only':>12}")
    for key, row in result.items():
        print(f"{key:<32}{row['texts']:>7}{row['urgent_whole']:>16.1%}{row['urgent_early']:>16.1%}"
              f"{row['urgent_early_only']:>12.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
