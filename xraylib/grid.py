"""Many trainings side by side in one compiled step (JAX backend): seeds and ladder rungs on a GPU.

Why: at batch 5 one network leaves a GPU nearly idle, and the ablation needs dozens of trainings.
Members of a group share the architecture and batch size and may differ in seed, data split,
learning rate, schedule and augmentation ranges. Their weights are stacked and one `jax.vmap`-ed,
`jit`-compiled epoch (a `lax.scan` over the steps) trains all of them, with Keras' own layers, loss
and RMSprop run statelessly inside. ReduceLROnPlateau and EarlyStopping are applied per member
between epochs exactly as the Keras callbacks do; a stopped member's state is frozen, so its test
predictions are those of the epoch it stopped at (EarlyStopping without weight restoring).

Each epoch draws a fresh shuffle and runs n_train // batch steps (the authors' steps_per_epoch);
the remainder differs from epoch to epoch. The batches come from train.epoch_order with
RandomState(seed), as on the CPU path, so one seed trains on the same batches there and here
(a group runs its smallest member's steps: a fold of 890 among folds of 889 runs 177, not 178).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .augment import Augment
from .backend import BACKEND, keras, versions
from .config import CLASSES, Profile
from .ladder import Member, group_key
from .ladder_record import HISTORY
from .model import build_model
from .train import epoch_order


@dataclass
class Outcome:
    """What a member's training left: per-epoch history, test probabilities, the epoch it stopped."""

    member: Member
    history: dict = field(default_factory=dict)
    y_prob: np.ndarray | None = None
    stopped_epoch: int | None = None


class Schedule:
    """Keras' ReduceLROnPlateau (val accuracy, min_delta 1e-4) and EarlyStopping (val loss, min_delta
    0), stepped once per epoch for one member."""

    def __init__(self, p: Profile):
        self.p, self.lr = p, float(np.float32(p.learning_rate))
        self.best_acc, self.wait_lr = -math.inf, 0
        self.best_loss, self.wait_es = math.inf, 0
        self.stopped: int | None = None

    def end_epoch(self, epoch: int, val_acc: float, val_loss: float) -> None:
        p = self.p
        if p.reduce_lr:
            if val_acc > self.best_acc + 1e-4:
                self.best_acc, self.wait_lr = val_acc, 0
            else:
                self.wait_lr += 1
                if self.wait_lr >= p.lr_patience:
                    if np.float32(self.lr) > np.float32(p.min_lr):
                        self.lr = float(np.float32(max(self.lr * p.lr_factor, p.min_lr)))
                    self.wait_lr = 0
        if p.early_stopping:
            if val_loss < self.best_loss:
                self.best_loss, self.wait_es = val_loss, 0
            else:
                self.wait_es += 1
                if self.wait_es >= p.early_stopping and epoch > 0:
                    self.stopped = epoch + 1


def _require_jax():
    if BACKEND != "jax":
        raise RuntimeError(f"xraylib.grid trains with the JAX backend (set KERAS_BACKEND=jax before "
                           f"importing xraylib); this process uses {BACKEND!r}")
    import jax
    return jax


