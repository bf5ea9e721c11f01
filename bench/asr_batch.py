"""What batching partial decodes across streams saves on this machine.

    python -m bench.asr_batch [--threads 1] [--seconds 3] [--json bench/results/asr_batch.json]

CTranslate2's Whisper encodes and decodes a batch of windows in one call. This measures, on the bundled
tiny.en (int8, CPU, ``--threads`` threads), CPU time per window:

* the encoder alone, for batches of 1, 2, 4 and 8 windows of 8 s (a partial's window), and the 30 s window
  finals use;
* one whole windowed partial decode (features, encoder, generate, word alignment) of 7 s of speech;
* whole single-pass partial decodes of four speakers (LJ Speech / LibriSpeech / JFK, 2.5, 4 and 6 s of
  speech each, the minimum 5 s window or audio + 1 s), one call each against one ``transcribe_batch``
  (``server.live.batch_decode``) of 2 and of 4, beam 5 and greedy, and whether the batch gave each the
  same text.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from server.live.asr import AsrSettings, PartialDecode, WhisperTranscriber

JFK = Path("tests/data/jfk/jfk.flac")
SPEAKERS = [Path("tests/data") / p for p in (
    "ljspeech_subset/wavs/LJ001-0001.flac", "librispeech_samples/1089-134686-0000.flac",
    "librispeech_samples/2412-153948-0000.flac", "jfk/jfk.flac")]


def cpu_per_call(fn: Any, seconds: float) -> float:
    fn()
    started, n = time.process_time(), 0
    while time.process_time() - started < seconds:
        fn()
        n += 1
    return (time.process_time() - started) / n


def main(argv: list[str] | None = None) -> int:
    import ctranslate2
    from faster_whisper import decode_audio

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per measurement")
    parser.add_argument("--json", type=Path, default=Path("bench/results/asr_batch.json"))
    args = parser.parse_args(argv)
    transcriber = WhisperTranscriber(AsrSettings(cpu_threads=args.threads))
    model = transcriber._model  # faster-whisper's WhisperModel: .model is CTranslate2's, .feature_extractor
    audio = decode_audio(str(JFK), sampling_rate=16000)[: 16000 * 7]
    window = model.feature_extractor(audio, padding=16000)[:, :800].astype(np.float32)  # 8 s
    full = model.feature_extractor(audio, padding=16000 * 30)[:, :3000].astype(np.float32)  # 30 s

    def encode(features: np.ndarray, batch: int) -> Any:
        stacked = np.ascontiguousarray(np.stack([features] * batch))
        return model.model.encode(ctranslate2.StorageView.from_array(stacked), to_cpu=True)

    rows: dict[str, Any] = {}
    for batch in (1, 2, 4, 8):
        per_window = cpu_per_call(lambda b=batch: encode(window, b), args.seconds) / batch
        rows[f"encode_8s_batch_{batch}_ms_per_window"] = round(per_window * 1000, 1)
    rows["encode_30s_batch_1_ms"] = round(cpu_per_call(lambda: encode(full, 1), args.seconds) * 1000, 1)
    rows["partial_decode_7s_in_8s_window_ms"] = round(
        cpu_per_call(lambda: transcriber.transcribe(audio, beam_size=5, window_s=8.0), args.seconds) * 1000, 1)
    speakers = [decode_audio(str(p), sampling_rate=16000) for p in SPEAKERS]
    for speech_s in (2.5, 4.0, 6.0):
        audios = [a[: int(16000 * speech_s)] for a in speakers]
        window = max(5.0, float(np.ceil(speech_s + 1.0)))
        decodes = [PartialDecode(a, "", window) for a in audios]
        for beam in (5, 1):
            def apart(n: int, beam: int = beam, decodes: list[PartialDecode] = decodes) -> Any:
                return [transcriber.transcribe(d.audio, beam_size=beam, window_s=d.window_s, single_pass=True)
                        for d in decodes[:n]]
            key = f"partial_{speech_s:g}s_beam{beam}"
            rows[f"{key}_apart_ms"] = round(cpu_per_call(lambda: apart(4), args.seconds) / 4 * 1000, 1)
            for n in (2, 4):
                rows[f"{key}_batch{n}_ms"] = round(cpu_per_call(
                    lambda n=n, beam=beam, decodes=decodes: transcriber.transcribe_batch(decodes[:n], beam_size=beam),
                    args.seconds) / n * 1000, 1)
            same = [a.text == b.text for a, b in zip(apart(4), transcriber.transcribe_batch(decodes, beam_size=beam),
                                                    strict=True)]
            rows[f"{key}_batch4_same_text"] = sum(same)
    for name, value in rows.items():
        print(f"{name:<40}{value:>8}")
    result = {"threads": args.threads, "model": "tiny.en int8 (bundled)", "cpu_ms": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
