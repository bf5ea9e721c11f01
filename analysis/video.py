"""Nonverbal cues from a client's uplink video: face out of view, looking away, restlessness.

``FaceCueEngine(participant_id, observer).feed(frame_rgb, at_s)`` takes small RGB frames (about 320x240, at most
5 fps) with their stream time and returns calm, sustained cues; ``features`` holds the latest
per-frame measurements for the counselor's panel. Everything is judged against the client's own
running baseline (their usual head pose and their usual amount of movement in this session), because
camera placement and temperament differ far more between people than within one session.

Threading: the observer the live session gives the engine (MediaPipe's face mesh, from
``server.media.face_mesh``) keeps tracking state and is not thread-safe. Create one engine per
participant and call ``feed`` from one thread at a time (a per-participant single-thread executor, or a
lock around ``feed``); ``close()`` closes the observer.

Facial expression is an optional, low-rate stage (``FaceCueSettings.expression``; None turns it
off, as does giving no classifier): twice a second, while the face is in view and facing the camera,
an ``analysis.expression.ExpressionClassifier`` estimates expression class probabilities;
``ExpressionTrend`` smooths them over ~30 s and compares the share of tense-looking classes with the
client's own earlier share. It only ever raises INFO cues,
phrased as a weak, tentative signal: the model is small, trained on other people's photos, reads
speech mouth movement as expression changes, and reads some neutral faces as sad or afraid.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

import numpy as np

from analysis.events import Cue, Severity
from analysis.expression import EXPRESSION_LABELS, ExpressionClassifier, as_labelled
from analysis.face import FaceObservation, FaceObserver, FloatArray, RgbFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExpressionSettings:
    """The expression stage. Its estimates are noisy frame to frame (a talking mouth flips classes), so
    the decision uses the interquartile mean over ``smooth_window_s`` (a grimace or laugh filling less
    than a quarter of the window does not move it, and it is steadier than the median when the
    estimates jump between two classes) and then a hold; the baseline is the client's own share earlier
    in the session, because the model's output for a neutral face differs a lot between people."""

    # About one estimate per interval on average (every 2nd or 3rd frame at 5 fps), never two closer
    # than half of it; ~1 ms CPU each. Only frames with a face near the client's neutral pose count.
    # Two a second rather than one (and 30 s rather than 20 s) narrowed the drift of the smoothed share
    # on a steady GRID face whose estimates flip between "angry" and "neutral" from 0.24-0.73 to
    # 0.50-0.57, against a margin of 0.2.
    interval_s: float = 0.5
    # Classes whose summed probability is the "tense-looking" share.
    tense_labels: tuple[str, ...] = ("angry", "disgust", "fear", "sad")
    smooth_window_s: float = 30.0
    smooth_min_samples: int = 20
    # The baseline excludes the smoothing window, so a shift is not compared with itself.
    baseline_window_s: float = 600.0
    baseline_min_samples: int = 120
    shift_margin: float = 0.2
    settle_margin: float = 0.1
    shifted_after_s: float = 10.0
    settled_after_s: float = 15.0
    repeat_after_s: float = 300.0
    # Turned faces are cropped differently and read differently by the model: estimate only near the
    # client's neutral pose (offsets unknown during the first seconds count as near).
    max_yaw_offset_deg: float = 15.0
    max_pitch_offset_deg: float = 12.0


