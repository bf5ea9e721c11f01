"""Train the text-cue heads and tune the crisis vote, reproducibly (fixed seeds, fixed splits).

    python -m training.text_cues                 # both models: shipped (shippable data) and all-data
    python -m training.text_cues --write-splits  # (re)write training/data/splits.json

Two models, same recipe:
- `shipped` -> analysis/models/text_cues.npz: trained only on data that may ship with the product
  (text written for this project, the rules' own labelled lines, counsel_chat questions (MIT));
- `all_data` -> training/cache/text_cues_all.npz (gitignored, never shipped): also the train parts of
  the suicide tweets and dreaddit (no license stated) and ESConv (CC BY-NC 4.0), to measure what more
  data would give.
Heads: one-hidden-layer MLPs (scikit-learn, training time only) exported as numpy arrays for
analysis.text_model.MlpHead. Thresholds of the crisis vote and the act biases are tuned on the DEV parts
of the real sets; test parts are never read here (bench.crisis_real and bench.acts score them).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from numpy.typing import NDArray

from analysis.counselor_acts import CounselorAct, classify_counselor_act
from analysis.risk import RiskDetector
from analysis.text_model import (
    CrisisThresholds,
    MlpHead,
    TextCueModel,
    act_features,
    crisis_features,
    decide_act,
    judge_crisis,
)
from training import datasets as ds
from training.embeddings import EmbeddingCache

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = REPO / "analysis" / "models" / "text_cues.npz"
ALL_DATA_MODEL = REPO / "training" / "cache" / "text_cues_all.npz"
SPLITS_FILE = ds.OWN_DATA / "splits.json"
SEED = 0
ACT_CLASSES = tuple(a.value for a in CounselorAct)

# Targets the vote is tuned for, with a margin, on the development parts.
DEV_ANY_RECALL_MIN = 0.92  # on short posts that mention suicide (target >= 0.9 on unseen posts)
DEV_STRESS_ANY_MAX = 0.025  # stress posts raising any alert (target <= 3 %)
DEV_STRESS_URGENT_MAX = 0.008  # stress posts raising an urgent alert (target <= 1 %)


# --- features for whole sets -----------------------------------------------------------------------


@dataclass
class CrisisSet:
    examples: list[ds.CrisisExample]
    x: NDArray[np.float32]
    rules: list[object]

    @property
    def y(self) -> NDArray[np.int64]:
        return np.array([e.intent for e in self.examples], dtype=np.int64)


def crisis_set(examples: Sequence[ds.CrisisExample], cache: EmbeddingCache, detector: RiskDetector) -> CrisisSet:
    ex = list(examples)
    emb = cache.embed([e.text for e in ex])
    rules = [detector.assess(e.text) for e in ex]
    x = np.stack([crisis_features(emb[i], e.text, rules[i]) for i, e in enumerate(ex)]) if ex else np.zeros((0, 1))
    return CrisisSet(ex, x.astype(np.float32), list(rules))


@dataclass
class ActSet:
    examples: list[ds.ActExample]
    x: NDArray[np.float32]
    rules: list[CounselorAct]

    @property
    def y(self) -> NDArray[np.int64]:
        return np.array([ACT_CLASSES.index(e.act) for e in self.examples], dtype=np.int64)


def act_set(examples: Sequence[ds.ActExample], cache: EmbeddingCache) -> ActSet:
    ex = list(examples)
    line = cache.embed([e.text for e in ex])
    prev = cache.embed([e.previous or "." for e in ex])
    rules = [classify_counselor_act(e.text) for e in ex]
    rows = [
        act_features(line[i], prev[i] if e.previous else None, e.text, e.previous, rules[i]) for i, e in enumerate(ex)
    ]
    return ActSet(ex, np.stack(rows).astype(np.float32), rules)


# --- heads -----------------------------------------------------------------------------------------


def fit_mlp(
    x: NDArray[np.float32], y: NDArray[np.int64], classes: tuple[str, ...], hidden: int, alpha: float,
    sample_weight: NDArray[np.float64] | None = None,
) -> MlpHead:
    from sklearn.neural_network import MLPClassifier

    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-3
    xs = (x - mean) / scale
    if sample_weight is not None:
        # MLPClassifier has no sample weights: resample to the weights, deterministically.
        rng = np.random.default_rng(SEED)
        p = sample_weight / sample_weight.sum()
        idx = rng.choice(len(x), size=len(x) * 2, replace=True, p=p)
        xs, y = xs[idx], y[idx]
    clf = MLPClassifier(
        hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=300, random_state=SEED, early_stopping=False,
        learning_rate_init=1e-3, batch_size=64,
    )
    clf.fit(xs, y)
    present = tuple(classes[int(c)] for c in clf.classes_)
    if present != classes:
        raise ValueError(f"training data lacks classes: has {present}, needs {classes}")
    return MlpHead(
        mean=mean.astype(np.float32), scale=scale.astype(np.float32),
        weights=tuple(w.astype(np.float32) for w in clf.coefs_),
        biases=tuple(b.astype(np.float32) for b in clf.intercepts_),
        classes=classes,
    )


def balanced_weights(groups: Sequence[str], y: NDArray[np.int64]) -> NDArray[np.float64]:
    """Each (source, label) cell gets the same total weight, so a big source does not drown the rest."""
    keys = [f"{g}|{int(c)}" for g, c in zip(groups, y, strict=True)]
    counts: dict[str, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return np.array([1.0 / counts[k] for k in keys], dtype=np.float64)


# --- metrics ---------------------------------------------------------------------------------------


def prf(gold: Sequence[bool], pred: Sequence[bool]) -> dict[str, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def macro_f1(gold: Sequence[int], pred: Sequence[int], n_classes: int) -> tuple[float, list[float]]:
    per = [prf([g == c for g in gold], [p == c for p in pred])["f1"] for c in range(n_classes)]
    return float(np.mean(per)), per


def crisis_levels(s: CrisisSet, probs: NDArray[np.float32], t: CrisisThresholds) -> list[str]:
    out = []
    for e, rules, p in zip(s.examples, s.rules, probs, strict=True):
        j = judge_crisis(e.text, rules, float(p), t)  # type: ignore[arg-type]
        out.append("none" if j.alert is None else j.alert.level.value)
    return out


def crisis_summary(posts: CrisisSet, stress: CrisisSet, probs_posts: NDArray[np.float32],
                   probs_stress: NDArray[np.float32], t: CrisisThresholds) -> dict[str, float]:
    lv = crisis_levels(posts, probs_posts, t)
    gold = [bool(v) for v in posts.y]
    urgent = prf(gold, [x == "urgent" for x in lv])
    anyr = prf(gold, [x != "none" for x in lv])
    ls = crisis_levels(stress, probs_stress, t)
    return {
        "urgent_precision": urgent["precision"], "urgent_recall": urgent["recall"],
        "any_precision": anyr["precision"], "any_recall": anyr["recall"],
        "stress_any": sum(x != "none" for x in ls) / max(len(ls), 1),
        "stress_urgent": sum(x == "urgent" for x in ls) / max(len(ls), 1),
    }


def tune_thresholds(posts: CrisisSet, stress: CrisisSet, pp: NDArray[np.float32], ps: NDArray[np.float32]) -> tuple[
        CrisisThresholds, dict[str, float]]:
    """Highest urgent precision on dev posts whose any-alert recall and stress-post alert rates meet the
    dev targets; ties go to higher any-recall. Falls back to the best any-recall if nothing qualifies."""
    best: tuple[tuple[float, ...], CrisisThresholds, dict[str, float]] | None = None
    fallback: tuple[tuple[float, ...], CrisisThresholds, dict[str, float]] | None = None
    for urgent in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95):
        for set_aside in (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3):
            if set_aside >= urgent:
                continue
            for notice in (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 1.01):
                t = CrisisThresholds(urgent, set_aside, notice)
                m = crisis_summary(posts, stress, pp, ps, t)
                ok = (m["any_recall"] >= DEV_ANY_RECALL_MIN and m["stress_any"] <= DEV_STRESS_ANY_MAX
                      and m["stress_urgent"] <= DEV_STRESS_URGENT_MAX)
                key = (m["urgent_precision"], m["any_recall"], -m["stress_any"])
                if ok and (best is None or key > best[0]):
                    best = (key, t, m)
                fkey = (min(m["any_recall"], DEV_ANY_RECALL_MIN) - 10 * max(0.0, m["stress_any"] - DEV_STRESS_ANY_MAX)
                        - 10 * max(0.0, m["stress_urgent"] - DEV_STRESS_URGENT_MAX), m["urgent_precision"])
                if fallback is None or fkey > fallback[0]:
                    fallback = (fkey, t, m)
    chosen = best or fallback
    assert chosen is not None
    return chosen[1], {**chosen[2], "met_dev_targets": float(best is not None)}


def tune_act_bias(probs: NDArray[np.float32], y: NDArray[np.int64]) -> NDArray[np.float32]:
    """Per-class log-probability offsets that maximise dev macro-F1 (coordinate search, a few rounds)."""
    bias = np.zeros(len(ACT_CLASSES), dtype=np.float32)
    grid = np.linspace(-2.0, 2.0, 21, dtype=np.float32)

    def score(b: NDArray[np.float32]) -> float:
        pred = [ACT_CLASSES.index(decide_act(p, ACT_CLASSES, b).value) for p in probs]
        return macro_f1(list(y), pred, len(ACT_CLASSES))[0]

    current = score(bias)
    for _ in range(3):
        for c in range(1, len(ACT_CLASSES)):  # class 0 stays the reference
            for g in grid:
                trial = bias.copy()
                trial[c] = g
                s = score(trial)
                if s > current + 1e-9:
                    current, bias = s, trial
    return bias


# --- the recipe ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    name: str
    shippable_only: bool
    crisis_hidden: int = 64
    crisis_alpha: float = 1.0
    acts_hidden: int = 64
    acts_alpha: float = 1.0


def load_all() -> tuple[list[ds.CrisisExample], list[ds.ActExample]]:
    crisis = [
        *ds.written_crisis_lines(), *ds.counsel_chat_questions(), *ds.suicide_tweets(),
        *ds.dreaddit_negatives(), *ds.esconv_seekers(),
    ]
    acts = [*ds.written_act_lines(), *ds.esconv_supporters()]
    return crisis, acts


def train(recipe: Recipe, cache: EmbeddingCache, crisis: list[ds.CrisisExample], acts: list[ds.ActExample],
          detector: RiskDetector) -> tuple[TextCueModel, dict[str, object]]:
    def allowed(e: ds.CrisisExample | ds.ActExample) -> bool:
        return e.split == "train" and (e.shippable or not recipe.shippable_only)

    tr = crisis_set([e for e in crisis if allowed(e)], cache, detector)
    w = balanced_weights([e.source for e in tr.examples], tr.y)
    crisis_head = fit_mlp(tr.x, tr.y, ("0", "1"), recipe.crisis_hidden, recipe.crisis_alpha, w)

    posts_dev = crisis_set([e for e in crisis if e.source == "tweets" and e.split == "dev" and e.short_mention],
                           cache, detector)
    stress_dev = crisis_set([e for e in crisis if e.source == "dreaddit" and e.split == "dev"], cache, detector)
    pp = crisis_head.predict_proba(posts_dev.x)[:, 1]
    ps = crisis_head.predict_proba(stress_dev.x)[:, 1]
    thresholds, dev_crisis = tune_thresholds(posts_dev, stress_dev, pp, ps)

    atr = act_set([e for e in acts if allowed(e)], cache)
    aw = balanced_weights([e.source for e in atr.examples], atr.y)
    acts_head = fit_mlp(atr.x, atr.y, ACT_CLASSES, recipe.acts_hidden, recipe.acts_alpha, aw)
    adev = act_set([e for e in acts if e.source == "esconv" and e.split == "dev"], cache)
    probs = acts_head.predict_proba(adev.x)
    bias = tune_act_bias(probs, adev.y)
    pred = [ACT_CLASSES.index(decide_act(p, ACT_CLASSES, bias).value) for p in probs]
    dev_macro, dev_per = macro_f1(list(adev.y), pred, len(ACT_CLASSES))

    sources = sorted({e.source for e in tr.examples} | {e.source for e in atr.examples})
    description = (
        f"{recipe.name}: crisis head trained on {len(tr.examples)} lines, acts head on {len(atr.examples)} lines "
        f"from {', '.join(sources)}; thresholds and act biases tuned on the dev parts of the suicide tweets, "
        "dreaddit and ESConv"
    )
    model = TextCueModel(crisis_head, acts_head, thresholds, bias, description)
    report: dict[str, object] = {
        "recipe": recipe.__dict__,
        "train_sizes": {"crisis": len(tr.examples), "acts": len(atr.examples)},
        "train_sources": sources,
        "thresholds": thresholds.__dict__ if hasattr(thresholds, "__dict__") else {
            "urgent": thresholds.urgent, "set_aside": thresholds.set_aside, "model_notice": thresholds.model_notice},
        "dev_crisis": dev_crisis,
        "act_bias": [float(b) for b in bias],
        "dev_acts": {"macro_f1": dev_macro, **{c: f for c, f in zip(ACT_CLASSES, dev_per, strict=True)}},
    }
    return model, report


def split_ids(crisis: list[ds.CrisisExample], acts: list[ds.ActExample]) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for e in [*crisis, *acts]:
        out.setdefault(e.source, {}).setdefault(e.split, []).append(e.id)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.text_cues", description=__doc__.splitlines()[0])
    parser.add_argument("--write-splits", action="store_true", help="write training/data/splits.json and stop")
    parser.add_argument("--only", choices=("shipped", "all_data"), help="train one of the two models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    crisis, acts = load_all()
    ids = split_ids(crisis, acts)
    if args.write_splits:
        SPLITS_FILE.write_text(json.dumps(ids, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {SPLITS_FILE}")
        return 0
    if SPLITS_FILE.is_file() and json.loads(SPLITS_FILE.read_text(encoding="utf-8")) != ids:
        print("training: the splits differ from training/data/splits.json (data or split rule changed)", file=sys.stderr)
        return 1
    cache = EmbeddingCache()
    detector = RiskDetector()
    recipes = [Recipe("shipped", True), Recipe("all_data", False)]
    reports = {}
    for recipe in recipes:
        if args.only and recipe.name != args.only:
            continue
        model, report = train(recipe, cache, crisis, acts, detector)
        path = SHIPPED_MODEL if recipe.shippable_only else ALL_DATA_MODEL
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **model.to_arrays())
        report["file"] = str(path.relative_to(REPO))
        reports[recipe.name] = report
        print(json.dumps({recipe.name: report}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
