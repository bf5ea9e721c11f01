"""Offline tuner for the caption policy: paces audio on a simulated clock and charges real inference time.

    python -m bench.captions_sim --manifest tests/data/wer_manifest.tsv --json out.json
    python -m bench.captions_sim --manifest tests/data/wer_manifest.tsv --policy la2   # plain LocalAgreement-2
    python -m bench.captions_sim --record tests/data/asr --only jfk                    # test recordings

Each utterance is fed in 20 ms chunks (with silence around it); when the policy asks for a decode, the
real model runs it and its measured wall time (times ``--slowdown``) passes on the stream clock before
the result is applied. Single stream; ``bench.captions`` measures the real path and concurrency.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis.captions import (
    SAMPLE_RATE,
    CaptionPolicy,
    CaptionPolicySettings,
    DecodeRequest,
    TranscriptionResult,
)
from analysis.events import CaptionEvent, CaptionFinal, CaptionPartial
from analysis.text_normalize import normalize_text

CHUNK = 320  # 20 ms, like the uplink's Opus frames
PAD_BEFORE_S = 0.5
PAD_AFTER_S = 1.5


@dataclass(frozen=True, slots=True)
class ManifestItem:
    path: Path
    duration_s: float
    source: str
    reference: str
    split: str = "dev"  # manifests without a split column are development data
    speaker: str = ""


def load_manifest(path: Path, split: str | None = None) -> list[ManifestItem]:
    """Manifest rows (path relative to the manifest), optionally only those of one ``split``."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    items = [
        ManifestItem(path.parent / r["path"], float(r["duration_s"]), r["source"], r["reference"],
                     r.get("split") or "dev", r.get("speaker") or "")
        for r in rows
    ]
    return [i for i in items if split in (None, "all", i.split)]


def load_audio(path: Path) -> npt.NDArray[np.float32]:
    from faster_whisper import decode_audio  # type: ignore[import-untyped]

    return np.asarray(decode_audio(str(path), sampling_rate=SAMPLE_RATE), dtype=np.float32)


