"""Counselor acts on real supporter turns: rules alone vs rules + model, development and test parts.

    python -m bench.acts [--split dev|test|both] [--out bench/results/acts.json]

Data: ESConv supporters' turns (Liu et al. 2021, CC BY-NC 4.0; read from ATTUNE_TEXT_DATA, default
/work/shared/data/text) with the client's turn before each, their strategies mapped to MI-like codes
(training/datasets.py: map_esconv_strategy; 'Questions' in dev/test hand-labelled open/closed). This is
NOT expert MI coding: supporters are trained peers, strategies name a turn's purpose, and a "Providing
Suggestions" turn phrased as a question counts as other. A second, smaller view: 150 dev and 150 test
turns coded by hand MITI-style for this project (training/data/esconv_mi_sample.tsv; one coder, no
agreement measured). Per-class precision, recall and F1, macro-F1,
the confusion table, the reflection-to-question ratio and share of open questions each system would show,
and the CPU per counselor line (rules + encoder + head, one thread).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

from analysis.counselor_acts import CounselorAct, ListeningCounter, classify_counselor_act
from analysis.text_model import TextCueJudge, TextCueModel
from bench.text_models import RESULTS, CachedEncoder, cpu_ms_per_line, models, print_cpu, run_split_bench
from training import datasets as ds
from training.metrics import prf

DEFAULT_OUT = RESULTS / "acts.json"
RULES = "rules alone"
ACTS = tuple(a.value for a in CounselorAct)


def predict(model: TextCueModel | None, encoder: CachedEncoder, examples: list[ds.ActExample]) -> list[str]:
    if model is None:
        return [classify_counselor_act(e.text).value for e in examples]
    judge = TextCueJudge(encoder, model)
    out = []
    for e in examples:
        if e.previous:
            judge.note_client_line(e.previous)
        else:
            judge.clear_context()
        out.append(judge.code_counselor_line(e.text).act.value)
    return out


def score(gold: list[str], pred: list[str]) -> dict[str, object]:
    per = {a: prf([g == a for g in gold], [p == a for p in pred]) for a in ACTS}
    confusion = {g: {p: 0 for p in ACTS} for g in ACTS}
    for g, p in zip(gold, pred, strict=True):
        confusion[g][p] += 1
    counter = ListeningCounter()
    for p in pred:
        counter.add("counselor", CounselorAct(p))
    tally = counter.tally()
    return {
        "n": len(gold),
        "macro_f1": sum(float(m["f1"]) for m in per.values()) / len(ACTS),
        "per_class": per,
        "confusion": confusion,
        "reflection_to_question": tally.reflection_to_question,
        "open_share": tally.open_share,
    }


def evaluate(splits: list[str]) -> dict[str, object]:
    acts = ds.esconv_supporters()
    encoder = CachedEncoder()
    wanted = [e for e in acts if e.split in splits]
    encoder.warm([e.text for e in wanted] + [e.previous for e in wanted if e.previous])
    systems: dict[str, TextCueModel | None] = {RULES: None, **models()}
    sample = ds.esconv_mi_sample()
    out: dict[str, object] = {}
    for split in splits:
        for label_set, pool in (("strategies", acts), ("hand MI sample", sample)):
            examples = [e for e in pool if e.split == split]
            gold = [e.act for e in examples]
            block: dict[str, object] = {"gold": score(gold, gold)}
            for name, model in systems.items():
                block[name] = score(gold, predict(model, encoder, examples))
            out[f"{split} / {label_set}"] = block
    out["cpu_ms_per_line"] = cost(acts)
    return out


def cost(acts: list[ds.ActExample]) -> dict[str, object]:
    from server.live.text_encoder import MiniLmEncoder

    sample = [e for e in acts if e.split == "dev"][:200]
    judge = TextCueJudge(MiniLmEncoder(threads=1), next(iter(models().values())))
    judge.note_client_line(sample[0].previous or "Hello.")
    return {
        "lines": "200 dev supporter turns, previous client turn already encoded (as live)",
        "rules alone": cpu_ms_per_line(lambda t: classify_counselor_act(t), [e.text for e in sample]),
        "rules + encoder + head": cpu_ms_per_line(judge.code_counselor_line, [e.text for e in sample]),
    }


def _print(result: dict[str, object], splits: list[str]) -> None:
    for key in [k for k in result if k.split(" / ")[0] in splits]:
        block = result[key]
        assert isinstance(block, dict)
        what = "strategies mapped to MI-like codes" if key.endswith("strategies") else "coded by hand, MITI-style"
        print(f"\n== {key.split(' / ')[0]} part: ESConv supporters, {what} (n={block['gold']['n']}) ==")
        print(f"{'system':<24} {'macro-F1':>8} " + " ".join(f"{a[:12]:>14}" for a in ACTS) + f" {'R:Q':>5} {'open':>5}")
        for system, m in block.items():
            if system == "gold":
                continue
            cells = " ".join(
                f"{m['per_class'][a]['precision']:.2f}/{m['per_class'][a]['recall']:.2f}/{m['per_class'][a]['f1']:.2f}"
                for a in ACTS
            )
            rq = m["reflection_to_question"]
            op = m["open_share"]
            print(f"{system:<24} {m['macro_f1']:>8.3f} {cells} {rq if rq is None else f'{rq:.2f}':>5} "
                  f"{op if op is None else f'{op:.2f}':>5}")
        g = block["gold"]
        print(f"{'(gold labels)':<24} {'':>8} {'':>59} {g['reflection_to_question']:>5.2f} {g['open_share']:>5.2f}")
        print("cells: precision/recall/F1")
    c = result["cpu_ms_per_line"]
    assert isinstance(c, dict)
    print_cpu(f"CPU per line ({c['lines']}, one thread)", c)


def main(argv: list[str] | None = None) -> int:
    assert __doc__ is not None
    return run_split_bench("python -m bench.acts", __doc__, DEFAULT_OUT, evaluate, _print, argv)


if __name__ == "__main__":
    sys.exit(main())
