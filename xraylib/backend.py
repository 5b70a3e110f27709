"""Everything that depends on the Keras backend: a quiet import, seeding, arrays, input gradients.

TensorFlow is the default (and CI's) backend; JAX runs the same package on a GPU
(`KERAS_BACKEND=jax`). Every other module uses `keras` and `keras.ops` with plain NumPy arrays.
TF 2.21 writes absl/oneDNN lines to stderr at import even with TF_CPP_MIN_LOG_LEVEL; in a notebook
they land in stored outputs and break nbval, so the import runs with file descriptor 2 silenced.
"""
from __future__ import annotations

import os
import sys

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _quiet_import():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras
        if keras.backend.backend() == "tensorflow":
            import absl.logging
            import tensorflow as tf
            tf.get_logger().setLevel("ERROR")
            absl.logging.set_verbosity(absl.logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras


keras = _quiet_import()
BACKEND: str = keras.backend.backend()


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; on TensorFlow, if asked, also turn on deterministic
    kernels (for the whole process: TensorFlow has no narrower setting)."""
    keras.utils.set_random_seed(seed)
    if deterministic and BACKEND == "tensorflow":
        import tensorflow as tf
        try:
            tf.config.experimental.enable_op_determinism()
        except Exception:  # already enabled
            pass


def to_numpy(x) -> np.ndarray:
    """A backend tensor as a NumPy array."""
    return np.asarray(keras.ops.convert_to_numpy(x))


def input_gradients(fn, x: np.ndarray) -> np.ndarray:
    """d fn(x)[i] / d x[i] for a batch: `fn` maps a batch to one scalar per sample."""
    if BACKEND == "tensorflow":
        import tensorflow as tf
        xb = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xb)
            out = fn(xb)
        return tape.gradient(out, xb).numpy()
    if BACKEND == "jax":
        import jax
        return np.asarray(jax.grad(lambda v: fn(v).sum())(jax.numpy.asarray(x)))
    if BACKEND == "torch":
        import torch
        xb = torch.tensor(x, requires_grad=True)
        fn(xb).sum().backward()
        return xb.grad.detach().cpu().numpy()
    raise NotImplementedError(f"input gradients on the {BACKEND!r} backend")


def versions() -> dict:
    """Backend name and library versions, for run metadata and records."""
    out = {"backend": BACKEND, "keras": keras.__version__}
    if BACKEND == "tensorflow":
        import tensorflow as tf
        out["tensorflow"] = tf.__version__
        out["intra_op_threads"] = tf.config.threading.get_intra_op_parallelism_threads()
    elif BACKEND == "jax":
        import jax
        out["jax"] = jax.__version__
        out["device"] = str(jax.devices()[0].device_kind)
    return out
