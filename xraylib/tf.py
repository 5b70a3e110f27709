"""Import TensorFlow and Keras quietly and once.

TF 2.21 writes absl/oneDNN lines to stderr at import even with TF_CPP_MIN_LOG_LEVEL; in a notebook
they land in stored outputs and break nbval, so the import runs with file descriptor 2 silenced.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _quiet_import():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf  # noqa: PLC0415
        import keras  # noqa: PLC0415
        tf.get_logger().setLevel("ERROR")
        import absl.logging  # noqa: PLC0415
        absl.logging.set_verbosity(absl.logging.ERROR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tf, keras


tf, keras = _quiet_import()


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TF, and ask TF for deterministic kernels (same machine, same numbers)."""
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # already enabled
        pass
