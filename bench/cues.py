"""CPU cost of the voice and conversation cue engines per second of real audio.

Run ``python -m bench.cues``: prints a table and writes ``bench/results/cues.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
SAMPLE_RATE = 16_000


def load_mono_16k(path: Path, channel: int | None = None) -> NDArray[np.int16]:
    """Decode any audio file to 16 kHz int16 mono (or one channel of it) with PyAV."""
    layout = "mono" if channel is None else "stereo"
    resampler = av.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
    pieces: list[NDArray[np.generic]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                pieces.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1))
    samples = np.concatenate(pieces).astype(np.int16)
    if channel is not None:
        samples = samples.reshape(-1, 2)[:, channel].copy()
    return samples


def _lj_session() -> tuple[NDArray[np.int16], list[tuple[float, str]]]:
    """All LJ Speech clips with 0.4 s gaps, and each clip's transcript at its end time."""
    listing = DATA / "ljspeech_subset" / "ljs_audio_text_filelist_LJ001-0001_0032.txt"
    texts = {}
    for line in listing.read_text().splitlines():
        name, _, text = line.partition("|")
        texts[Path(name).stem] = text
    gap = np.zeros(round(0.4 * SAMPLE_RATE), dtype=np.int16)
    pieces: list[NDArray[np.int16]] = []
    lines: list[tuple[float, str]] = []
    at = 0
    for path in sorted((DATA / "ljspeech_subset" / "wavs").glob("*.flac")):
        clip = load_mono_16k(path)
        pieces += [clip, gap]
        at += clip.size + gap.size
        lines.append((at / SAMPLE_RATE, texts[path.stem]))
    return np.concatenate(pieces), lines


def bench_voice(audio: NDArray[np.int16], chunk: int, repeats: int) -> dict[str, float]:
    from analysis.voice import VoiceAnalyzer

    best = float("inf")
    cues = 0
    for _ in range(repeats):
        analyzer = VoiceAnalyzer("bench")
        started = time.process_time()
        for offset in range(0, audio.size, chunk):
            cues += len(analyzer.feed(audio[offset : offset + chunk], offset / SAMPLE_RATE))
        best = min(best, time.process_time() - started)
    seconds = audio.size / SAMPLE_RATE
    return {"audio_s": round(seconds, 1), "chunk_ms": 1000 * chunk / SAMPLE_RATE,
            "cpu_ms_per_audio_s": round(1000 * best / seconds, 3), "cues": cues // repeats}


def bench_conversation(audio: NDArray[np.int16], repeats: int) -> dict[str, float]:
    """Edges of a real conversation (Katie/Steve, tiled), timer ticks every 100 ms, summary each second."""
    from analysis.conversation import ConversationAnalyzer, Role
    from analysis.voice import VoiceActivity, VoiceAnalyzer

    vad = VoiceAnalyzer("mix")
    vad.feed(audio, 0.0)
    vad.feed(np.zeros(SAMPLE_RATE, dtype=np.int16), audio.size / SAMPLE_RATE)
    edges = vad.take_activity()
    length = audio.size / SAMPLE_RATE + 1.0
    tiles = 20
    # Alternate speakers per segment: the costs do not depend on who is who.
    session = [VoiceActivity(("c", "k")[(i // 2) % 2], e.at_s + tile * length, e.speaking)
               for tile in range(tiles) for i, e in enumerate(edges)]
    seconds = tiles * length
    best = float("inf")
    for _ in range(repeats):
        conversation = ConversationAnalyzer({"c": Role.COUNSELOR, "k": Role.CLIENT})
        started = time.process_time()
        position = 0
        for tick in range(int(seconds * 10)):
            now = tick / 10
            batch = []
            while position < len(session) and session[position].at_s <= now:
                batch.append(session[position])
                position += 1
            conversation.feed(batch, now)
            if tick % 10 == 0:
                conversation.summary(now)
        best = min(best, time.process_time() - started)
    return {"session_s": round(seconds, 1), "edges": len(session),
            "cpu_ms_per_session_s": round(1000 * best / seconds, 3)}


def bench_words(lines: list[tuple[float, str]], audio_s: float, repeats: int) -> dict[str, float]:
    from analysis.words import WordCues

    best = float("inf")
    for _ in range(repeats):
        words = WordCues()
        started = time.process_time()
        for at_s, text in lines:
            words.feed("bench", "client", text, at_s)
        best = min(best, time.process_time() - started)
    return {"lines": len(lines), "cpu_ms_per_audio_s": round(1000 * best / audio_s, 3)}


def bench_hints(repeats: int) -> dict[str, float]:
    from analysis.events import Cue, Severity
    from analysis.hints import HintPolicy

    cues = [Cue(i * 0.5, f"p{i % 4}", f"k{i % 7}", Severity.INFO, f"s{i}") for i in range(2000)]
    best = float("inf")
    for _ in range(repeats):
        policy = HintPolicy()
        started = time.process_time()
        for cue in cues:
            policy.feed([cue], cue.at_s)
        best = min(best, time.process_time() - started)
    return {"cues": len(cues), "cpu_us_per_cue": round(1e6 * best / len(cues), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "cues.json")
    args = parser.parse_args()
    lj, lines = _lj_session()
    conversation_audio = load_mono_16k(DATA / "azure_katiesteve" / "katiesteve.wav")
    voice_live = bench_voice(lj, 320, args.repeats)
    voice_batch = bench_voice(lj, SAMPLE_RATE, args.repeats)
    conversation = bench_conversation(conversation_audio, args.repeats)
    words = bench_words(lines, lj.size / SAMPLE_RATE, args.repeats)
    hints = bench_hints(args.repeats)
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
        "voice_20ms_chunks": voice_live,
        "voice_1s_chunks": voice_batch,
        "conversation": conversation,
        "words": words,
        "hints": hints,
    }
    rows = [
        ("voice, 20 ms chunks (live)", voice_live["cpu_ms_per_audio_s"], "ms CPU / s audio"),
        ("voice, 1 s chunks", voice_batch["cpu_ms_per_audio_s"], "ms CPU / s audio"),
        ("conversation (2 speakers)", conversation["cpu_ms_per_session_s"], "ms CPU / s session"),
        ("words (text cues)", words["cpu_ms_per_audio_s"], "ms CPU / s audio"),
        ("hints", hints["cpu_us_per_cue"], "us CPU / cue"),
    ]
    print(f"{'engine':32} {'cost':>10}  unit")
    for name, value, unit in rows:
        print(f"{name:32} {value:>10.3f}  {unit}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