@dataclass(frozen=True, slots=True)
class FaceCueSettings:
    """Thresholds and hold times. Each state needs its condition held continuously to start and its
    opposite held continuously to end, with a dead band in between, so cues do not flap."""

    absent_after_s: float = 3.0
    present_again_after_s: float = 1.0

    # Offsets from the client's own neutral pose (running median of yaw and pitch).
    away_yaw_deg: float = 25.0
    away_pitch_deg: float = 20.0
    back_yaw_deg: float = 15.0
    back_pitch_deg: float = 12.0
    away_after_s: float = 4.0
    back_after_s: float = 1.5
    neutral_window_s: float = 180.0
    neutral_min_samples: int = 15

    # Head movement: RMS speed of skull-fixed landmarks in face widths per second.
    motion_window_s: float = 8.0
    motion_min_samples: int = 10
    baseline_window_s: float = 180.0
    baseline_min_samples: int = 60
    restless_ratio: float = 2.5
    # A very still client has a tiny baseline; an absolute margin keeps small shifts from counting.
    restless_margin: float = 0.1
    calm_ratio: float = 1.5
    restless_after_s: float = 4.0
    calm_after_s: float = 6.0
    # Frames further apart than this are not compared for movement (dropped frames, camera paused).
    max_frame_gap_s: float = 1.0

    # A state that starts again this soon after its previous start is tracked but not announced.
    repeat_after_s: float = 60.0

    expression: ExpressionSettings | None = ExpressionSettings()


@dataclass(frozen=True, slots=True)
class FaceFrameFeatures:
    """Latest measurements for the panel. Angles in degrees; offsets are from the client's neutral
    pose (None until it is known); ``motion`` in face widths per second (None without a previous
    frame to compare with); ``motion_level`` is the recent mean and ``motion_baseline`` the client's
    usual level. ``expression`` is the smoothed class distribution of the last ~30 s (a weak hint;
    None until enough estimates), ``expression_tense`` the smoothed tense-looking share and
    ``expression_tense_baseline`` the client's own earlier share."""

    at_s: float
    face_present: bool
    yaw_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    yaw_offset_deg: float | None = None
    pitch_offset_deg: float | None = None
    gaze_x: float | None = None
    motion: float | None = None
    motion_level: float | None = None
    motion_baseline: float | None = None
    face_absent: bool = False
    looking_away: bool = False
    restless: bool = False
    expression: dict[str, float] | None = None
    expression_tense: float | None = None
    expression_tense_baseline: float | None = None
    expression_more_tense: bool = False


class _Episode:
    """A state that starts once its condition has held for ``start_after_s`` and ends once the
    opposite has held for ``end_after_s``; frames meeting neither restart both clocks."""

    def __init__(self, start_after_s: float, end_after_s: float, repeat_after_s: float) -> None:
        self._start_after_s = start_after_s
        self._end_after_s = end_after_s
        self._repeat_after_s = repeat_after_s
        self.active = False
        self.announced = False
        self.started_at_s = 0.0
        self.ended_at_s = 0.0
        self._last_announced_start_s = -math.inf
        self._pending_since_s: float | None = None

    def drop(self) -> None:
        """Ends the episode without announcing it (a newer state supersedes it)."""
        self.active = False
        self._pending_since_s = None

    def update(self, at_s: float, starting: bool, ending: bool) -> str | None:
        """Returns "start" or "end" when an announced episode starts or ends, else None."""
        condition = ending if self.active else starting
        if not condition:
            self._pending_since_s = None
            return None
        if self._pending_since_s is None:
            self._pending_since_s = at_s
        hold_s = self._end_after_s if self.active else self._start_after_s
        if at_s - self._pending_since_s < hold_s:
            return None
        # Date changes from when their condition first held, not from when the hold ran out.
        since_s, self._pending_since_s = self._pending_since_s, None
        if not self.active:
            self.active = True
            self.started_at_s = since_s
            self.announced = self.started_at_s - self._last_announced_start_s >= self._repeat_after_s
            if self.announced:
                self._last_announced_start_s = self.started_at_s
                return "start"
            return None
        self.active = False
        self.ended_at_s = since_s
        return "end" if self.announced else None


class _Window:
    """Timed samples kept for ``span_s`` seconds."""

    def __init__(self, span_s: float) -> None:
        self._span_s = span_s
        self._samples: deque[tuple[float, float]] = deque()

    def add(self, at_s: float, value: float) -> None:
        self._samples.append((at_s, value))
        while self._samples and self._samples[0][0] < at_s - self._span_s:
            self._samples.popleft()

    def __len__(self) -> int:
        return len(self._samples)

    def values(self, since_s: float = -math.inf, before_s: float = math.inf) -> list[float]:
        return [v for t, v in self._samples if since_s <= t < before_s]


