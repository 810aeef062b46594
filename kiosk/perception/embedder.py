"""Face embeddings from dlib's face-recognition ResNet, converted to TFLite, on LiteRT.

The models (``models/face_embedder_{int8,fp16,fp32}.tflite``, built by
``scripts/build_face_models.py``) take one 150x150 RGB uint8 chip cut by
:func:`kiosk.perception.chip.face_chip` and give a 128-d float32 descriptor on dlib's own scale
(not normalised): the Euclidean distance between two descriptors is what dlib compares with 0.6.
The input normalisation ((pixel - mean) / 256) is folded into the model, so raw pixels go in.

Every model's sha256 is checked against ``models/manifest.json`` before it is loaded; a tampered
or truncated file raises :class:`~kiosk.errors.ModelError`. No dlib and no TensorFlow at run time:
the interpreter comes from ``ai-edge-litert``, else ``tflite-runtime``, else ``tensorflow.lite``.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import InputError, ModelError
from kiosk.models import model_entry, verified_model_path
from kiosk.perception.chip import CHIP_SIZE_PX

log = logging.getLogger(__name__)

#: Length of one descriptor.
EMBEDDING_DIM = 128


class EmbedderVariant(str, enum.Enum):
    """Which conversion of the network to run. ``int8`` is the kiosk default (fastest)."""

    INT8 = "int8"
    FP16 = "fp16"
    FP32 = "fp32"

    @property
    def model_name(self) -> str:
        """Manifest name of this variant's model, e.g. ``face_embedder_int8``."""
        return f"face_embedder_{self.value}"


def parse_variant(variant: str | EmbedderVariant) -> EmbedderVariant:
    """``"int8"``/``"fp16"``/``"fp32"`` (any case) to :class:`EmbedderVariant`; an unknown name
    raises :class:`ModelError` listing the valid ones."""
    if isinstance(variant, EmbedderVariant):
        return variant
    try:
        return EmbedderVariant(str(variant).strip().lower())
    except ValueError:
        valid = ", ".join(v.value for v in EmbedderVariant)
        raise ModelError(f"unknown face embedder variant {variant!r} (valid: {valid})") from None


