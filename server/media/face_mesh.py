"""Face landmarks from one RGB frame with MediaPipe's face mesh: the ``analysis.face.FaceObserver`` the
live session uses.

MediaPipe 0.10.21 bundles its face detector and face mesh (with iris refinement) inside the wheel, so
nothing is downloaded. A ``FaceMeshObserver`` owns one MediaPipe graph; graphs keep tracking state
between frames and are not thread-safe, so each observer must be used by one thread at a time (give
each participant its own observer and call it from one worker thread, or guard it with a lock).
"""

from __future__ import annotations

import mediapipe as mp
import numpy as np

from analysis.face import FaceObservation, FloatArray, RgbFrame, observation_from_landmarks
from analysis.video import FaceCueEngine


class FaceMeshObserver:
    """MediaPipe face mesh (one face, iris refinement, tracking between frames) plus head pose."""

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5) -> None:
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def observe(self, frame_rgb: RgbFrame) -> FaceObservation | None:
        points = self.landmarks(frame_rgb)
        return None if points is None else observation_from_landmarks(points)

    def landmarks(self, frame_rgb: RgbFrame) -> FloatArray | None:
        """The 478 landmarks of the most prominent face as (478, 3) pixels, or None without a face."""
        if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3 or frame_rgb.dtype != np.uint8:
            raise ValueError(f"expected (H, W, 3) uint8 RGB, got {frame_rgb.shape} {frame_rgb.dtype}")
        faces = self._mesh.process(np.ascontiguousarray(frame_rgb)).multi_face_landmarks
        if not faces:
            return None
        height, width = frame_rgb.shape[:2]
        # MediaPipe's z shares x's scale (fractions of the image width).
        return np.array(
            [(lm.x * width, lm.y * height, lm.z * width) for lm in faces[0].landmark], dtype=np.float64
        )

    def close(self) -> None:
        self._mesh.close()


def live_face_engine(participant_id: str) -> FaceCueEngine:
    """The face cue engine a live session runs for one client: MediaPipe's face mesh and fer's model."""
    from server.media.expression_model import ExpressionEstimator

    return FaceCueEngine(participant_id, FaceMeshObserver(), ExpressionEstimator())
