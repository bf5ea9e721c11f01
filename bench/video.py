"""CPU cost per analysed video frame (320x240 RGB) of the face cue engine, by stage.

Run ``python -m bench.video``: prints a table and writes ``bench/results/video.json``.

Scenarios use the GRID talking-face clips played back and forth at 5 fps: a steady face (MediaPipe
tracks it from frame to frame), a fidgeting face (random shifts and rotations, so tracking is lost
more often), and the studio background with nobody in it (the face detector runs on every frame).
CPU time is the process's (``time.process_time``), so MediaPipe's own worker threads are counted.
The expression stage runs the model on only some frames (about two a second, frontal faces only), so
its per-frame median is ~0; the "per estimate" columns give the cost on the frames where it ran.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from analysis.face import FaceBox, observation_from_landmarks
from analysis.video import ExpressionSettings, ExpressionStage, FaceCueTracker
from server.media.expression_model import ExpressionEstimator
from server.media.face_mesh import FaceMeshObserver

REPO = Path(__file__).resolve().parent.parent
GRID = REPO / "tests" / "data" / "grid_av_faces"
CLIPS = ("bbaf2n", "id2_vcd_swwp2s", "lwbsza", "swiz3n")
FPS = 5
STAGES = ("mesh", "pose", "cues", "expression", "total")
Frame = npt.NDArray[np.uint8]


def decode(name: str) -> list[Frame]:
    with av.open(str(GRID / f"{name}.mpg")) as container:
        return [f.to_ndarray(format="rgb24", width=320, height=240) for f in container.decode(video=0)]


def played(frames: list[Frame], duration_s: float) -> list[Frame]:
    back_and_forth = frames + frames[-2:0:-1]
    return [back_and_forth[(k * 25 // FPS) % len(back_and_forth)] for k in range(round(duration_s * FPS))]


def fidgeting(frames: list[Frame], seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    moved = []
    for frame in frames:
        matrix = cv2.getRotationMatrix2D((160.0, 120.0), float(rng.uniform(-8, 8)), 1.0)
        matrix[:, 2] += rng.uniform(-12, 12, 2)
        moved.append(cv2.warpAffine(frame, matrix, (320, 240), borderMode=cv2.BORDER_REPLICATE))
    return moved


def empty_room(frames: list[Frame]) -> list[Frame]:
    blank = []
    for frame in frames:
        copy = frame.copy()
        copy[:, 40:290] = frame[8, 8]
        blank.append(copy)
    return blank


class CountingEstimator:
    def __init__(self) -> None:
        self.model = ExpressionEstimator()
        self.calls = 0

    def estimate(self, frame_rgb: Frame, face_box_px: FaceBox, roll_deg: float) -> npt.NDArray[np.float64]:
        self.calls += 1
        return self.model.estimate(frame_rgb, face_box_px, roll_deg)


def measure(frames: list[Frame]) -> dict[str, list[float]]:
    """Per-frame CPU and wall milliseconds of each stage, on a fresh engine (``FaceCueEngine.feed``'s
    steps, timed one by one). ``per_estimate_*`` hold the expression stage's cost where it ran."""
    observer = FaceMeshObserver()
    tracker = FaceCueTracker("bench")
    model = CountingEstimator()
    expression = ExpressionStage("bench", ExpressionSettings(), model)
    samples: dict[str, list[float]] = {f"{stage}_{kind}": [] for stage in STAGES for kind in ("cpu", "wall")}
    samples.update(per_estimate_cpu=[], per_estimate_wall=[])
    try:
        for k, frame in enumerate(frames):
            marks = [(time.process_time(), time.perf_counter())]
            points = observer.landmarks(frame)
            marks.append((time.process_time(), time.perf_counter()))
            observation = None if points is None else observation_from_landmarks(points)
            marks.append((time.process_time(), time.perf_counter()))
            tracker.feed(observation, k / FPS)
            marks.append((time.process_time(), time.perf_counter()))
            estimates_before = model.calls
            assert tracker.features is not None
            expression.feed(frame, observation, tracker.features, k / FPS)
            marks.append((time.process_time(), time.perf_counter()))
            for stage, (start, end) in zip(STAGES, [*itertools.pairwise(marks), (marks[0], marks[-1])], strict=True):
                samples[f"{stage}_cpu"].append((end[0] - start[0]) * 1000.0)
                samples[f"{stage}_wall"].append((end[1] - start[1]) * 1000.0)
            if model.calls > estimates_before:
                samples["per_estimate_cpu"].append(samples["expression_cpu"][-1])
                samples["per_estimate_wall"].append(samples["expression_wall"][-1])
    finally:
        observer.close()
    return samples


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"median_ms": float(np.median(values)), "p95_ms": float(np.percentile(values, 95)), "count": len(values)}
        for name, values in samples.items()
        if values
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30.0, help="stream length per clip and scenario")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "video.json")
    args = parser.parse_args()

    clips = {name: decode(name) for name in CLIPS}
    scenarios = {
        "steady face": [f for frames in clips.values() for f in played(frames, args.seconds)],
        "fidgeting face": [
            f for i, frames in enumerate(clips.values()) for f in fidgeting(played(frames, args.seconds), i)
        ],
        "empty room": [f for frames in clips.values() for f in empty_room(played(frames, args.seconds))],
    }
    measure(scenarios["steady face"][:20])  # warm-up: graph start and first detections
    results: dict[str, Any] = {
        "frame": "320x240 RGB",
        "fps": FPS,
        "cpu": platform.processor() or platform.machine(),
        "budget_cpu_ms": 15.0,
        "scenarios": {},
    }
    print(
        f"{'scenario':<16} {'frames':>6}  "
        + "  ".join(f"{s + ' cpu med/p95':>20}" for s in STAGES)
        + "  total wall med  expression per estimate cpu med/p95 (n)"
    )
    for name, frames in scenarios.items():
        stats = summarise(measure(frames))
        results["scenarios"][name] = {"frames": len(frames), **stats}
        cells = "  ".join(
            f"{stats[s + '_cpu']['median_ms']:>9.2f} / {stats[s + '_cpu']['p95_ms']:>6.2f} ms" for s in STAGES
        )
        per_estimate = stats.get("per_estimate_cpu")
        estimates = (
            f"{per_estimate['median_ms']:>6.2f} / {per_estimate['p95_ms']:>5.2f} ms ({per_estimate['count']})"
            if per_estimate
            else "not run (no face)"
        )
        print(f"{name:<16} {len(frames):>6}  {cells}  {stats['total_wall']['median_ms']:>8.2f} ms      {estimates}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