def _interpreter_class() -> tuple[Any, str]:
    """The first TFLite interpreter that imports: LiteRT, tflite-runtime, TensorFlow."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai_edge_litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite_runtime"
    except ImportError:
        pass
    try:
        import tensorflow as tf

        return tf.lite.Interpreter, "tensorflow.lite"
    except ImportError:
        pass
    raise ModelError("no TFLite interpreter: install ai-edge-litert (or tflite-runtime)")


@dataclass(frozen=True)
class EmbedderInfo:
    """What was loaded. ``load_ms``: wall time of sha256 check + interpreter setup, milliseconds."""

    variant: EmbedderVariant
    model_name: str
    path: Path
    sha256: str
    runtime: str
    num_threads: int
    input_dtype: str
    input_scale: float
    input_zero_point: int
    load_ms: float


class FaceEmbedder:
    """One TFLite interpreter (XNNPACK, ``num_threads`` threads) for one model variant.

    ``embed`` is thread-safe (calls are serialised). Use as a context manager or call ``close``.

    Args:
        variant: ``"int8"`` (default), ``"fp16"`` or ``"fp32"``.
        num_threads: interpreter threads, >= 1 (default 2).
        models_directory: where ``manifest.json`` and the models are (default ``kiosk.paths.models_dir``).
    """

    def __init__(
        self,
        variant: str | EmbedderVariant = EmbedderVariant.INT8,
        num_threads: int = 2,
        models_directory: Path | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.variant = parse_variant(variant)
        if not isinstance(num_threads, int) or num_threads < 1:
            raise ModelError(f"face embedder num_threads must be an integer >= 1, got {num_threads!r}")
        name = self.variant.model_name
        path = verified_model_path(name, models_directory)  # raises ModelError when tampered
        sha = str(model_entry(name, models_directory).get("sha256", ""))
        interp_cls, runtime = _interpreter_class()
        self._interp: Any = None
        try:
            # The default op resolver applies the XNNPACK delegate (float and int8 kernels).
            self._interp = interp_cls(model_path=str(path), num_threads=num_threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load face embedder {path}: {exc}") from exc
        inp = self._interp.get_input_details()
        out = self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{path}: expected one input and one output tensor")
        self._in, self._out = inp[0], out[0]
        want = (1, CHIP_SIZE_PX, CHIP_SIZE_PX, 3)
        if tuple(int(v) for v in self._in["shape"]) != want:
            raise ModelError(f"{path}: input shape {tuple(self._in['shape'])}, expected {want}")
        if int(np.prod(self._out["shape"])) != EMBEDDING_DIM:
            raise ModelError(f"{path}: output shape {tuple(self._out['shape'])}, expected 128 values")
        self._in_dtype = np.dtype(self._in["dtype"])
        scale, zp = self._in["quantization"]
        self._scale, self._zp = float(scale), int(zp)
        if self._in_dtype not in (np.dtype(np.float32), np.dtype(np.uint8), np.dtype(np.int8)):
            raise ModelError(f"{path}: unsupported input type {self._in_dtype}")
        if self._in_dtype != np.float32 and self._scale <= 0.0:
            raise ModelError(f"{path}: integer input without quantization parameters")
        self._lock = threading.Lock()
        self.info = EmbedderInfo(
            variant=self.variant,
            model_name=name,
            path=path,
            sha256=sha,
            runtime=runtime,
            num_threads=num_threads,
            input_dtype=self._in_dtype.name,
            input_scale=self._scale,
            input_zero_point=self._zp,
            load_ms=(time.perf_counter() - t0) * 1000.0,
        )
        log.info(
            "face embedder %s loaded (%s, %d threads, input %s) in %.0f ms",
            name,
            runtime,
            num_threads,
            self._in_dtype.name,
            self.info.load_ms,
        )

    # -- input ---------------------------------------------------------------------------------

    @staticmethod
    def _as_batch(chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        if isinstance(chips, np.ndarray):
            arr = chips
        else:
            if len(chips) == 0:
                return np.zeros((0, CHIP_SIZE_PX, CHIP_SIZE_PX, 3), dtype=np.uint8)
            try:
                arr = np.stack([np.asarray(c) for c in chips])
            except ValueError as exc:
                raise InputError(f"face chips must all be 150x150x3: {exc}") from None
        if arr.ndim == 3:
            arr = arr[None]
        if arr.ndim != 4 or arr.shape[1:] != (CHIP_SIZE_PX, CHIP_SIZE_PX, 3):
            raise InputError(
                f"face chips must be (N, {CHIP_SIZE_PX}, {CHIP_SIZE_PX}, 3) RGB, got shape {arr.shape}"
            )
        if arr.dtype != np.uint8:
            raise InputError(f"face chips must be uint8 RGB pixels, got {arr.dtype}")
        return arr

    def _model_input(self, chip: np.ndarray) -> np.ndarray:
        x = chip[None]
        if self._in_dtype == np.float32:
            return x.astype(np.float32)
        if self._in_dtype == np.uint8 and self._scale == 1.0 and self._zp == 0:
            return np.ascontiguousarray(x)  # raw pixels are the quantized values
        info = np.iinfo(self._in_dtype)
        q = np.round(x.astype(np.float32) / self._scale) + self._zp
        return np.clip(q, info.min, info.max).astype(self._in_dtype)

    # -- API -----------------------------------------------------------------------------------

    def embed(self, chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Descriptors of face chips.

        ``chips``: one (150, 150, 3) uint8 RGB chip, an (N, 150, 150, 3) array or a list of chips,
        cut by :func:`kiosk.perception.chip.face_chip`. Returns (N, 128) float32, unnormalised, on
        dlib's scale (Euclidean distance < 0.6 is dlib's "same person").
        """
        batch = self._as_batch(chips)
        out = np.empty((batch.shape[0], EMBEDDING_DIM), dtype=np.float32)
        with self._lock:
            interp = self._interp
            if interp is None:
                raise ModelError("face embedder is closed")
            for i in range(batch.shape[0]):
                interp.set_tensor(self._in["index"], self._model_input(batch[i]))
                interp.invoke()
                out[i] = interp.get_tensor(self._out["index"]).reshape(-1)
        return out

    def close(self) -> None:
        with self._lock:
            self._interp = None

    def __enter__(self) -> FaceEmbedder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