def pad_audio(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.concatenate(
        [np.zeros(int(PAD_BEFORE_S * SAMPLE_RATE), np.float32), audio,
         np.zeros(int(PAD_AFTER_S * SAMPLE_RATE), np.float32)]
    )


# ------------------------------------------------------------------------------------------- metrics
@dataclass(slots=True)
class RefWord:
    key: str
    end_s: float  # stream time of the word's end


def offline_words(result: TranscriptionResult, offset_s: float) -> list[RefWord]:
    out = []
    for seg in result.segments:
        for w in seg.words:
            for key in normalize_text(w.text).split():
                out.append(RefWord(key, offset_s + w.end_s))
    return out


def _keys(text: str) -> list[str]:
    return normalize_text(text).split()


@dataclass(slots=True)
class TimedEvent:
    """A caption event as a client saw it: ``at_s`` is when it arrived (stream clock)."""

    kind: str  # "partial" | "final"
    utterance_id: int
    text: str
    at_s: float


def word_latencies(events: Sequence[TimedEvent], ref: Sequence[RefWord]) -> tuple[list[float], list[float]]:
    """Per offline word: seconds from its end to its first appearance in any caption / in a final line.

    The screen is modelled as a client draws it: finals accumulate, a partial replaces the previous
    partial, and a final clears the partial line. Words the captions never matched are left out.
    """
    ref_keys = [w.key for w in ref]
    first_any: list[float | None] = [None] * len(ref)
    first_final: list[float | None] = [None] * len(ref)
    finals: list[str] = []
    partial: list[str] = []

    def mark(shown: list[str], into: list[float | None], at_s: float) -> None:
        matcher = difflib.SequenceMatcher(None, ref_keys, shown, autojunk=False)
        for block in matcher.get_matching_blocks():
            for i in range(block.a, block.a + block.size):
                if into[i] is None:
                    into[i] = at_s

    for ev in sorted(events, key=lambda e: e.at_s):
        if ev.kind == "final":
            finals.extend(_keys(ev.text))
            partial = []
            mark(finals, first_final, ev.at_s)
        else:
            partial = _keys(ev.text)
        mark(finals + partial, first_any, ev.at_s)
    partial_lat = [t - w.end_s for t, w in zip(first_any, ref, strict=True) if t is not None]
    final_lat = [t - w.end_s for t, w in zip(first_final, ref, strict=True) if t is not None]
    return partial_lat, final_lat


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus WER in percent after normalisation."""
    import jiwer

    refs = [normalize_text(r) or "<empty>" for r in references]
    hyps = [normalize_text(h) for h in hypotheses]
    return 100.0 * float(jiwer.wer(refs, hyps))


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values), q))


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


# ------------------------------------------------------------------------------------------- simulation
@dataclass(slots=True)
class SimCall:
    kind: str
    start_s: float
    end_s: float
    prompt: str
    beam_size: int
    issued_at_s: float
    wall_s: float
    result: TranscriptionResult


@dataclass(slots=True)
class SimRun:
    events: list[TimedEvent] = field(default_factory=list)
    raw_events: list[CaptionEvent] = field(default_factory=list)
    calls: list[SimCall] = field(default_factory=list)
    vad: list[float] = field(default_factory=list)
    decode_wall_s: float = 0.0

    @property
    def final_text(self) -> str:
        return " ".join(e.text for e in self.events if e.kind == "final")


Decoder = Callable[[DecodeRequest], TranscriptionResult]


def simulate(
    audio: npt.NDArray[np.float32],
    decode: Decoder,
    vad_probs: Sequence[float],
    settings: CaptionPolicySettings,
    *,
    fixed_delay_s: float | None = None,
    slowdown: float = 1.0,
    policy: CaptionPolicy | None = None,
    cpu_parallelism: float | None = None,
) -> SimRun:
    """Feed ``audio`` in 20 ms chunks; a decode's result lands after its wall time (or a fixed delay)."""
    policy = policy or CaptionPolicy("sim", settings)
    run = SimRun(vad=list(vad_probs))
    pending: tuple[DecodeRequest, TranscriptionResult, float] | None = None
    fed = 0
    vad_used = 0

    def record(events: list[CaptionEvent]) -> None:
        for ev in events:
            run.raw_events.append(ev)
            kind = "final" if isinstance(ev, CaptionFinal) else "partial"
            assert isinstance(ev, CaptionFinal | CaptionPartial)
            run.events.append(TimedEvent(kind, ev.utterance_id, ev.text, ev.at_s))

    def start_next(now_s: float) -> tuple[DecodeRequest, TranscriptionResult, float] | None:
        req = policy.next_request()
        if req is None:
            return None
        started, cpu0 = time.perf_counter(), time.process_time()
        result = decode(req)
        wall = time.perf_counter() - started
        if cpu_parallelism:
            # On a shared machine wall time measures the neighbours; CPU time / parallelism does not.
            wall = (time.process_time() - cpu0) / cpu_parallelism
        run.decode_wall_s += wall
        run.calls.append(
            SimCall(req.kind, req.start_s, req.end_s, req.prompt, req.beam_size, now_s, wall, result)
        )
        delay = fixed_delay_s if fixed_delay_s is not None else wall * slowdown
        return req, result, now_s + delay

    while fed < len(audio):
        chunk = audio[fed : fed + CHUNK]
        fed += len(chunk)
        windows_done = fed // 512
        probs = list(vad_probs[vad_used:windows_done])
        vad_used = windows_done
        record(policy.feed(chunk, probs))
        now = fed / SAMPLE_RATE
        if pending is not None and pending[2] <= now:
            record(policy.on_result(pending[0], pending[1], now_s=pending[2]))
            pending = None
        if pending is None:
            pending = start_next(now)
    record(policy.flush())
    now = fed / SAMPLE_RATE
    for _ in range(1000):
        if pending is not None:
            now = max(now, pending[2])
            record(policy.on_result(pending[0], pending[1], now_s=now))
            pending = None
        pending = start_next(now)
        if pending is None and not policy.pending:
            break
    return run


class LocalAgreement2(CaptionPolicy):
    """Baseline: whisper_streaming's LocalAgreement-2 as commonly run: fixed 1 s chunks, no VAD gating,
    beam search for every decode, finals only when a sentence ends (or at the end of the stream)."""

    def __init__(self, stream_id: str, settings: CaptionPolicySettings | None = None) -> None:
        base = settings or CaptionPolicySettings()
        super().__init__(
            stream_id,
            dataclasses.replace(
                base,
                vad_threshold=-1.0,
                vad_neg_threshold=-1.0,
                first_partial_s=1.0,
                partial_step_s=1.0,
                partial_beam_size=base.final_beam_size,
                partial_window_pad_s=None,  # Whisper's 30 s window for every decode
                final_hold_s=1e9,
                max_buffer_s=15.0,
            ),
        )


# ------------------------------------------------------------------------------------------- signals
def make_signals(seconds: float = 6.0, seed: int = 7) -> dict[str, npt.NDArray[np.float32]]:
    """Non-speech test signals: white and brown noise, hum, and a music-like melody with chords."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    white = rng.normal(0, 0.1, n)
    brown = np.cumsum(rng.normal(0, 1, n))
    brown = 0.3 * (brown - np.convolve(brown, np.ones(801) / 801, mode="same")) / 40
    hum = 0.2 * np.sin(2 * np.pi * 50 * t) + 0.1 * np.sin(2 * np.pi * 150 * t) + rng.normal(0, 0.01, n)
    notes = [261.6, 329.6, 392.0, 523.3, 440.0, 349.2, 293.7, 246.9]
    music = np.zeros(n)
    step = SAMPLE_RATE // 4
    for k, start in enumerate(range(0, n, step)):
        seg_t = np.arange(min(step, n - start)) / SAMPLE_RATE
        env = np.exp(-3 * seg_t)
        f = notes[k % len(notes)]
        chord = sum(np.sin(2 * np.pi * f * m * seg_t) / (i + 1) for i, m in enumerate((1.0, 1.26, 1.5, 2.0)))
        music[start : start + len(seg_t)] = 0.15 * env * chord
    return {
        name: np.clip(sig, -1, 1).astype(np.float32)
        for name, sig in {"white_noise": white, "brown_noise": brown, "hum": hum, "music": music}.items()
    }


def write_wav(path: Path, audio: npt.NDArray[np.float32]) -> None:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2").tobytes())


def record_signals(out_dir: Path, transcriber: Any) -> None:
    """Generate the signals as WAVs and record forced decodes of them (no VAD) for the guard tests."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for name, audio in make_signals().items():
        write_wav(out_dir / f"{name}.wav", audio)
        for beam in (1, 5):
            res = transcriber.transcribe(audio, beam_size=beam)
            results[f"{name}_beam{beam}"] = res.to_json()
            print(f"{name} beam {beam}: {res.text!r}", file=sys.stderr)
    (out_dir / "signals.json").write_text(json.dumps(
        {"note": "bench.captions_sim --record-signals: tiny.en int8 on generated signals, VAD bypassed",
         "results": results}, indent=1))


# ------------------------------------------------------------------------------------------- main
def summarize(rows: list[dict[str, Any]], partial: list[float], final: list[float], *, audio_s: float,
              decode_s: float, cpu_s: float, dropped_s: float) -> dict[str, Any]:
    return {
        "n": len(rows),
        "audio_s": round(audio_s, 2),
        "wer_offline": round(wer([r["reference"] for r in rows], [r["offline"] for r in rows]), 2),
        "wer_streaming": round(wer([r["reference"] for r in rows], [r["streaming"] for r in rows]), 2),
        "partial_latency_s": {"median": _r(median(partial)), "p95": _r(percentile(partial, 95))},
        "final_latency_s": {"median": _r(median(final)), "p95": _r(percentile(final, 95))},
        "real_time_factor": round(decode_s / audio_s, 3) if audio_s else None,
        "cpu_s_per_audio_s": round(cpu_s / audio_s, 3) if audio_s else None,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "dropped_audio_s": round(dropped_s, 3),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def print_table(title: str, summary: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}")
    header = f"{'source':<12}{'n':>4}{'audio s':>9}{'WER off':>9}{'WER str':>9}{'part med':>10}{'part p95':>10}"
    header += f"{'fin med':>9}{'fin p95':>9}{'RTF':>7}{'cpu/s':>7}{'drop s':>8}"
    print(header)
    for name, s in summary.items():
        def fmt(x: Any, w: int) -> str:
            return f"{'-' if x is None else x:>{w}}"
        print(
            f"{name:<12}{s['n']:>4}{s['audio_s']:>9}{s['wer_offline']:>9}{s['wer_streaming']:>9}"
            + fmt(s["partial_latency_s"]["median"], 10) + fmt(s["partial_latency_s"]["p95"], 10)
            + fmt(s["final_latency_s"]["median"], 9) + fmt(s["final_latency_s"]["p95"], 9)
            + fmt(s["real_time_factor"], 7) + fmt(s["cpu_s_per_audio_s"], 7) + fmt(s["dropped_audio_s"], 8)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, default=Path("tests/data/wer_manifest.tsv"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--policy", choices=["attune", "la2"], default="attune")
    parser.add_argument("--slowdown", type=float, default=1.0, help="charge inference time x this")
    parser.add_argument(
        "--charge", choices=["wall", "cpu"], default="cpu",
        help="charge measured wall time, or CPU time / --parallelism (robust when other jobs share the CPU)")
    parser.add_argument("--parallelism", type=float, default=1.4,
                        help="CPU seconds per wall second of one decode (measured on an idle 2-core machine)")
    parser.add_argument("--split", default="dev", help="manifest split to run: dev, test or all")
    parser.add_argument("--only", default=None, help="substring of paths to run")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--stride", type=int, default=1, help="use every Nth manifest item")
    parser.add_argument("--set", action="append", default=[],
                        help="policy setting NAME=VALUE (none: unset an optional one)")
    parser.add_argument("--record", type=Path, default=None, help="write replayable recordings here")
    parser.add_argument("--record-signals", type=Path, default=None, help="write signal WAVs + decodes here")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    from server.live.asr import AsrSettings, StreamingVad, WhisperTranscriber

    overrides: dict[str, Any] = {}
    for item in args.set:
        name, value = item.split("=", 1)
        current = getattr(CaptionPolicySettings(), name)
        kind = type(current)
        overrides[name] = (value if kind is str else None if value == "none"
                           else float(value) if current is None else kind(float(value)))
    settings = dataclasses.replace(CaptionPolicySettings(), **overrides)
    transcriber = WhisperTranscriber(AsrSettings(model=args.model, cpu_threads=args.threads))
    if args.record_signals:
        record_signals(args.record_signals, transcriber)
        return 0
    items = load_manifest(args.manifest, args.split)
    if args.only:
        items = [i for i in items if args.only in str(i.path)]
    items = items[:: args.stride]
    if args.limit:
        items = items[: args.limit]

    rows: list[dict[str, Any]] = []
    per_source: dict[str, tuple[list[float], list[float], float, float, float]] = {}
    cpu_started = time.process_time()
    for item in items:
        audio = pad_audio(load_audio(item.path))
        offline = transcriber.transcribe(audio[int(PAD_BEFORE_S * SAMPLE_RATE):])
        vad = StreamingVad()(audio)
        policy_cls = LocalAgreement2 if args.policy == "la2" else CaptionPolicy
        cpu0 = time.process_time()
        run = simulate(
            audio,
            lambda r: transcriber.transcribe(r.audio, prompt=r.prompt, beam_size=r.beam_size,
                                            window_s=r.window_s, single_pass=r.single_pass),
            vad,
            settings,
            fixed_delay_s=0.35 if args.record else None,
            slowdown=args.slowdown,
            policy=policy_cls("sim", settings),
            cpu_parallelism=args.parallelism if args.charge == "cpu" else None,
        )
        cpu = time.process_time() - cpu0
        partial, final = word_latencies(run.events, offline_words(offline, PAD_BEFORE_S))
        row: dict[str, Any] = {
            "path": str(item.path), "source": item.source, "reference": item.reference,
            "offline": offline.text, "streaming": run.final_text, "calls": len(run.calls),
        }
        rows.append(row)
        acc = per_source.setdefault(item.source, ([], [], 0.0, 0.0, 0.0))
        acc[0].extend(partial)
        acc[1].extend(final)
        per_source[item.source] = (acc[0], acc[1], acc[2] + len(audio) / SAMPLE_RATE,
                                   acc[3] + run.decode_wall_s, acc[4] + cpu)
        if normalize_text(row["offline"]) != normalize_text(row["streaming"]):
            print(f"  {item.path.name}: OFF {row['offline']!r}\n  {'':{len(item.path.name)}}  STR {row['streaming']!r}",
                  file=sys.stderr)
        if args.record:
            args.record.mkdir(parents=True, exist_ok=True)
            out = {
                "source": str(item.path),
                "reference": item.reference,
                "note": "recorded by bench.captions_sim --record: tiny.en int8 outputs; decode delay fixed",
                "samples": len(audio),
                "pad_before_s": PAD_BEFORE_S,
                "fixed_delay_s": 0.35,
                "vad": [round(p, 4) for p in vad],
                "offline": offline.to_json(),
                "calls": [
                    {"kind": c.kind, "start_s": round(c.start_s, 4), "end_s": round(c.end_s, 4),
                     "prompt": c.prompt, "beam_size": c.beam_size, "result": c.result.to_json()}
                    for c in run.calls
                ],
            }
            (args.record / f"{item.path.stem}.json").write_text(json.dumps(out, indent=1))
    cpu_total = time.process_time() - cpu_started
    summary: dict[str, dict[str, Any]] = {}
    all_p: list[float] = []
    all_f: list[float] = []
    audio_total = decode_total = cpu_sum = 0.0
    for source, (p, f, a, d, c) in per_source.items():
        summary[source] = summarize([r for r in rows if r["source"] == source], p, f, audio_s=a, decode_s=d,
                                    cpu_s=c, dropped_s=0.0)
        all_p += p
        all_f += f
        audio_total += a
        decode_total += d
        cpu_sum += c
    summary["overall"] = summarize(rows, all_p, all_f, audio_s=audio_total, decode_s=decode_total,
                                   cpu_s=cpu_sum, dropped_s=0.0)
    print_table(f"captions_sim policy={args.policy} (simulated clock, measured inference)", summary)
    print(f"cpu total {cpu_total:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"policy": args.policy, "settings": dataclasses.asdict(settings),
                                         "sources": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
