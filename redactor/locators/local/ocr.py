"""Thin, offline wrappers around the PP-OCR ONNX models shipped inside the ``rapidocr`` wheel.

Only the model files come from ``rapidocr`` (pinned); pre- and post-processing live
here so the locator controls what it pays for: one detection pass, and recognition of
short crops only. Nothing is ever downloaded: a missing model file is an error at
start-up (``LocatorError``), never a fetch at the first call.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

import numpy as np

from redactor.errors import LocatorError

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
REC_HEIGHT = 48
#: Crops recognised together (sorted by width, so a batch pads little).
REC_BATCH = 6
#: ... whose widths differ by at most this factor.
REC_WIDTH_SPREAD = 1.25


def _model_dir() -> Path:
    spec = importlib_util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise LocatorError("the local engine needs the 'rapidocr' package (its wheel carries the OCR models)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass(frozen=True)
class TextBox:
    """A detected text line: 4 corners (image pixels) and the detector's confidence."""

    corners: np.ndarray  # (4, 2) float32, minAreaRect order
    score: float

    @property
    def centre(self) -> np.ndarray:
        return np.asarray(self.corners.mean(axis=0))

    @property
    def size(self) -> tuple[float, float]:
        """(long side, short side) lengths."""
        c = self.corners
        a = float(np.linalg.norm(c[1] - c[0]))
        b = float(np.linalg.norm(c[2] - c[1]))
        return (a, b) if a >= b else (b, a)


@dataclass(frozen=True)
class Reading:
    """What the recogniser read in one crop: the text, its mean confidence, and for each
    character where its centre lies (0-1 along the crop) and how sure it was."""

    text: str
    confidence: float
    centres: tuple[float, ...]
    confidences: tuple[float, ...]