class FaceCueTracker:
    """The cue logic alone: feed it one ``FaceObservation`` (or None: no face) per analysed frame."""

    def __init__(self, participant_id: str, settings: FaceCueSettings | None = None) -> None:
        self.participant_id = participant_id
        self.settings = s = settings or FaceCueSettings()
        self._absent = _Episode(s.absent_after_s, s.present_again_after_s, s.repeat_after_s)
        self._away = _Episode(s.away_after_s, s.back_after_s, s.repeat_after_s)
        self._restless = _Episode(s.restless_after_s, s.calm_after_s, s.repeat_after_s)
        self._yaws = _Window(s.neutral_window_s)
        self._pitches = _Window(s.neutral_window_s)
        self._motions = _Window(max(s.baseline_window_s, s.motion_window_s))
        self._previous: tuple[float, FaceObservation] | None = None
        self._last_at_s = -math.inf
        self.features: FaceFrameFeatures | None = None

    def pause(self) -> None:
        """The client turned their camera off (or on again): a dark or frozen picture says nothing about
        their face, so states in progress end unannounced, pending holds restart, and movement is not
        measured across the gap. Baselines (usual pose and movement) are kept."""
        for episode in (self._absent, self._away, self._restless):
            episode.drop()
        self._previous = None
        self.features = None

    def feed(self, observation: FaceObservation | None, at_s: float) -> list[Cue]:
        if at_s <= self._last_at_s:
            log.debug("dropping frame at %.3f s: not after %.3f s", at_s, self._last_at_s)
            return []
        self._last_at_s = at_s
        cues: list[Cue] = []
        present = observation is not None
        transition = self._absent.update(at_s, starting=not present, ending=present)
        if self._absent.active:
            # Absence supersedes the other states: no "facing the camera again" minutes later.
            self._away.drop()
            self._restless.drop()
        if transition == "start":
            cues.append(
                self._cue(
                    at_s,
                    "video.face_absent",
                    Severity.NOTICE,
                    f"Face not visible for {at_s - self._absent.started_at_s:.0f} s.",
                    {"since_s": round(self._absent.started_at_s, 2)},
                )
            )
        elif transition == "end":
            cues.append(self._ended_cue(at_s, "video.face_absent", "Face visible again", self._absent))
        if observation is None:
            self._previous = None
            self.features = FaceFrameFeatures(
                at_s=at_s,
                face_present=False,
                face_absent=self._absent.active,
                looking_away=self._away.active,
                restless=self._restless.active,
            )
            return cues
        pose_cues, yaw_offset, pitch_offset = self._feed_pose(observation, at_s)
        motion_cues, motion, level, baseline = self._feed_motion(observation, at_s)
        self._previous = (at_s, observation)
        self.features = FaceFrameFeatures(
            at_s=at_s,
            face_present=True,
            yaw_deg=_finite_or_none(observation.yaw_deg),
            pitch_deg=_finite_or_none(observation.pitch_deg),
            roll_deg=_finite_or_none(observation.roll_deg),
            yaw_offset_deg=yaw_offset,
            pitch_offset_deg=pitch_offset,
            gaze_x=_finite_or_none(observation.gaze_x),
            motion=motion,
            motion_level=level,
            motion_baseline=baseline,
            face_absent=self._absent.active,
            looking_away=self._away.active,
            restless=self._restless.active,
        )
        return cues + pose_cues + motion_cues

    def _feed_pose(self, observation: FaceObservation, at_s: float) -> tuple[list[Cue], float | None, float | None]:
        s = self.settings
        if not (math.isfinite(observation.yaw_deg) and math.isfinite(observation.pitch_deg)):
            return [], None, None
        self._yaws.add(at_s, observation.yaw_deg)
        self._pitches.add(at_s, observation.pitch_deg)
        if len(self._yaws) < s.neutral_min_samples:
            return [], None, None
        yaw_offset = observation.yaw_deg - float(np.median(self._yaws.values()))
        pitch_offset = observation.pitch_deg - float(np.median(self._pitches.values()))
        away = abs(yaw_offset) > s.away_yaw_deg or abs(pitch_offset) > s.away_pitch_deg
        back = abs(yaw_offset) < s.back_yaw_deg and abs(pitch_offset) < s.back_pitch_deg
        transition = self._away.update(at_s, starting=away, ending=back)
        cues: list[Cue] = []
        if transition == "start":
            if abs(pitch_offset) / s.away_pitch_deg > abs(yaw_offset) / s.away_yaw_deg:
                direction = "head tilted down" if pitch_offset > 0 else "head tilted up"
            else:
                direction = "head turned to one side"
            evidence = {
                "yaw_offset_deg": round(yaw_offset, 1),
                "pitch_offset_deg": round(pitch_offset, 1),
                "since_s": round(self._away.started_at_s, 2),
            }
            cues.append(
                self._cue(
                    at_s,
                    "video.looking_away",
                    Severity.INFO,
                    f"Looking away from the camera ({direction}).",
                    evidence,
                )
            )
        elif transition == "end":
            cues.append(self._ended_cue(at_s, "video.looking_away", "Facing the camera again", self._away))
        return cues, yaw_offset, pitch_offset

    def _feed_motion(
        self, observation: FaceObservation, at_s: float
    ) -> tuple[list[Cue], float | None, float | None, float | None]:
        s = self.settings
        motion = None
        if self._previous is not None and at_s - self._previous[0] <= s.max_frame_gap_s:
            before_s, before = self._previous
            step = observation.rigid_points_px - before.rigid_points_px
            rms_px = float(np.sqrt(np.mean(np.sum(step * step, axis=1))))
            scale = (observation.face_width_px + before.face_width_px) / 2.0
            motion = rms_px / scale / (at_s - before_s)
            self._motions.add(at_s, motion)
        recent = self._motions.values(since_s=at_s - s.motion_window_s)
        usual = self._motions.values(since_s=at_s - s.baseline_window_s)
        level = float(np.mean(recent)) if len(recent) >= s.motion_min_samples else None
        baseline = float(np.median(usual)) if len(usual) >= s.baseline_min_samples else None
        if level is None or baseline is None:
            return [], motion, level, baseline
        high = level > max(s.restless_ratio * baseline, baseline + s.restless_margin)
        calm = level < max(s.calm_ratio * baseline, baseline + s.restless_margin / 2.0)
        transition = self._restless.update(at_s, starting=high, ending=calm)
        cues: list[Cue] = []
        if transition == "start":
            evidence = {
                "motion_level": round(level, 3),
                "baseline": round(baseline, 3),
                "window_s": s.motion_window_s,
                "unit": "face widths per second",
            }
            cues.append(
                self._cue(
                    at_s,
                    "video.restless",
                    Severity.INFO,
                    "More head movement than usual for them this session.",
                    evidence,
                )
            )
        elif transition == "end":
            cues.append(
                self._ended_cue(at_s, "video.restless", "Head movement back to their usual level", self._restless)
            )
        return cues, motion, level, baseline

    def _cue(self, at_s: float, kind: str, severity: Severity, sentence: str, evidence: dict[str, Any]) -> Cue:
        log.debug("cue %s for %s at %.2f s", kind, self.participant_id, at_s)
        return Cue(
            at_s=at_s,
            participant_id=self.participant_id,
            kind=kind,
            severity=severity,
            sentence=sentence,
            evidence=evidence,
        )

    def _ended_cue(self, at_s: float, kind: str, what: str, episode: _Episode) -> Cue:
        duration_s = episode.ended_at_s - episode.started_at_s
        return self._cue(
            at_s,
            f"{kind}.ended",
            Severity.INFO,
            f"{what} (after about {duration_s:.0f} s).",
            {
                "since_s": round(episode.started_at_s, 2),
                "until_s": round(episode.ended_at_s, 2),
                "duration_s": round(duration_s, 2),
            },
        )


