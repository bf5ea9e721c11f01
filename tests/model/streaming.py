"""Helpers shared by the real-model tests: read clips as int16 16 kHz, stream them through CaptionStream."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np

from analysis.captions import CaptionPolicySettings
from analysis.events import CaptionEvent
from server.live.asr import AsrPool
from server.live.caption_stream import CaptionStream

DATA = Path(__file__).parents[1] / "data"  # the recordings the tests use, with their SOURCE.md files


def load(path: Path) -> np.ndarray:
    """Any audio file, as int16 mono 16 kHz."""
    from faster_whisper import decode_audio

    audio = decode_audio(str(path), sampling_rate=16000)
    return np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)


def read_wav(path: Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV, as int16."""
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


async def stream(
    pool: AsrPool, audio: np.ndarray, *, speed: float = 4.0, window_pad: float | None = 1.0,
    stream_id: str = "p-test",
) -> list[CaptionEvent]:
    """Feed 20 ms chunks at ``speed`` x real time, with silence around, and collect the events."""
    events: list[CaptionEvent] = []
    settings = CaptionPolicySettings(partial_window_pad_s=window_pad)
    s = CaptionStream(pool, stream_id, events.append, time_offset_s=100.0, settings=settings)
    padded = np.concatenate([np.zeros(8000, np.int16), audio, np.zeros(24000, np.int16)])
    for k in range(0, len(padded), 320):
        s.feed(padded[k : k + 320])
        await asyncio.sleep(0.02 / speed)
    await s.close(flush=True)
    assert s.dropped_s == 0.0 and s.backlog_s == 0.0
    return events
