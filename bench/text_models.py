"""Shared pieces of the text-cue benchmarks (bench.crisis_real, bench.acts): models, metrics, timing."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from analysis.text_model import FloatArray, TextCueModel

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "analysis" / "models" / "text_cues.npz"
ALL_DATA = REPO / "training" / "cache" / "text_cues_all.npz"
RESULTS = REPO / "bench" / "results"


def load_model(path: Path) -> TextCueModel:
    with np.load(path) as arrays:
        return TextCueModel.from_arrays(dict(arrays))


def models() -> dict[str, TextCueModel]:
    """The shipped model always; the all-data model when training has produced it on this machine."""
    out = {"rules+model (shipped)": load_model(SHIPPED)}
    if ALL_DATA.is_file():
        out["rules+model (all data)"] = load_model(ALL_DATA)
    return out


class CachedEncoder:
    """The real encoder behind the training cache: vectors identical to a live call, computed once."""

    def __init__(self) -> None:
        from training.embeddings import EmbeddingCache

        self.cache = EmbeddingCache()

    def encode(self, texts: Sequence[str]) -> FloatArray:
        return self.cache.embed(list(texts))

    def warm(self, texts: Sequence[str]) -> None:
        self.cache.embed(list(texts))


def cpu_ms_per_line(fn: Callable[[str], object], texts: Sequence[str], passes: int = 3) -> dict[str, float]:
    """CPU time of the calling thread per line (best of `passes` per line), so other load on a shared
    machine inflates it less than wall time would. The encoder runs with one intra-op thread, so the
    calling thread's CPU time is all of it."""
    times: list[float] = []
    for text in texts:
        best = float("inf")
        for _ in range(passes):
            t0 = time.thread_time()
            fn(text)
            best = min(best, time.thread_time() - t0)
        times.append(best * 1000.0)
    return {
        "mean": statistics.fmean(times),
        "p50": statistics.median(times),
        "p95": statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times),
        "max": max(times),
        "lines": len(times),
    }


def print_cpu(heading: str, block: Mapping[str, Mapping[str, float]]) -> None:
    """One ``cpu_ms_per_line`` result per system, under ``heading``."""
    print(f"\n{heading}:")
    for k in ("rules alone", "rules + encoder + head"):
        c = block[k]
        print(f"  {k:<24} mean {c['mean']:.2f} ms, p50 {c['p50']:.2f} ms, p95 {c['p95']:.2f} ms")


def run_split_bench(
    prog: str,
    doc: str,
    default_out: Path,
    evaluate: Callable[[list[str]], dict[str, object]],
    print_result: Callable[[dict[str, object], list[str]], None],
    argv: list[str] | None,
) -> int:
    """The command line both text-cue benchmarks share: ``--split dev|test|both`` and ``--out`` (JSON)."""
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args(argv)
    splits = ["dev", "test"] if args.split == "both" else [args.split]
    result = evaluate(splits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_result(result, splits)
    print(f"\nwrote {args.out}")
    return 0
