"""Turn the copied recordings into the files Chromium's fake capture devices play.

Chromium reads a WAV for the fake microphone and a Y4M (YUV4MPEG2, 4:2:0) for the fake camera; both
loop. ffmpeg is not available here, so PyAV decodes and the two containers are written by hand.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

WAV_RATE = 48_000


def to_wav(source: Path, target: Path, *, max_seconds: float | None = None) -> Path:
    """Decode any audio file to 48 kHz mono 16-bit PCM WAV."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    pcm = np.concatenate(chunks).astype("<i2")
    if max_seconds is not None:
        pcm = pcm[: int(max_seconds * WAV_RATE)]
    with wave.open(str(target), "wb") as out_file:
        out_file.setnchannels(1)
        out_file.setsampwidth(2)
        out_file.setframerate(WAV_RATE)
        out_file.writeframes(pcm.tobytes())
    return target


def to_y4m(source: Path, target: Path, *, fps: int = 25) -> Path:
    """Decode a video file's frames to a raw 4:2:0 Y4M file (frames as decoded, at ``fps``)."""
    with av.open(str(source)) as container, target.open("wb") as out:
        stream = container.streams.video[0]
        header_written = False
        for frame in container.decode(stream):
            # Even dimensions: 4:2:0 chroma planes are half size.
            width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
            yuv = frame.reformat(width=width, height=height, format="yuv420p").to_ndarray()
            if not header_written:
                out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
                header_written = True
            out.write(b"FRAME\n")
            out.write(np.ascontiguousarray(yuv, dtype=np.uint8).tobytes())
    return target