class ExpressionTrend:
    """The expression cue logic alone: feed it class probabilities (ordered as ``EXPRESSION_LABELS``) a
    few times a second at most. Raises an INFO cue when the smoothed tense-looking share stays above
    the client's own earlier share by ``shift_margin`` for ``shifted_after_s``, and another when it
    settles."""

    def __init__(self, participant_id: str, settings: ExpressionSettings | None = None) -> None:
        self.participant_id = participant_id
        self.settings = s = settings or ExpressionSettings()
        unknown = sorted(set(s.tense_labels) - set(EXPRESSION_LABELS))
        if unknown or not s.tense_labels:
            raise ValueError(f"tense_labels must be some of {EXPRESSION_LABELS}, got {s.tense_labels}")
        self._tense_indices = [EXPRESSION_LABELS.index(label) for label in s.tense_labels]
        self._episode = _Episode(s.shifted_after_s, s.settled_after_s, s.repeat_after_s)
        self._tense = _Window(s.baseline_window_s + s.smooth_window_s)
        self._recent: deque[tuple[float, FloatArray]] = deque()
        self._last_at_s = -math.inf
        self.distribution: dict[str, float] | None = None
        self.tense: float | None = None
        self.baseline: float | None = None

    @property
    def more_tense(self) -> bool:
        return self._episode.active

    def drop(self) -> None:
        """Ends a shift without announcing it (the face left the frame)."""
        self._episode.drop()

    def feed(self, probabilities: FloatArray, at_s: float) -> list[Cue]:
        s = self.settings
        if probabilities.shape != (len(EXPRESSION_LABELS),) or not np.all(np.isfinite(probabilities)):
            raise ValueError(f"expected {len(EXPRESSION_LABELS)} finite probabilities, got {probabilities}")
        if at_s <= self._last_at_s:
            return []
        self._last_at_s = at_s
        self._tense.add(at_s, float(probabilities[self._tense_indices].sum()))
        self._recent.append((at_s, probabilities))
        recent_since_s = at_s - s.smooth_window_s
        while self._recent[0][0] < recent_since_s:
            self._recent.popleft()
        recent = self._tense.values(since_s=recent_since_s)
        earlier = self._tense.values(since_s=recent_since_s - s.baseline_window_s, before_s=recent_since_s)
        smoothed = len(recent) >= s.smooth_min_samples
        self.distribution = as_labelled(np.mean([p for _, p in self._recent], axis=0)) if smoothed else None
        self.tense = _interquartile_mean(recent) if smoothed else None
        self.baseline = _interquartile_mean(earlier) if len(earlier) >= s.baseline_min_samples else None
        if self.tense is None or self.baseline is None:
            self._episode.update(at_s, starting=False, ending=False)
            return []
        transition = self._episode.update(
            at_s,
            starting=self.tense > self.baseline + s.shift_margin,
            ending=self.tense < self.baseline + s.settle_margin,
        )
        if transition is None:
            return []
        evidence: dict[str, Any] = {
            "tense_share": round(self.tense, 3),
            "baseline": round(self.baseline, 3),
            "tense_labels": list(s.tense_labels),
            "window_s": s.smooth_window_s,
            "since_s": round(self._episode.started_at_s, 2),
            "reliability": "weak: a small model trained on other people's photos, compared with this client's own "
            "earlier frames",
        }
        if transition == "start":
            evidence["expression"] = {k: round(v, 3) for k, v in (self.distribution or {}).items()}
            sentence = "Expression may look more tense than earlier in the session — a weak signal."
        else:
            duration_s = self._episode.ended_at_s - self._episode.started_at_s
            evidence.update(until_s=round(self._episode.ended_at_s, 2), duration_s=round(duration_s, 2))
            sentence = (
                f"Expression no longer looks more tense than earlier (after about {duration_s:.0f} s) — a weak signal."
            )
        kind = "video.expression_tense" if transition == "start" else "video.expression_tense.ended"
        log.debug("cue %s for %s at %.2f s", kind, self.participant_id, at_s)
        return [Cue(at_s, self.participant_id, kind, Severity.INFO, sentence, evidence)]


