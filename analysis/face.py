"""What one video frame shows of a face: head pose, iris offset and skull-fixed points, from landmarks.

Pure geometry on the 478 face-mesh landmarks. The landmarks themselves come from a ``FaceObserver``
(``server.media.face_mesh.FaceMeshObserver`` runs MediaPipe's face mesh; tests pass recorded ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
RgbFrame = npt.NDArray[np.uint8]
# (left, top, right, bottom) in pixels.
FaceBox = tuple[float, float, float, float]

# MediaPipe face-mesh indices. "Right"/"left" are the subject's own sides (image left/right when the
# subject faces the camera).
_FOREHEAD, _CHIN = 10, 152
_RIGHT_CHEEK_EDGE, _LEFT_CHEEK_EDGE = 234, 454
_RIGHT_EYE_OUTER, _RIGHT_EYE_INNER = 33, 133
_LEFT_EYE_INNER, _LEFT_EYE_OUTER = 362, 263
_RIGHT_IRIS_CENTER, _LEFT_IRIS_CENTER = 468, 473
_LANDMARK_COUNT_WITH_IRISES = 478

# Landmarks that move with the skull but not with the jaw, lips or brows, so talking and expressions
# do not count as head movement: forehead, nose bridge and tip, eye corners, temples, cheekbones.
RIGID_LANDMARKS: tuple[int, ...] = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,
    33, 133, 362, 263, 127, 356, 234, 454, 116, 345, 123, 352,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """What one frame shows of the face.

    ``yaw_deg`` is positive when the head turns towards image right, ``pitch_deg`` positive when it
    tilts down (both as seen by the camera, not corrected for where the camera sits: callers compare
    them with the person's own neutral pose). ``gaze_x`` is the mean horizontal iris offset within
    the eye openings, -1 (image left corner) .. +1 (image right corner). ``rigid_points_px`` are the
    ``RIGID_LANDMARKS`` in pixels and ``face_width_px`` the outer-eye-corner distance used to
    normalise movement for distance to the camera. ``face_box_px`` bounds all mesh landmarks (forehead
    to chin, cheek to cheek); None where an observation was not made from a face mesh.
    """

    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    gaze_x: float
    face_width_px: float
    rigid_points_px: FloatArray
    face_box_px: FaceBox | None = None


class FaceObserver(Protocol):
    def observe(self, frame_rgb: RgbFrame) -> FaceObservation | None: ...

    def close(self) -> None: ...


def observation_from_landmarks(points_px: FloatArray) -> FaceObservation:
    """Head pose, iris offset and rigid points from the 478 face-mesh landmarks, (478, 3) in pixels."""
    if points_px.shape != (_LANDMARK_COUNT_WITH_IRISES, 3):
        raise ValueError(f"expected ({_LANDMARK_COUNT_WITH_IRISES}, 3) landmarks, got {points_px.shape}")
    yaw, pitch, roll = _head_pose_deg(points_px)
    gaze_x = (
        _iris_offset(points_px, _RIGHT_EYE_OUTER, _RIGHT_EYE_INNER, _RIGHT_IRIS_CENTER)
        + _iris_offset(points_px, _LEFT_EYE_INNER, _LEFT_EYE_OUTER, _LEFT_IRIS_CENTER)
    ) / 2.0
    face_width = float(np.linalg.norm(points_px[_LEFT_EYE_OUTER] - points_px[_RIGHT_EYE_OUTER]))
    (left, top), (right, bottom) = points_px[:, :2].min(axis=0), points_px[:, :2].max(axis=0)
    return FaceObservation(
        yaw_deg=yaw,
        pitch_deg=pitch,
        roll_deg=roll,
        gaze_x=gaze_x,
        face_width_px=max(face_width, 1.0),
        rigid_points_px=points_px[list(RIGID_LANDMARKS), :2].copy(),
        face_box_px=(float(left), float(top), float(right), float(bottom)),
    )


def _head_pose_deg(points: FloatArray) -> tuple[float, float, float]:
    # Axes of the head from the mesh's own 3D landmarks: across the cheeks and from forehead to chin.
    # Unlike a PnP fit to a generic head this needs no camera model and was ~5x steadier on GRID clips.
    across = points[_LEFT_CHEEK_EDGE] - points[_RIGHT_CHEEK_EDGE]
    down = points[_CHIN] - points[_FOREHEAD]
    facing = np.cross(down, across)  # (x right, y down, z away) axes: points out of the face
    norm_across, norm_facing = float(np.linalg.norm(across)), float(np.linalg.norm(facing))
    if norm_across < 1e-9 or norm_facing < 1e-9:
        return math.nan, math.nan, math.nan
    across, facing = across / norm_across, facing / norm_facing
    yaw = math.degrees(math.atan2(float(facing[0]), float(-facing[2])))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, float(facing[1])))))
    roll = math.degrees(math.atan2(float(across[1]), float(across[0])))
    return yaw, pitch, roll


def _iris_offset(points_px: FloatArray, image_left: int, image_right: int, iris: int) -> float:
    left_x, right_x = points_px[image_left, 0], points_px[image_right, 0]
    half_width = (right_x - left_x) / 2.0
    if abs(half_width) < 1e-6:
        return 0.0
    return float((points_px[iris, 0] - (left_x + right_x) / 2.0) / half_width)
