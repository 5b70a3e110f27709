"""Everything that depends on the Keras backend: a quiet import, seeding, arrays, input gradients.

TensorFlow is the default (and CI's) backend; JAX runs the same package on a GPU
(`KERAS_BACKEND=jax`). Every other module uses `keras` and `keras.ops` with plain NumPy arrays.
TF 2.21 writes absl/oneDNN lines to stderr at import even with TF_CPP_MIN_LOG_LEVEL; in a notebook
they land in stored outputs and break nbval, so the import runs with file descriptor 2 silenced.
"""
from __future__ import annotations

import os
import sys
import weakref

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


@keras.saving.register_keras_serializable(package="xraylib")
class BatchNormalization(keras.layers.BatchNormalization):
    """Keras' batch normalization; in training on TensorFlow, one fused kernel instead of a dozen.

    Why: Keras 3 normalizes with separate mean, variance, multiply and add ops, whose forward and
    backward passes took 29% of a 200 px training step on a 2-core CPU (benchmarks/levers.py);
    TensorFlow's FusedBatchNormV3 (oneDNN) does the same arithmetic in one op each way, in another
    order: a layer's outputs and gradients match Keras' to 1e-6, a whole network's gradients err
    from a float64 reference by the same order as Keras' own (tests/test_fused_batchnorm.py). The
    fused op returns the batch variance with Bessel's correction, undone here because Keras' moving
    variance uses the biased one. Inference, masks, other dtypes and other backends take Keras' own
    path."""

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (BACKEND != "tensorflow" or not (training and self.trainable) or mask is not None
                or self.renorm or not (self.scale and self.center) or rank not in (2, 4)
                or self.axis not in (-1, rank - 1) or inputs.dtype.name != "float32"):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf
        x = inputs if rank == 4 else inputs[:, None, None, :]
        empty = tf.constant([], tf.float32)
        y, mean, unbiased, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=self.gamma, offset=self.beta, mean=empty, variance=empty,
            epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
        variance = unbiased * ((n - 1.0) / n)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        return y if rank == 4 else y[:, 0, 0, :]


_COMPILED_GRADIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""One traced gradient function per model (TensorFlow): tracing once and running the graph takes
half the time of eager gradients at 200 px, batch 32 (saliency, chapter 7)."""


def class_logit_gradients(model, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """d model(x)[i, idx[i]] / d x[i] for a batch (inference mode): each image's gradient of the
    output it is asked about. On TensorFlow a traced graph per model (same arithmetic as eager)."""
    cols = np.asarray(idx, dtype=np.int32)
    if BACKEND != "tensorflow":
        column = keras.ops.convert_to_tensor(cols[:, None])
        return input_gradients(
            lambda xb: keras.ops.take_along_axis(model(xb, training=False), column, axis=1)[:, 0], x)
    import tensorflow as tf
    fn = _COMPILED_GRADIENTS.get(model)
    if fn is None:
        ref = weakref.ref(model)  # the graph must not keep its model alive (the dict's key)

        @tf.function(reduce_retracing=True)
        def fn(xb, c):
            with tf.GradientTape() as tape:
                tape.watch(xb)
                out = tf.gather(ref()(xb, training=False), c, axis=1, batch_dims=1)
            return tape.gradient(out, xb)
        _COMPILED_GRADIENTS[model] = fn
    return fn(tf.convert_to_tensor(x), tf.convert_to_tensor(cols)).numpy()


def versions() -> dict:
    """Backend name and library versions, for run metadata and records."""
    out = {"backend": BACKEND, "keras": keras.__version__}
    if BACKEND == "tensorflow":
        import tensorflow as tf
        out["tensorflow"] = tf.__version__
        # 0 means "TensorFlow's default", which TF_NUM_INTRAOP_THREADS overrides (stress train --workers)
        out["intra_op_threads"] = (tf.config.threading.get_intra_op_parallelism_threads()
                                   or int(os.environ.get("TF_NUM_INTRAOP_THREADS", 0)))
    elif BACKEND == "jax":
        import jax
        out["jax"] = jax.__version__
        out["device"] = str(jax.devices()[0].device_kind)
    return out
