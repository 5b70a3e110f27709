"""The package runs on Keras' JAX backend too (the GPU path), checked on the CPU.

Keras fixes its backend at import, so each JAX check runs in a fresh process. CI installs jax
(`make test EXTRAS=jax`); elsewhere these tests are skipped with the command that enables them,
but never under CI, where a missing jax must fail the run.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from xraylib import backend, config

ROOT = Path(__file__).resolve().parents[1]
HAS_JAX = importlib.util.find_spec("jax") is not None
needs_jax = pytest.mark.skipif(
    not HAS_JAX and not os.environ.get("CI"),
    reason="jax is not installed: `make test EXTRAS=jax` (or pip install -e .[jax]) runs these")


def run_on_jax(code: str) -> dict:
    """Run `code` (which prints one JSON line last) under KERAS_BACKEND=jax; return that JSON."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_default_backend_is_tensorflow_and_versions_name_it():
    assert backend.BACKEND == "tensorflow"
    assert backend.versions()["backend"] == "tensorflow"
    assert "tensorflow" in backend.versions()


def test_input_gradients_of_a_known_function():
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    grads = backend.input_gradients(lambda v: backend.keras.ops.sum(v * v, axis=1), x)
    np.testing.assert_allclose(grads, 2 * x, rtol=1e-6)


@needs_jax
def test_training_and_saliency_run_on_jax():
    out = run_on_jax("""
import dataclasses, json
import numpy as np
from xraylib import saliency
from xraylib.backend import BACKEND
from xraylib.config import get_profile
from xraylib.train import fit_model, predict_proba
p = dataclasses.replace(get_profile("quick"), epochs=1, batch_size=4)
rng = np.random.default_rng(0)
x = rng.random((12, 96, 96, 3)).astype("float32"); y = np.arange(12) % 3
net, history = fit_model(p, x[:8], y[:8], x[8:], y[8:], seed=1)
prob = predict_proba(net, x[8:])
vanilla = saliency.vanilla_gradients(net, x[:1])
cam = saliency.grad_cam(net, x[:1])
print(json.dumps({"backend": BACKEND, "epochs": len(history), "prob_sum": prob.sum(1).tolist(),
                  "vanilla": [list(vanilla.shape), float(vanilla.max())],
                  "cam": [list(cam.shape), float(cam.max())]}))
""")
    assert out["backend"] == "jax"
    assert out["epochs"] == 1
    np.testing.assert_allclose(out["prob_sum"], 1.0, atol=1e-5)
    assert out["vanilla"][0] == [1, 96, 96] and out["vanilla"][1] > 0
    assert out["cam"][0] == [1, 96, 96] and out["cam"][1] <= 1.0


@needs_jax
def test_grid_trains_members_side_by_side_and_applies_each_schedule():
    out = run_on_jax("""
import dataclasses, json
import numpy as np
from xraylib.config import PROFILES
from xraylib.grid import train_group
from xraylib.ladder import Member
rng = np.random.default_rng(0)
x = (rng.random((40, 96, 96)) * 255).astype(np.uint8); y = np.arange(40) % 3
base = dataclasses.replace(PROFILES["authors"], image_size=96, epochs=3, batch_size=4)
members = [Member("a", "initial", dataclasses.replace(base, lr_patience=1, min_lr=4e-4), 1,
                  np.arange(16), np.arange(16, 28), np.arange(28, 40)),
           Member("b", "initial", dataclasses.replace(base, reduce_lr=False, early_stopping=1), 2,
                  np.arange(20), np.arange(16, 28), np.arange(28, 40))]
outcomes, timing = train_group(members, x, y, log=lambda s: None)
print(json.dumps({"lr": [o.history["lr"] for o in outcomes],
                  "epochs": [len(o.history["epoch"]) for o in outcomes],
                  "stopped": [o.stopped_epoch for o in outcomes],
                  "prob": [np.asarray(o.y_prob).sum(1).round(4).tolist() for o in outcomes],
                  "steps": timing["steps_per_epoch"], "images": timing["train_images"]}))
""")
    # Member a: val accuracy on random data rarely improves by 1e-4 twice in a row; its rate may
    # only be halved (patience 1) and never below its floor 4e-4.
    lr_a = out["lr"][0]
    assert lr_a[0] == pytest.approx(1e-3)
    assert all(b in (a, max(a / 2, 4e-4)) for a, b in zip(lr_a, lr_a[1:]))
    # Member b keeps its rate; early stopping (patience 1) may end it before epoch 3.
    assert all(v == pytest.approx(1e-3) for v in out["lr"][1])
    stopped = out["stopped"][1]
    assert out["epochs"][1] == (stopped if stopped else 3)
    assert out["steps"] == 16 // 4  # the shortest member's training set sets the steps
    assert out["images"] == sum(out["epochs"]) * 4 * 4
    for sums in out["prob"]:
        assert len(sums) == 12 and np.allclose(sums, 1.0, atol=1e-3)


LIGHT = ["xraylib.data", "xraylib.splits", "xraylib.paper", "xraylib.regions", "xraylib.metrics",
         "xraylib.baseline", "xraylib.shortcuts", "xraylib.cv", "xraylib.record", "xraylib.ladder",
         "xraylib.ladder_record", "xraylib.ladder_tables", "xraylib.wording", "xraylib.provenance",
         "xraylib.reproducibility", "xraylib.ablation",
         "xraylib.protocols", "xraylib.importer", "xraylib.config", "xraylib.reserved",
         "xraylib.overlap", "xraylib.demographics", "xraylib.stress_plan", "xraylib.spread"]


@pytest.mark.parametrize("module", LIGHT)
def test_reading_data_records_and_metrics_needs_no_keras(module):
    """What a reader of records or data needs starts in a second, without the Keras backend."""
    code = f"import sys, {module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=config.project_root(), check=True)
    assert run.stdout.strip() == "False"


def test_no_module_but_the_backend_imports_tensorflow():
    offenders = [p.name for p in Path(config.project_root(), "xraylib").glob("*.py")
                 if p.name != "backend.py" and re.search(r"^\s*(import|from) tensorflow", p.read_text(), re.M)]
    assert offenders == []
