"""Would batching Whisper's encoder across streams help on this machine?

    python -m bench.asr_batch [--threads 1] [--seconds 3] [--json bench/results/asr_batch.json]

CTranslate2's Whisper encodes a batch of mel-feature windows in one call. This measures, on the bundled
tiny.en (int8, CPU, ``--threads`` threads), the encoder's CPU time per window for batches of 1, 2, 4 and 8
windows of 8 s (a partial's window), the 30 s window finals use, and for comparison one whole windowed
partial decode (features, encoder, generate, word alignment) of the same 7 s of speech.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from server.live.asr import AsrSettings, WhisperTranscriber

JFK = Path("tests/data/jfk/jfk.flac")


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
    for name, value in rows.items():
        print(f"{name:<40}{value:>8}")
    result = {"threads": args.threads, "model": "tiny.en int8 (bundled)", "cpu_ms": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