class OcrModels:
    """Detection, recognition and 0/180 classification sessions (thread-safe, shared)."""

    def __init__(self, threads: int | None = None) -> None:
        import cv2  # noqa: F401  (fail here, not at the first image)
        import onnxruntime as ort

        folder = _model_dir()
        paths = {name: folder / name for name in (DET_MODEL, REC_MODEL, CLS_MODEL)}
        missing = [n for n, p in paths.items() if not p.is_file()]
        if missing:
            raise LocatorError(f"OCR model files missing from the rapidocr wheel: {', '.join(missing)}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Three sessions each own a pool of threads; a pool left spinning after its run takes
        # the cores from the next model (recognition ran at half speed behind detection).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # The default arena keeps the peak of every input size ever seen; images vary in size,
        # so give memory back after each run (costs little next to the models themselves).
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        providers = ["CPUExecutionProvider"]
        self.det = ort.InferenceSession(str(paths[DET_MODEL]), options, providers=providers)
        self.rec = ort.InferenceSession(str(paths[REC_MODEL]), options, providers=providers)
        self.cls = ort.InferenceSession(str(paths[CLS_MODEL]), options, providers=providers)
        meta = self.rec.get_modelmeta().custom_metadata_map.get("character", "")
        self.charset = ["", *meta.split("\n"), " "]
        #: One image at a time in the models (the locator's and the verifier's alike): they
        #: already use every core, and one set of activations keeps memory bounded while other
        #: workers decode, mask and write in parallel.
        self.inference = threading.Lock()

    def warm_up(self) -> None:
        """Run each model once, so the first real image does not pay for lazy initialisation."""
        self.detect(np.full((64, 64, 3), 255, np.uint8), limit=64)
        self.recognize([np.full((REC_HEIGHT, 96, 3), 255, np.uint8)])
        self.upside_down([np.full((REC_HEIGHT, 96, 3), 255, np.uint8)])

    # ------------------------------------------------------------------ detection

    def detect(
        self,
        bgr: np.ndarray,
        limit: int = 736,
        thresh: float = 0.3,
        box_thresh: float = 0.5,
        scale: float | None = None,
    ) -> list[TextBox]:
        """Text lines of a BGR image, resized so its longer side is at most ``limit``
        (or by ``scale``, which may enlarge, still within ``limit``)."""
        import cv2

        h, w = bgr.shape[:2]
        ratio = min(1.0, limit / max(h, w)) if scale is None else min(scale, limit / max(h, w))
        rh = max(32, int(round(h * ratio / 32)) * 32)
        rw = max(32, int(round(w * ratio / 32)) * 32)
        resized = cv2.resize(bgr, (rw, rh))
        tensor = ((resized.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        prob = self.det.run(None, {self.det.get_inputs()[0].name: tensor})[0][0, 0]
        bitmap = (prob > thresh).astype(np.uint8)
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / rw, h / rh
        boxes: list[TextBox] = []
        for contour in contours[:1000]:
            if len(contour) < 4:
                continue
            (cx, cy), (bw, bh), angle = cv2.minAreaRect(contour)
            if min(bw, bh) < 3:
                continue
            mask = np.zeros_like(bitmap)
            cv2.fillPoly(mask, [contour.reshape(-1, 2)], 1)
            x, y, ww, hh = cv2.boundingRect(contour)
            score = float(cv2.mean(prob[y : y + hh, x : x + ww], mask[y : y + hh, x : x + ww])[0])
            if score < box_thresh:
                continue
            # DB's unclip: grow the shrunk kernel back by area * ratio / perimeter.
            d = bw * bh * 1.6 / (2 * (bw + bh))
            corners = cv2.boxPoints(((cx, cy), (bw + 2 * d, bh + 2 * d), angle))
            corners[:, 0] *= sx
            corners[:, 1] *= sy
            boxes.append(TextBox(corners.astype(np.float32), score))
        return boxes

    # ---------------------------------------------------------------- recognition

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Text and mean character confidence for each BGR crop (any width, any height)."""
        return [(r.text, r.confidence) for r in self.read(crops)]

    def read(self, crops: list[np.ndarray]) -> list[Reading]:
        """Text, confidence and where each character sits, for each BGR crop.

        Crops are batched by width (a batch is padded to its widest crop, so mixing a long
        address with a two-character label would pay for the address many times over).
        """
        if not crops:
            return []
        out: list[Reading | None] = [None] * len(crops)
        order = sorted(range(len(crops)), key=lambda i: crops[i].shape[1] / max(1, crops[i].shape[0]))
        ratios = [c.shape[1] / max(1, c.shape[0]) for c in crops]
        for batch in _similar_widths(order, ratios):
            tensor, widths = self._batch([crops[i] for i in batch], REC_HEIGHT)
            logits = self.rec.run(None, {self.rec.get_inputs()[0].name: tensor})[0]
            steps = logits.shape[1]
            for index, row, width in zip(batch, logits, widths, strict=True):
                idx = row.argmax(axis=1)
                conf = row.max(axis=1)
                keep = np.ones(len(idx), dtype=bool)
                keep[1:] = idx[1:] != idx[:-1]
                keep &= idx != 0
                chars = [self.charset[i] if i < len(self.charset) else "" for i in idx[keep]]
                stride = tensor.shape[3] / steps
                centres = tuple(min(1.0, (float(t) + 0.5) * stride / width) for t in np.flatnonzero(keep))
                confs = tuple(float(c) for c in conf[keep])
                out[index] = Reading("".join(chars), float(np.mean(confs)) if confs else 0.0, centres, confs)
        return [r if r is not None else Reading("", 0.0, (), ()) for r in out]

    def upside_down(self, crops: list[np.ndarray]) -> list[float]:
        """Probability that each crop's text is rotated by 180 degrees."""
        if not crops:
            return []
        tensor, _ = self._batch(crops, REC_HEIGHT, max_width=192)
        probs = self.cls.run(None, {self.cls.get_inputs()[0].name: tensor})[0]
        return [float(p[1]) for p in probs]

    @staticmethod
    def _batch(crops: list[np.ndarray], height: int, max_width: int | None = None) -> tuple[np.ndarray, list[int]]:
        """The crops resized to ``height`` (at most ``max_width`` wide), padded into one tensor,
        and the width each crop took in it."""
        import cv2

        widths = [max(8, int(math.ceil(height * c.shape[1] / max(1, c.shape[0])))) for c in crops]
        if max_width is not None:
            widths = [min(w, max_width) for w in widths]
        tensor = np.zeros((len(crops), 3, height, max_width or max(widths)), dtype=np.float32)
        for i, (crop, w) in enumerate(zip(crops, widths, strict=True)):
            resized = cv2.resize(crop, (w, height)).astype(np.float32)
            tensor[i, :, :, :w] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
        return tensor, widths


def _similar_widths(order: list[int], ratios: list[float]) -> list[list[int]]:
    """Batches (in ``order``, sorted by width) of at most :data:`REC_BATCH` crops whose widths
    differ by at most :data:`REC_WIDTH_SPREAD`: padding a short crop to a long one's width
    changes what the recogniser reads in it."""
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < REC_BATCH and ratios[i] <= REC_WIDTH_SPREAD * ratios[batches[-1][0]]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


_shared: OcrModels | None = None
_shared_lock = threading.Lock()


def shared_models() -> OcrModels:
    """One set of sessions per process: they are large and thread-safe."""
    global _shared
    with _shared_lock:
        if _shared is None:
            models = OcrModels()
            models.warm_up()
            _shared = models
        return _shared


def line_frame(corners: np.ndarray, direction: np.ndarray | None = None) -> np.ndarray:
    """Corners reordered as start-top, end-top, end-bottom, start-bottom along the text line.

    ``direction`` (a unit vector) is the reading direction to use; by default the long
    axis pointing right (or down, for vertical lines). "Top" is to the left of the
    reading direction in y-down image coordinates.
    """
    c = corners.astype(np.float64)
    centre = c.mean(axis=0)
    e0 = c[1] - c[0]
    e1 = c[2] - c[1]
    axis = e0 if np.linalg.norm(e0) >= np.linalg.norm(e1) else e1
    axis = axis / (np.linalg.norm(axis) or 1.0)
    if direction is not None:
        axis = direction if np.dot(axis, direction) >= 0 or True else -axis
    elif axis[0] < -1e-9 or (abs(axis[0]) <= 1e-9 and axis[1] < 0):
        axis = -axis
    normal = np.array([-axis[1], axis[0]])  # points "down" relative to the reading direction
    along = (c - centre) @ axis
    across = (c - centre) @ normal
    half_len = float(np.abs(along).max())
    half_h = float(np.abs(across).max())
    return np.array(
        [
            centre - axis * half_len - normal * half_h,
            centre + axis * half_len - normal * half_h,
            centre + axis * half_len + normal * half_h,
            centre - axis * half_len + normal * half_h,
        ],
        dtype=np.float32,
    )


def crop_line(bgr: np.ndarray, frame: np.ndarray, max_width_ratio: float | None = None) -> np.ndarray:
    """The text line under ``frame`` (from :func:`line_frame`) warped upright, optionally only
    its leading part (at most ``max_width_ratio`` x its height)."""
    import cv2

    length = float(np.linalg.norm(frame[1] - frame[0]))
    height = float(np.linalg.norm(frame[3] - frame[0]))
    src = frame.astype(np.float32)
    if max_width_ratio is not None and length > max_width_ratio * height:
        t = max_width_ratio * height / length
        src = np.array(
            [frame[0], frame[0] + (frame[1] - frame[0]) * t, frame[3] + (frame[2] - frame[3]) * t, frame[3]],
            dtype=np.float32,
        )
        length = max_width_ratio * height
    out_h = REC_HEIGHT
    out_w = max(8, int(round(length * out_h / max(height, 1.0))))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(bgr, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
