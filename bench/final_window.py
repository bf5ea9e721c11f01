"""How much encoder window a final decode needs: WER and CPU per final for several windows.

    python -m bench.final_window --split dev|test [--json bench/results/final_window_SPLIT.json] [--rows TEXT]

Each clip of ``tests/data/speech/manifest.tsv`` (the split asked for) is cut into utterances by Silero VAD
(600 ms of silence ends one, 200 ms of padding kept: about what a live final receives) and every utterance
is decoded as a final is (beam 5, word timestamps) in Whisper's 30 s window, with faster-whisper's own
temperature fallback (up to six temperatures of five samples each while the text looks wrong), with the
server's (three temperatures, one sample) and without, and in windows of the utterance's
audio plus a pad (at least a minimum; no fallback, as for any windowed decode). The clip's WER is scored on
its utterances' texts joined; CPU is process time per final on one thread (mean, p95 and the slowest).
Bundled tiny.en, int8.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jiwer

from analysis.captions import SAMPLE_RATE, CaptionPolicy, padded_window_s
from analysis.text_normalize import normalize_text
from bench.captions_sim import load_audio, load_manifest
from server.live.asr import AsrSettings, WhisperTranscriber

MANIFEST = Path("tests/data/speech/manifest.tsv")
# name: ((pad after the audio, minimum window) in seconds, None for Whisper's 30 s window or "policy" for
# the live finals' (``CaptionPolicy.final_window_s``, as the server decodes them); temperature
# fallback: "default" (AsrSettings' three temperatures, one sample each, where the server uses them: beam
# decodes in the 30 s window), "always" (those, for every decode of the row, windowed ones too),
# "faster-whisper" (its own six, best of five) or None)
WINDOWS: dict[str, tuple[tuple[float, float] | str | None, str | None]] = {
    "30 s, faster-whisper's fallback": (None, "faster-whisper"),
    "30 s, fallback to 0.4": (None, "default"),
    # the live default: finals under CaptionPolicySettings.short_final_under_s in audio + 6 s, the rest as above
    "under 2 s in audio + 6 s, else 30 s (default)": ("policy", "default"),
    "the same, the short ones with the fallback too": ("policy", "always"),
    "30 s, no fallback": (None, None),
    "audio + 1 s, min 5 s (partials')": ((1.0, 5.0), None),
    "audio + 6 s, min 10 s": ((6.0, 10.0), None),
    "audio + 10 s, min 15 s": ((10.0, 15.0), None),
}
POLICY = CaptionPolicy("bench")
FASTER_WHISPER_FALLBACK = AsrSettings(cpu_threads=1, fallback_temperatures=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
                                      fallback_best_of=5)


def main(argv: list[str] | None = None) -> int:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["dev", "test"], default="dev")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--rows", help="only the rows whose name contains this; the JSON's other rows are kept")
    args = parser.parse_args(argv)
    windows = {name: spec for name, spec in WINDOWS.items() if args.rows is None or args.rows in name}
    if not windows:
        parser.error(f"no row matches {args.rows!r}")
    items = load_manifest(MANIFEST, args.split)
    transcribers = {"default": WhisperTranscriber(AsrSettings(cpu_threads=1)),
                    "faster-whisper": WhisperTranscriber(FASTER_WHISPER_FALLBACK)}
    hyps: dict[str, list[str]] = {name: [] for name in windows}
    cpu: dict[str, list[float]] = {name: [] for name in windows}
    refs: list[str] = []
    finals = 0
    for item in items:
        audio = load_audio(item.path)
        spans = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=600, speech_pad_ms=200))
        refs.append(normalize_text(item.reference))
        finals += len(spans)
        for name, (window, fallback) in windows.items():
            texts = []
            for span in spans:
                utterance = audio[span["start"] : span["end"]]
                audio_s = len(utterance) / SAMPLE_RATE
                if window == "policy":  # the live finals' window
                    window_s = POLICY.final_window_s(audio_s)
                else:
                    window_s = None if window is None else padded_window_s(audio_s, *window)
                started = time.process_time()
                transcriber = transcribers["faster-whisper" if fallback == "faster-whisper" else "default"]
                result = transcriber.transcribe(
                    utterance, beam_size=5, window_s=window_s,
                    temperature_fallback=(True if fallback == "always" else None if window == "policy"
                                          else fallback is not None))
                cpu[name].append(time.process_time() - started)
                texts.append(result.text)
            hyps[name].append(normalize_text(" ".join(texts)))
    rows = []
    for name in windows:
        times = sorted(cpu[name])
        rows.append({"window": name, "wer": round(100 * jiwer.wer(refs, hyps[name]), 2),
                     "cpu_ms_per_final": round(1000 * statistics.fmean(times)),
                     "cpu_ms_p95": round(1000 * times[int(0.95 * (len(times) - 1))]),
                     "cpu_ms_max": round(1000 * times[-1])})
    print(f"{args.split}: {len(items)} clips, {finals} finals")
    print(f"{'window':<40}{'WER %':>8}{'CPU ms / final':>16}{'p95':>8}{'max':>8}")
    for row in rows:
        print(f"{row['window']:<40}{row['wer']:>8}{row['cpu_ms_per_final']:>16}{row['cpu_ms_p95']:>8}"
              f"{row['cpu_ms_max']:>8}")
    out = args.json or Path(f"bench/results/final_window_{args.split}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.rows is not None and out.exists():  # the rows not rerun keep their earlier figures
        measured = {row["window"] for row in rows}
        earlier = [row for row in json.loads(out.read_text())["rows"] if row["window"] not in measured]
        rows = sorted([*earlier, *rows], key=lambda row: list(WINDOWS).index(row["window"])
                      if row["window"] in WINDOWS else len(WINDOWS))
    out.write_text(json.dumps({"split": args.split, "clips": len(items), "finals": finals, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
