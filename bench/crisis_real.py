"""Crisis-language cues on real public text: rules alone vs rules + model, development and test parts.

    python -m bench.crisis_real [--split dev|test|both] [--out bench/results/crisis_real.json]

Sets (see training/datasets.py; read from ATTUNE_TEXT_DATA, default /work/shared/data/text):
- `posts`: suicide tweets <= 300 characters that mention suicide, dying or self-harm (label 1 = the
  writer's own suicidal intent; 0 = jokes, news, negations, third parties, ...). The urgent tier is
  scored as precision/recall of URGENT against label 1, the notice tier as URGENT-or-NOTICE against 1.
- `all tweets`: every tweet (long posts included), the same scoring.
- `stress posts` (dreaddit, no crisis), `help-seekers` (ESConv), `counsel_chat` questions: the share of
  lines raising an urgent alert, any alert, or a rule hit set aside (counsel_chat also has a few hand
  labels of intent, scored like the posts).
Per-line CPU: rules alone, and the whole vote (rules + encoder + head), on one thread.
Limits: tweets and Reddit posts are not spoken counseling talk; the model's thresholds were tuned on
the dev parts, so dev figures are optimistic and test figures are the ones to quote.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis.risk import RiskDetector, RiskFinding
from analysis.text_model import TextCueJudge, TextCueModel, Verdict
from bench.text_models import RESULTS, CachedEncoder, cpu_ms_per_line, models, print_cpu, run_split_bench
from training import datasets as ds
from training.metrics import prf

DEFAULT_OUT = RESULTS / "crisis_real.json"
RULES = "rules alone"


def _level(finding: RiskFinding | None) -> str:
    return "none" if finding is None else finding.level.value


def predict(system: str, model: TextCueModel | None, encoder: CachedEncoder, texts: list[str]) -> tuple[
        list[str], list[str]]:
    """Per text: the alert level (urgent/notice/none) and the vote's verdict (rules alone: 'rules')."""
    detector = RiskDetector()
    if model is None:
        levels = [_level(detector.assess(t)) for t in texts]
        return levels, ["rules"] * len(texts)
    judge = TextCueJudge(encoder, model, detector)
    levels, verdicts = [], []
    for t in texts:
        j = judge.assess_client_line(t)
        levels.append(_level(j.alert))
        verdicts.append(j.verdict.value)
    return levels, verdicts


def score_posts(gold: list[bool], levels: list[str]) -> dict[str, object]:
    return {
        "urgent": prf(gold, [lv == "urgent" for lv in levels]),
        "urgent_or_notice": prf(gold, [lv != "none" for lv in levels]),
    }


def score_rates(levels: list[str], verdicts: list[str]) -> dict[str, float | int]:
    n = max(len(levels), 1)
    return {
        "n": len(levels),
        "urgent_rate": sum(lv == "urgent" for lv in levels) / n,
        "any_alert_rate": sum(lv != "none" for lv in levels) / n,
        "set_aside_rate": sum(v == Verdict.SET_ASIDE.value for v in verdicts) / n,
    }


def evaluate(splits: list[str]) -> dict[str, object]:
    crisis = [
        *ds.suicide_tweets(), *ds.dreaddit_negatives(), *ds.esconv_seekers(), *ds.counsel_chat_questions(),
    ]
    encoder = CachedEncoder()
    encoder.warm([e.text for e in crisis if e.split in splits])
    systems: dict[str, TextCueModel | None] = {RULES: None, **models()}
    out: dict[str, object] = {}
    for split in splits:
        sets = {
            "posts": [e for e in crisis if e.source == "tweets" and e.short_mention and e.split == split],
            "all tweets": [e for e in crisis if e.source == "tweets" and e.split == split],
            "stress posts": [e for e in crisis if e.source == "dreaddit" and e.split == split],
            "help-seekers": [e for e in crisis if e.source == "esconv_seekers" and e.split == split],
            "counsel_chat": [e for e in crisis if e.source == "counsel_chat" and e.split == split],
        }
        per_system: dict[str, object] = {}
        for name, model in systems.items():
            res: dict[str, object] = {}
            for set_name, examples in sets.items():
                texts = [e.text for e in examples]
                levels, verdicts = predict(name, model, encoder, texts)
                gold = [bool(e.intent) for e in examples]
                if set_name in ("posts", "all tweets"):
                    res[set_name] = {**score_posts(gold, levels), **score_rates(levels, verdicts)}
                else:
                    res[set_name] = score_rates(levels, verdicts)
                    if any(gold):
                        res[set_name] = {**res[set_name], **score_posts(gold, levels)}  # type: ignore[dict-item]
            per_system[name] = res
        out[split] = per_system
    out["cpu_ms_per_line"] = cost(crisis)
    return out


def cost(crisis: list[ds.CrisisExample]) -> dict[str, object]:
    """CPU per client line for two kinds of line: short posts, and spoken sentences (the project's own
    207 labelled lines, the length of a caption sentence)."""
    from bench.crisis import load_labelled_lines
    from server.live.text_encoder import MiniLmEncoder

    posts = [e.text for e in crisis if e.source == "tweets" and e.short_mention and e.split == "dev"][:200]
    spoken = [ln.text for ln in load_labelled_lines()]
    detector = RiskDetector()
    judge = TextCueJudge(MiniLmEncoder(threads=1), next(iter(models().values())), detector)
    out: dict[str, object] = {}
    for name, lines in (("200 dev posts (<= 300 characters)", posts), ("207 spoken sentences", spoken)):
        out[name] = {
            "rules alone": cpu_ms_per_line(lambda t: detector.assess(t), lines),
            "rules + encoder + head": cpu_ms_per_line(judge.assess_client_line, lines),
        }
    return out


def _print(result: dict[str, object], splits: list[str]) -> None:
    for split in splits:
        block = result[split]
        assert isinstance(block, dict)
        print(f"\n== {split} part ==")
        print(f"{'posts that mention suicide':<28} {'system':<24} {'urg P':>6} {'urg R':>6} {'urg F1':>6} "
              f"{'any P':>6} {'any R':>6} {'any F1':>6} {'n':>5}")
        for set_name in ("posts", "all tweets"):
            for system, res in block.items():
                m = res[set_name]
                u, a = m["urgent"], m["urgent_or_notice"]
                print(f"{set_name:<28} {system:<24} {u['precision']:>6.3f} {u['recall']:>6.3f} {u['f1']:>6.3f} "
                      f"{a['precision']:>6.3f} {a['recall']:>6.3f} {a['f1']:>6.3f} {m['n']:>5}")
        print(f"\n{'no-crisis text':<28} {'system':<24} {'urgent':>7} {'any':>7} {'aside':>7} {'n':>5}")
        for set_name in ("stress posts", "help-seekers", "counsel_chat"):
            for system, res in block.items():
                m = res[set_name]
                print(f"{set_name:<28} {system:<24} {m['urgent_rate']:>7.1%} {m['any_alert_rate']:>7.1%} "
                      f"{m['set_aside_rate']:>7.1%} {m['n']:>5}")
    cost_block = result["cpu_ms_per_line"]
    assert isinstance(cost_block, dict)
    for lines, block in cost_block.items():
        print_cpu(f"CPU per client line, {lines}, one thread", block)


def main(argv: list[str] | None = None) -> int:
    assert __doc__ is not None
    return run_split_bench("python -m bench.crisis_real", __doc__, DEFAULT_OUT, evaluate, _print, argv)


if __name__ == "__main__":
    sys.exit(main())
