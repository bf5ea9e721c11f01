"""Video cues: the cue logic on fake observations, then the real MediaPipe path on GRID talking faces.

The GRID clips are 3 s of a steady, frontal, talking face. Longer streams are made by playing a clip
forwards and backwards at 5 fps (no jump at the loop point); looking away, restlessness and absence
are simulated on those real frames: a local horizontal warp that pushes the nose sideways (a head
turn as the face mesh sees it), random per-frame shifts and rotations (fidgeting), and the person
painted over with the studio background.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from analysis.events import Cue, Severity
from analysis.face import RIGID_LANDMARKS, FaceObservation, observation_from_landmarks
from analysis.video import FaceCueEngine, FaceCueSettings, FaceCueTracker
from server.media.face_mesh import FaceMeshObserver, live_face_engine

GRID = Path(__file__).resolve().parents[1] / "data" / "grid_av_faces"
CLIPS = ("bbaf2n", "id2_vcd_swwp2s", "lwbsza", "swiz3n")
FPS = 5
Frame = npt.NDArray[np.uint8]


# ---------------------------------------------------------------- fakes for the cue logic


def observed(yaw: float = 0.0, pitch: float = 0.0, shift_px: float = 0.0) -> FaceObservation:
    base = np.stack([np.arange(len(RIGID_LANDMARKS), dtype=np.float64), np.zeros(len(RIGID_LANDMARKS))], 1)
    return FaceObservation(
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=0.0,
        gaze_x=0.0,
        face_width_px=100.0,
        rigid_points_px=base + shift_px,
    )


def run(tracker: FaceCueTracker, observations: list[FaceObservation | None], start_s: float = 0.0) -> list[Cue]:
    cues: list[Cue] = []
    for k, observation in enumerate(observations):
        cues.extend(tracker.feed(observation, start_s + k / FPS))
    return cues


def seconds(n: float) -> int:
    return round(n * FPS)


def kinds(cues: list[Cue]) -> list[str]:
    return [c.kind for c in cues]


def test_face_absent_after_hold_and_ended_after_return() -> None:
    tracker = FaceCueTracker("client-1")
    stream = [observed()] * seconds(5) + [None] * seconds(6) + [observed()] * seconds(3)
    cues = run(tracker, stream)
    assert kinds(cues) == ["video.face_absent", "video.face_absent.ended"]
    absent, ended = cues
    assert absent.severity is Severity.NOTICE and absent.participant_id == "client-1"
    assert absent.at_s == pytest.approx(5.0 + 3.0, abs=0.21)
    assert absent.evidence["since_s"] == pytest.approx(5.0)
    assert ended.at_s == pytest.approx(11.0 + 1.0, abs=0.21)
    assert ended.evidence["until_s"] == pytest.approx(11.0)
    assert ended.evidence["duration_s"] == pytest.approx(6.0)


def test_a_pause_for_camera_off_restarts_the_holds_and_ends_states_unannounced() -> None:
    """Camera off and on again: an absence that had been building for 2.4 s does not carry over (so a face
    missing for 1 s after the camera comes back is no cue), and an absence in progress ends without a
    "visible again" cue (the counselor was told "Camera turned off" instead)."""
    tracker = FaceCueTracker("c")
    cues = run(tracker, [observed()] * seconds(5) + [None] * seconds(2.4))
    tracker.pause()
    assert tracker.features is None
    cues += run(tracker, [None] * seconds(1) + [observed()] * seconds(3), start_s=30.0)
    assert cues == []
    # Without the pause the same frames give a cue, the moment the camera comes back.
    unpaused = FaceCueTracker("c")
    assert kinds(run(unpaused, [observed()] * seconds(5) + [None] * seconds(2.4))
                 + run(unpaused, [None] * seconds(1) + [observed()] * seconds(3), start_s=30.0)) == [
        "video.face_absent", "video.face_absent.ended"]
    # An absence already announced ends quietly at a pause; the next one is judged afresh.
    tracker = FaceCueTracker("c", FaceCueSettings(repeat_after_s=0.0))
    assert kinds(run(tracker, [observed()] * seconds(3) + [None] * seconds(4))) == ["video.face_absent"]
    tracker.pause()
    assert run(tracker, [observed()] * seconds(3), start_s=20.0) == []
    assert kinds(run(tracker, [None] * seconds(4), start_s=23.0)) == ["video.face_absent"]


def test_absence_supersedes_looking_away() -> None:
    tracker = FaceCueTracker("c")
    stream = [observed()] * seconds(10) + [observed(yaw=40.0)] * seconds(5) + [None] * seconds(10)
    stream += [observed()] * seconds(5)
    cues = run(tracker, stream)
    assert kinds(cues) == ["video.looking_away", "video.face_absent", "video.face_absent.ended"]
    assert tracker.features is not None and not tracker.features.looking_away


def test_brief_dropouts_raise_no_cue() -> None:
    tracker = FaceCueTracker("c")
    gap = [None] * seconds(2.6)
    stream = ([observed()] * seconds(3) + gap) * 6
    assert run(tracker, stream) == []
    assert tracker.features is not None and not tracker.features.face_present


def test_looking_away_is_measured_from_the_clients_own_neutral_pose() -> None:
    # A camera set off to the side: the client's neutral yaw is 30 degrees, which is not looking away.
    tracker = FaceCueTracker("c")
    neutral, turned = observed(yaw=30.0, pitch=5.0), observed(yaw=-5.0, pitch=5.0)
    cues = run(tracker, [neutral] * seconds(20) + [turned] * seconds(6) + [neutral] * seconds(3))
    assert kinds(cues) == ["video.looking_away", "video.looking_away.ended"]
    assert cues[0].at_s == pytest.approx(20.0 + 4.0, abs=0.21)
    assert cues[0].evidence["yaw_offset_deg"] == pytest.approx(-35.0)
    assert "turned" in cues[0].sentence
    assert cues[1].at_s == pytest.approx(26.0 + 1.5, abs=0.21)


def test_looking_down_is_named_as_such() -> None:
    tracker = FaceCueTracker("c")
    cues = run(tracker, [observed()] * seconds(10) + [observed(pitch=30.0)] * seconds(5))
    assert kinds(cues) == ["video.looking_away"] and "tilted down" in cues[0].sentence


def test_glances_shorter_than_the_hold_and_the_dead_band_do_not_flap() -> None:
    tracker = FaceCueTracker("c")
    glance = [observed(yaw=40.0)] * seconds(3) + [observed()] * seconds(2)
    cues = run(tracker, [observed()] * seconds(10) + glance * 8)
    assert cues == []
    # Hovering between the "back" (15) and "away" (25) thresholds neither starts nor ends an episode.
    tracker = FaceCueTracker("c")
    stream = [observed()] * seconds(60) + [observed(yaw=40.0)] * seconds(5) + [observed(yaw=20.0)] * seconds(20)
    assert kinds(run(tracker, stream)) == ["video.looking_away"]
    assert tracker.features is not None and tracker.features.looking_away


def test_repeated_episodes_are_announced_at_most_once_a_minute() -> None:
    tracker = FaceCueTracker("c")
    episode = [observed(yaw=40.0)] * seconds(5) + [observed()] * seconds(5)
    cues = run(tracker, [observed()] * seconds(10) + episode * 6)  # an episode every 10 s for 60 s
    assert kinds(cues) == ["video.looking_away", "video.looking_away.ended"]
    cues = run(tracker, episode, start_s=100.0)
    assert kinds(cues) == ["video.looking_away", "video.looking_away.ended"]


def fidget(k: int) -> float:
    return 8.0 * math.sin(k * 2.1)  # pixels; with a 100 px face at 5 fps about 1 face width per second


def test_restless_against_own_baseline_and_calm_again() -> None:
    tracker = FaceCueTracker("c")
    rng = np.random.default_rng(1)
    steady = [observed(shift_px=float(rng.normal(0, 0.5))) for _ in range(seconds(40))]
    restless = [observed(shift_px=fidget(k)) for k in range(seconds(15))]
    calm = [observed(shift_px=float(rng.normal(0, 0.5))) for _ in range(seconds(30))]
    cues = run(tracker, steady + restless + calm)
    assert kinds(cues) == ["video.restless", "video.restless.ended"]
    start, end = cues
    assert 40.0 < start.at_s < 40.0 + 8.0
    assert start.evidence["motion_level"] > 2.5 * start.evidence["baseline"]
    assert 55.0 + 6.0 <= end.at_s < 85.0


def test_someone_who_always_moves_a_lot_is_not_called_restless() -> None:
    tracker = FaceCueTracker("c")
    assert run(tracker, [observed(shift_px=fidget(k)) for k in range(seconds(90))]) == []
    features = tracker.features
    assert features is not None and features.motion_baseline is not None and features.motion_baseline > 0.5


def test_a_face_that_reappears_elsewhere_is_not_movement() -> None:
    tracker = FaceCueTracker("c")
    stream: list[FaceObservation | None] = [observed()] * seconds(30) + [None] + [observed(shift_px=80.0)]
    run(tracker, stream)
    assert tracker.features is not None and tracker.features.motion is None


def test_frames_out_of_order_are_dropped() -> None:
    tracker = FaceCueTracker("c")
    tracker.feed(observed(), 10.0)
    assert tracker.feed(None, 9.0) == [] and tracker.feed(None, 10.0) == []
    assert tracker.features is not None and tracker.features.face_present and tracker.features.at_s == 10.0


def test_observation_from_landmarks_reads_pose_from_3d_landmarks() -> None:
    # A synthetic head: cheeks 100 px apart, forehead-to-chin 120 px, turned by 30 degrees about the
    # vertical axis towards image right, so only the depth of the landmarks carries the yaw.
    points = np.zeros((478, 3))
    turn = math.radians(30.0)
    across = np.array([math.cos(turn), 0.0, math.sin(turn)])  # image-right cheek further away
    points[234], points[454] = -50 * across, 50 * across
    points[10], points[152] = (0.0, -60.0, 0.0), (0.0, 60.0, 0.0)
    points[[33, 133, 362, 263], 0] = (-40.0, -15.0, 15.0, 40.0)
    points[[468, 473], 0] = (-20.0, 35.0)  # both irises towards image right
    observation = observation_from_landmarks(points)
    assert observation.yaw_deg == pytest.approx(30.0, abs=0.01)
    assert observation.pitch_deg == pytest.approx(0.0, abs=0.01)
    assert observation.gaze_x == pytest.approx(0.6, abs=0.01)  # 7.5 px right of centre, 12.5 px half-width
    assert observation.face_width_px == pytest.approx(80.0)
    with pytest.raises(ValueError):
        observation_from_landmarks(points[:468])


# ---------------------------------------------------------------- real frames through MediaPipe


def decode(name: str) -> list[Frame]:
    with av.open(str(GRID / f"{name}.mpg")) as container:
        return [f.to_ndarray(format="rgb24", width=320, height=240) for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def clips() -> dict[str, list[Frame]]:
    return {name: decode(name) for name in CLIPS}


def played(frames: list[Frame], duration_s: float, fps: int = FPS) -> list[Frame]:
    """The 25 fps clip played back and forth for ``duration_s`` and sampled at ``fps``."""
    back_and_forth = frames + frames[-2:0:-1]
    return [back_and_forth[(k * 25 // fps) % len(back_and_forth)] for k in range(round(duration_s * fps))]


def feed_all(engine: FaceCueEngine, frames: list[Frame], start_s: float = 0.0) -> Iterator[tuple[float, Cue]]:
    for k, frame in enumerate(frames):
        at_s = start_s + k / FPS
        for cue in engine.feed(frame, at_s):
            yield at_s, cue


def face_landmarks(frame: Frame) -> npt.NDArray[np.float64]:
    observer = FaceMeshObserver()
    try:
        points = observer.landmarks(frame)
    finally:
        observer.close()
    assert points is not None
    return points


def turned(frame: Frame, nose: npt.NDArray[np.float64], face_width: float) -> Frame:
    """Pushes the middle of the face sideways: what the mesh reads as a head turned about 25-30 deg."""
    height, width = frame.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    sigma = 0.25 * face_width
    map_x = xs - 0.4 * face_width * np.exp(-((xs - nose[0]) ** 2) / (2 * sigma**2))
    return cv2.remap(frame, map_x.astype(np.float32), ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def without_person(frame: Frame) -> Frame:
    blank = frame.copy()
    blank[:, 40:290] = frame[8, 8]  # the studio background colour, sampled in a corner
    return blank


def fidgeting(frames: list[Frame], seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed)
    moved = []
    for frame in frames:
        shift_x, shift_y = rng.uniform(-12, 12, 2)
        matrix = cv2.getRotationMatrix2D((160.0, 120.0), float(rng.uniform(-8, 8)), 1.0)
        matrix[:, 2] += (shift_x, shift_y)
        moved.append(cv2.warpAffine(frame, matrix, (320, 240), borderMode=cv2.BORDER_REPLICATE))
    return moved


@pytest.mark.parametrize("name", CLIPS)
def test_real_steady_talking_face_is_visible_and_raises_no_cue(clips: dict[str, list[Frame]], name: str) -> None:
    with live_face_engine("client") as engine:
        present, motions = 0, []
        frames = played(clips[name], 60.0)
        cues = []
        for k, frame in enumerate(frames):
            cues.extend(engine.feed(frame, k / FPS))
            features = engine.features
            assert features is not None
            present += features.face_present
            if features.motion is not None:
                motions.append(features.motion)
    assert cues == []  # no absence, no looking away, and talking is not restlessness
    assert present == len(frames)
    assert features.motion_baseline is not None and features.motion_baseline < 0.15
    assert features.yaw_offset_deg is not None and abs(features.yaw_offset_deg) < 5.0
    assert len(motions) == len(frames) - 1


@pytest.mark.parametrize("name", CLIPS)
def test_real_face_removed_gives_face_absent_after_hold(clips: dict[str, list[Frame]], name: str) -> None:
    frames = clips[name]
    stream = (
        played(frames, 10.0)
        + [without_person(f) for f in played(frames, 2.0)]  # a brief dropout: no cue
        + played(frames, 5.0)
        + [without_person(f) for f in played(frames, 8.0)]
        + played(frames, 4.0)
    )
    with live_face_engine("client") as engine:
        cues = list(feed_all(engine, stream))
    assert [c.kind for _, c in cues] == ["video.face_absent", "video.face_absent.ended"]
    (absent_at, absent), (ended_at, _) = cues
    assert absent_at == pytest.approx(17.0 + 3.0, abs=0.41)
    assert absent.evidence["since_s"] == pytest.approx(17.0, abs=0.41)
    assert ended_at == pytest.approx(25.0 + 1.0, abs=0.41)


# The warp reads as a turn of 25-30 degrees on these three faces; on id2_vcd_swwp2s (already turned
# slightly the other way) it reads as only ~13 degrees, a fair "not away".
@pytest.mark.parametrize("name", ["bbaf2n", "lwbsza", "swiz3n"])
def test_real_head_turn_gives_looking_away_then_back(clips: dict[str, list[Frame]], name: str) -> None:
    frames = clips[name]
    points = face_landmarks(frames[0])
    face_width = float(np.linalg.norm(points[454, :2] - points[234, :2]))
    turning = [turned(f, points[1, :2], face_width) for f in played(frames, 8.0)]
    with live_face_engine("client") as engine:
        cues = list(feed_all(engine, played(frames, 20.0) + turning + played(frames, 5.0)))
    looking = [(at, c) for at, c in cues if c.kind.startswith("video.looking_away")]
    assert [c.kind for _, c in looking] == ["video.looking_away", "video.looking_away.ended"]
    (away_at, away), (back_at, _) = looking
    assert 20.0 + 4.0 <= away_at <= 28.0
    assert abs(away.evidence["yaw_offset_deg"]) > 25.0
    assert 28.0 + 1.5 <= back_at <= 28.0 + 3.0


@pytest.mark.parametrize("name", CLIPS)
def test_real_fidgeting_gives_restless_then_calm(clips: dict[str, list[Frame]], name: str) -> None:
    frames = clips[name]
    stream = played(frames, 40.0) + fidgeting(played(frames, 15.0), seed=len(name)) + played(frames, 25.0)
    with live_face_engine("client") as engine:
        cues = list(feed_all(engine, stream))
    assert [c.kind for _, c in cues] == ["video.restless", "video.restless.ended"]
    (start_at, start), (end_at, _) = cues
    assert 40.0 < start_at <= 40.0 + 8.0
    assert start.evidence["motion_level"] > 2.5 * start.evidence["baseline"]
    assert 55.0 + 6.0 <= end_at <= 80.0


def test_engine_settings_and_observer_are_pluggable(clips: dict[str, list[Frame]]) -> None:
    class CountingObserver:
        def __init__(self) -> None:
            self.frames = 0
            self.closed = False

        def observe(self, frame_rgb: Frame) -> FaceObservation | None:
            self.frames += 1
            return None

        def close(self) -> None:
            self.closed = True

    observer = CountingObserver()
    settings = replace(FaceCueSettings(), absent_after_s=1.0)
    with FaceCueEngine("c", observer, settings=settings) as engine:
        cues = list(feed_all(engine, clips["bbaf2n"][:10]))
    assert observer.frames == 10 and observer.closed
    assert [c.kind for _, c in cues] == ["video.face_absent"]
    assert cues[0][0] == pytest.approx(1.0)


def test_rejects_frames_that_are_not_rgb_uint8() -> None:
    observer = FaceMeshObserver()
    try:
        with pytest.raises(ValueError):
            observer.observe(np.zeros((240, 320), dtype=np.uint8))
        with pytest.raises(ValueError):
            observer.observe(np.zeros((240, 320, 3), dtype=np.float32))  # type: ignore[arg-type]
    finally:
        observer.close()