class ExpressionStage:
    """Decides when to run the expression model (about once per ``interval_s``, only on a face near
    the client's neutral pose) and feeds its output to an ``ExpressionTrend``."""

    def __init__(self, participant_id: str, settings: ExpressionSettings, classifier: ExpressionClassifier) -> None:
        self.settings = settings
        self.trend = ExpressionTrend(participant_id, settings)
        self._classifier = classifier
        self._next_due_s = -math.inf

    def feed(
        self, frame_rgb: RgbFrame, observation: FaceObservation | None, features: FaceFrameFeatures, at_s: float
    ) -> list[Cue]:
        """``features`` are the tracker's for this same frame."""
        s = self.settings
        if features.face_absent:
            self.trend.drop()
        if observation is None or observation.face_box_px is None or features.at_s != at_s:
            return []
        if at_s < self._next_due_s or features.looking_away:
            return []
        yaw, pitch = features.yaw_offset_deg, features.pitch_offset_deg
        if (yaw is not None and abs(yaw) > s.max_yaw_offset_deg) or (
            pitch is not None and abs(pitch) > s.max_pitch_offset_deg
        ):
            return []
        # Due times on a fixed grid keep the average rate when frames do not line up with it.
        self._next_due_s = max(self._next_due_s + s.interval_s, at_s + s.interval_s / 2.0)
        probabilities = self._classifier.estimate(frame_rgb, observation.face_box_px, observation.roll_deg)
        return self.trend.feed(probabilities, at_s)

    def with_features(self, features: FaceFrameFeatures) -> FaceFrameFeatures:
        trend = self.trend
        return replace(
            features,
            expression=trend.distribution,
            expression_tense=trend.tense,
            expression_tense_baseline=trend.baseline,
            expression_more_tense=trend.more_tense,
        )


