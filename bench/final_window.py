"""How much encoder window a final decode needs: WER and CPU per final for several windows.

    python -m bench.final_window --split dev|test [--json bench/results/final_window_SPLIT.json]

Each clip of ``tests/data/speech/manifest.tsv`` (the split asked for) is cut into utterances by Silero VAD
(600 ms of silence ends one, 200 ms of padding kept: about what a live final receives) and every utterance
is decoded as a final is (beam 5, word timestamps) in Whisper's 30 s window (with its temperature
fallback) and in windows of the utterance's audio plus a pad (at least a minimum; no fallback, as for any
windowed decode). The clip's WER is scored on its utterances' texts joined; CPU is process time per final
on one thread. Bundled tiny.en, int8.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jiwer

from analysis.captions import SAMPLE_RATE, padded_window_s
from analysis.text_normalize import normalize_text
from bench.captions_sim import load_audio, load_manifest
from server.live.asr import AsrSettings, WhisperTranscriber

MANIFEST = Path("tests/data/speech/manifest.tsv")
# name: (pad after the audio, minimum window) in seconds; None: Whisper's 30 s window
WINDOWS: dict[str, tuple[float, float] | None] = {
    "30 s (Whisper's)": None,
    "audio + 1 s, min 5 s (partials')": (1.0, 5.0),
    "audio + 6 s, min 10 s": (6.0, 10.0),
    "audio + 10 s, min 15 s": (10.0, 15.0),
}


def main(argv: list[str] | None = None) -> int:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    items = load_manifest(MANIFEST, args.split)
    transcriber = WhisperTranscriber(AsrSettings(cpu_threads=1))
    hyps: dict[str, list[str]] = {name: [] for name in WINDOWS}
    cpu = dict.fromkeys(WINDOWS, 0.0)
    refs: list[str] = []
    finals = 0
    for item in items:
        audio = load_audio(item.path)
        spans = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=600, speech_pad_ms=200))
        refs.append(normalize_text(item.reference))
        finals += len(spans)
        for name, window in WINDOWS.items():
            texts = []
            for span in spans:
                utterance = audio[span["start"] : span["end"]]
                window_s = None if window is None else padded_window_s(
                    len(utterance) / SAMPLE_RATE, *window)
                started = time.process_time()
                texts.append(transcriber.transcribe(utterance, beam_size=5, window_s=window_s).text)
                cpu[name] += time.process_time() - started
            hyps[name].append(normalize_text(" ".join(texts)))
    rows = [{"window": name, "wer": round(100 * jiwer.wer(refs, hyps[name]), 2),
             "cpu_ms_per_final": round(1000 * cpu[name] / finals)} for name in WINDOWS]
    print(f"{args.split}: {len(items)} clips, {finals} finals")
    print(f"{'window':<36}{'WER %':>8}{'CPU ms / final':>16}")
    for row in rows:
        print(f"{row['window']:<36}{row['wer']:>8}{row['cpu_ms_per_final']:>16}")
    out = args.json or Path(f"bench/results/final_window_{args.split}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"split": args.split, "clips": len(items), "finals": finals, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
