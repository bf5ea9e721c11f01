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


def _decode_pcm(source: Path) -> np.ndarray:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
    chunks: list[np.ndarray] = []
    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype("<i2")


def to_wav(source: Path, target: Path, *, max_seconds: float | None = None) -> Path:
    """Decode any audio file to 48 kHz mono 16-bit PCM WAV."""
    pcm = _decode_pcm(source)
    if max_seconds is not None:
        pcm = pcm[: int(max_seconds * WAV_RATE)]
    return _write_wav(pcm, target)


def joined_wav(sources: list[Path], target: Path, *, pause_s: float) -> Path:
    """Several recordings one after another, each followed by ``pause_s`` of silence (a speaker who says
    one sentence after another), as one 48 kHz mono WAV."""
    silence = np.zeros(int(pause_s * WAV_RATE), dtype="<i2")
    parts: list[np.ndarray] = []
    for source in sources:
        parts += [_decode_pcm(source), silence]
    return _write_wav(np.concatenate(parts), target)


def _write_wav(pcm: np.ndarray, target: Path) -> Path:
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


def _yuv_frames(source: Path) -> tuple[list[np.ndarray], int, int]:
    frames: list[np.ndarray] = []
    width = height = 0
    with av.open(str(source)) as container:
        for frame in container.decode(container.streams.video[0]):
            width, height = frame.width - frame.width % 2, frame.height - frame.height % 2
            frames.append(np.ascontiguousarray(frame.reformat(width=width, height=height, format="yuv420p")
                                               .to_ndarray(), dtype=np.uint8))
    return frames, width, height


def face_then_empty_y4m(source: Path, target: Path, *, face_s: float, empty_s: float, fps: int = 25) -> Path:
    """A camera that shows the clip's face for ``face_s`` (played forwards and backwards, so there is no
    jump), then an empty picture (the clip's average colours, nobody in it) for ``empty_s``; Chromium loops
    the file, so the face comes and goes: a real face leaving the frame, as the face cue must see it."""
    frames, width, height = _yuv_frames(source)
    bounce = frames + frames[-2:0:-1]
    # Nobody there: each plane (Y, then U and V a quarter each) filled with its mean, so the picture is the
    # studio's flat blue without the person.
    empty = bounce[0].copy()
    quarter = height // 4
    for rows in (slice(0, height), slice(height, height + quarter), slice(height + quarter, None)):
        empty[rows] = int(bounce[0][rows].mean())
    with target.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for i in range(round(face_s * fps)):
            out.write(b"FRAME\n")
            out.write(bounce[i % len(bounce)].tobytes())
        for _ in range(round(empty_s * fps)):
            out.write(b"FRAME\n")
            out.write(empty.tobytes())
    return target