def _padded(indices: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Index lists of unequal length as one [M, n_max] array (padding index 0) and a mask."""
    n = max(len(i) for i in indices)
    out, mask = np.zeros((len(indices), n), np.int32), np.zeros((len(indices), n), bool)
    for m, idx in enumerate(indices):
        out[m, :len(idx)], mask[m, :len(idx)] = idx, True
    return out, mask


class TooSlow(RuntimeError):
    """A group's measured epochs project past its deadline; it stops early and says its rate."""


def _group_shape(members: list[Member], x_gray: np.ndarray) -> tuple[int, int, int, int]:
    """Image size, batch, epochs and steps per epoch of a group; refuses a group that is not one."""
    keys = {group_key(m.profile) for m in members}
    if len(keys) != 1:
        raise ValueError(f"one group trains one architecture and batch size; got {sorted(keys)}")
    if any(m.profile.restore_best for m in members):
        raise ValueError("restore_best is not supported by the grid (the paper keeps the last epoch)")
    p0 = members[0].profile
    size, batch, epochs = p0.image_size, p0.batch_size, max(m.profile.epochs for m in members)
    if x_gray.shape[1:] != (size, size):
        raise ValueError(f"images are {x_gray.shape[1:]}, the profile wants {size}x{size}")
    return size, batch, epochs, min(len(m.train) for m in members) // batch


def group_order(members: list[Member], rngs: list[np.random.RandomState], steps: int,
                batch: int) -> np.ndarray:
    """One epoch's batches of every member as rows of the composition, [steps, M, batch]: each
    member's own epoch_order (as its CPU training would draw it), cut to the group's steps."""
    return np.stack([m.train[epoch_order(r, len(m.train), batch)[:steps]]
                     for r, m in zip(rngs, members)], axis=1)


def _initial_states(members: list[Member], size: int):
    """Each member's weights and optimizer state from its own seed, stacked; one template (the
    last member's trainer and optimizer) runs them all. Returns template, optimizer, the
    optimizer's learning-rate slot and the stacked state."""
    jax = _require_jax()
    states = []
    for m in members:
        keras.utils.set_random_seed(m.seed)
        trainer = keras.Sequential([keras.Input((size, size, 3)), Augment(m.profile.augmentation),
                                    build_model(m.profile, size=size)], name="trainer")
        opt = keras.optimizers.RMSprop(m.profile.learning_rate)
        opt.build(trainer.trainable_variables)
        states.append(([v.value for v in trainer.trainable_variables],
                       [v.value for v in trainer.non_trainable_variables],
                       [v.value for v in opt.variables]))
    lr_slot = [i for i, v in enumerate(opt.variables) if v.path.endswith("learning_rate")][0]
    return trainer, opt, lr_slot, jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *states)