class FaceCueEngine:
    """A ``FaceObserver`` (landmarks per frame) plus ``FaceCueTracker`` and, when both
    ``settings.expression`` and an ``expression`` classifier are given, the expression stage, for one
    participant; see the module docstring on threading. The live session passes MediaPipe's face mesh
    and fer's model (``server.media``); tests pass recorded observations."""

    def __init__(
        self,
        participant_id: str,
        observer: FaceObserver,
        expression: ExpressionClassifier | None = None,
        settings: FaceCueSettings | None = None,
    ) -> None:
        self.tracker = FaceCueTracker(participant_id, settings)
        expression_settings = self.tracker.settings.expression
        self.expression: ExpressionStage | None = None
        if expression_settings is not None and expression is not None:
            self.expression = ExpressionStage(participant_id, expression_settings, expression)
        self._observer = observer
        self._features: FaceFrameFeatures | None = None

    @property
    def features(self) -> FaceFrameFeatures | None:
        return self._features

    def feed(self, frame_rgb: RgbFrame, at_s: float) -> list[Cue]:
        observation = self._observer.observe(frame_rgb)
        cues = self.tracker.feed(observation, at_s)
        features = self.tracker.features
        if self.expression is not None and features is not None:
            cues += self.expression.feed(frame_rgb, observation, features, at_s)
            features = self.expression.with_features(features)
        self._features = features
        return cues

    def pause(self) -> None:
        """See ``FaceCueTracker.pause``; a tense-looking shift in progress ends unannounced too."""
        self.tracker.pause()
        if self.expression is not None:
            self.expression.trend.drop()
        self._features = None

    def close(self) -> None:
        self._observer.close()

    def __enter__(self) -> FaceCueEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _interquartile_mean(values: list[float]) -> float:
    ordered = np.sort(values)
    quarter = len(ordered) // 4
    return float(np.mean(ordered[quarter : len(ordered) - quarter]))


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