class _Compiled:
    """The group's jit-compiled epoch (a scan of vmapped steps) and its chunked prediction."""

    def __init__(self, template, optimizer, x_gray: np.ndarray, y: np.ndarray, chunk: int):
        self.jax = jax = _require_jax()
        self.template, self.optimizer, self.chunk = template, optimizer, chunk
        self.x, self.y = jax.numpy.asarray(x_gray), jax.numpy.asarray(y.astype(np.int32))
        self.epoch = jax.jit(self._epoch, donate_argnums=0)
        self._predict_jit = jax.jit(self._predict_chunk)

    def _batch(self, idx):  # uint8 gray -> float RGB in [0, 1], one-hot labels
        jnp = self.jax.numpy
        xb = self.x[idx].astype("float32") / 255.0
        return jnp.repeat(xb[..., None], 3, axis=-1), self.jax.nn.one_hot(self.y[idx], len(CLASSES))

    def _step(self, st, idx, active):
        jax, jnp = self.jax, self.jax.numpy
        tv, ntv, ov = st
        xb, yb = self._batch(idx)

        def loss_fn(tv_):
            probs, ntv_new = self.template.stateless_call(tv_, ntv, xb, training=True)
            return keras.losses.categorical_crossentropy(yb, probs).mean(), (ntv_new, probs)

        (loss, (ntv_new, probs)), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv)
        tv_new, ov_new = self.optimizer.stateless_apply(ov, grads, tv)
        keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(active, a, b), new, old)  # noqa: E731
        acc = (probs.argmax(-1) == yb.argmax(-1)).mean()
        return (keep(tv_new, tv), keep(ntv_new, ntv), keep(ov_new, ov)), (loss, acc)

    def _epoch(self, st, order, active):  # order [steps, M, B]
        v_step = self.jax.vmap(self._step)
        return self.jax.lax.scan(lambda s, idx: v_step(s, idx, active), st, order)

    def _predict_chunk(self, st, idx):  # idx [M, chunk]
        tv, ntv, _ = st
        return self.jax.vmap(lambda t, n, i: self.template.stateless_call(
            t, n, self._batch(i)[0], training=False)[0])(tv, ntv, idx)

    def predict(self, st, index_lists: list[np.ndarray]) -> list[np.ndarray]:
        """Each member's probabilities on its own index list."""
        idx, mask = _padded(index_lists)
        n_pad = -(-idx.shape[1] // self.chunk) * self.chunk
        idx = np.pad(idx, ((0, 0), (0, n_pad - idx.shape[1])))
        out = np.concatenate([np.asarray(self._predict_jit(st, self.jax.numpy.asarray(idx[:, i:i + self.chunk])))
                              for i in range(0, n_pad, self.chunk)], axis=1)
        return [out[m, :mask[m].sum()] for m in range(len(index_lists))]


def _end_epoch(epoch: int, members: list[Member], schedules: list[Schedule], history: list[dict],
               active: np.ndarray, val: list[np.ndarray], loss: np.ndarray, acc: np.ndarray,
               y: np.ndarray) -> None:
    """Each active member's epoch into its history, and its schedule stepped (Keras' callbacks)."""
    for k, (m, s, h) in enumerate(zip(members, schedules, history)):
        if not active[k]:
            continue
        yv, pv = y[m.val], val[k]
        val_loss = float(np.mean(-np.log(np.clip(pv[np.arange(len(yv)), yv], 1e-7, 1.0))))
        val_acc = float(np.mean(pv.argmax(1) == yv))
        for key, value in (("epoch", epoch + 1), ("loss", float(loss[:, k].mean())),
                           ("accuracy", float(acc[:, k].mean())), ("val_loss", val_loss),
                           ("val_accuracy", val_acc), ("lr", s.lr)):
            h[key].append(value)
        s.end_epoch(epoch, val_acc, val_loss)


def _with_rates(state, lr_slot: int, schedules: list[Schedule]):
    """The stacked state with each member's current learning rate in its optimizer slot."""
    jnp = _require_jax().numpy
    tv, ntv, ov = state
    ov = list(ov)
    ov[lr_slot] = jnp.asarray([s.lr for s in schedules], dtype="float32")
    return (tv, ntv, ov)


def train_group(members: list[Member], x_gray: np.ndarray, y: np.ndarray,
                log: Callable[[str], None] = print, chunk: int = 16,
                deadline: float | None = None) -> tuple[list[Outcome], dict]:
    """Train every member (all with one group_key) side by side; returns outcomes and timings.

    x_gray: uint8 [N, H, W] images of the whole composition; members index into it. deadline: a
    time.time() by which the group must end; after its second epoch a group that would pass it
    raises TooSlow instead of running on.
    """
    jnp = _require_jax().numpy
    size, batch, epochs, steps = _group_shape(members, x_gray)
    t0 = time.time()
    template, optimizer, lr_slot, state = _initial_states(members, size)
    compiled = _Compiled(template, optimizer, x_gray, y, chunk)
    rngs = [np.random.RandomState(m.seed) for m in members]
    schedules = [Schedule(m.profile) for m in members]
    history = [{k: [] for k in HISTORY} for _ in members]
    compile_s, t_train = None, time.time()
    for epoch in range(epochs):
        active = np.array([s.stopped is None and epoch < m.profile.epochs for s, m in zip(schedules, members)])
        if not active.any():
            break
        state = _with_rates(state, lr_slot, schedules)
        order = group_order(members, rngs, steps, batch)
        t_epoch = time.time()
        state, (loss, acc) = compiled.epoch(state, jnp.asarray(order), jnp.asarray(active))
        val = compiled.predict(state, [m.val for m in members])
        compile_s = time.time() - t_epoch if compile_s is None else compile_s
        _end_epoch(epoch, members, schedules, history, active, val, np.asarray(loss), np.asarray(acc), y)
        accs = np.array([h["val_accuracy"][-1] for h in history if h["epoch"]])
        log(f"  epoch {epoch + 1}/{epochs}: {active.sum()} active, val acc median "
            f"{np.median(accs):.3f} (min {accs.min():.3f}, max {accs.max():.3f}), "
            f"{time.time() - t_epoch:.1f} s")
        if deadline and epoch == 1:
            left = (time.time() - t_epoch) * (epochs - 2) + 10
            if time.time() + left > deadline:
                rate = active.sum() * steps * batch / (time.time() - t_epoch)
                raise TooSlow(f"{len(members)} members would need {left:.0f} s more at "
                              f"{rate:.0f} images/s (first epoch, compile included: {compile_s:.0f} s)")
    train_s = time.time() - t_train
    probs = compiled.predict(state, [m.test for m in members])
    outcomes = [Outcome(m, h, pr, s.stopped) for m, h, pr, s in zip(members, history, probs, schedules)]
    images = sum(len(h["epoch"]) * steps * batch for h in history)
    timing = {"members": len(members), "steps_per_epoch": steps, "build_s": round(t_train - t0, 1),
              "first_epoch_s": round(compile_s or 0.0, 1), "train_s": round(train_s, 1),
              "total_s": round(time.time() - t0, 1), "train_images": images,
              "images_per_s": round(images / train_s, 1), **versions()}
    return outcomes, timing
