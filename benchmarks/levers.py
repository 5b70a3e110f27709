"""The paper network's CPU training against the machine: where a step's time goes, which settings
help, and what share of the processor's own matrix-multiply rate a training reaches (Performance
page).

Every setting trains the paper network (200x200, batch 5, in-memory random images: the arithmetic
does not depend on the pixels) in fresh processes, because TensorFlow's thread settings must be
fixed before it starts. Each process times WINDOWS epochs of IMAGES images and, between them, an
fp32 4096x4096 matrix multiply (sgemm, the rate the processor reaches on dense arithmetic): on our
2-core machines one process switches between two speeds, so medians of windows are compared, with
their range. The ratio to sgemm counts a training image as three forward passes (forward, input
gradients, weight gradients: model.forward_flops). A profile of one epoch (TensorFlow's profiler)
splits the op time by kind, with Keras' batch normalisation and with the fused one the project trains
with (backend.BatchNormalization). Writes benchmarks/levers.json (`make bench`).

    python benchmarks/levers.py [OUT.json]
"""
from __future__ import annotations

import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = 100
WINDOWS = 4
REPEATS = 2
SGEMM_N = 4096
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
LEVERS = [  # (key the Performance page glues by, what the setting is, its settings)
    ("ours", "the project's training path (fused batch norm, augmentation layer)", {}),
    ("keras_bn", "Keras' own batch normalisation (the path before the fused layer)", {"keras_bn": True}),
    ("no_aug", "without the augmentation layer (changes the protocol)", {"aug": False}),
    ("spe", "16 training steps per call (steps_per_execution)", {"steps_per_execution": 16}),
    ("batch32", "batch 32 instead of 5 (changes the protocol)", {"batch": 32}),
    ("threads21", "2 intra-op threads, 1 inter-op thread", {"env": {"TF_NUM_INTRAOP_THREADS": "2",
                                                                   "TF_NUM_INTEROP_THREADS": "1"}}),
    ("threads11", "1 thread (1 intra-op, 1 inter-op)", {"env": ONE_THREAD}),
    ("bf16", "bfloat16 mixed precision (changes the arithmetic)", {"bf16": True}),
    ("side_by_side", "two trainings side by side, 1 thread each (both counted)",
     {"env": ONE_THREAD, "processes": 2}),
    ("xla", "XLA jit_compile", {"xla": True, "once": True, "windows": 2}),
]
BASE = "ours"


def _sgemm(tf) -> float:
    a, b = tf.random.uniform((SGEMM_N, SGEMM_N)), tf.random.uniform((SGEMM_N, SGEMM_N))
    start = time.perf_counter()
    tf.matmul(a, b).numpy()
    return 2 * SGEMM_N ** 3 / (time.perf_counter() - start) / 1e9


def _trainer(lever: dict):
    """The paper network behind the project's augmentation layer, compiled as train.fit_model does."""
    from unittest import mock

    import numpy as np

    from xraylib import model as xmodel
    from xraylib.augment import Augment
    from xraylib.backend import keras, seed_everything
    from xraylib.config import get_profile

    profile = get_profile("authors")
    seed_everything(0)
    rng = np.random.default_rng(0)
    x = rng.random((IMAGES, 200, 200, 3), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, IMAGES), 3)
    norm = keras.layers.BatchNormalization if lever.get("keras_bn") else xmodel.BatchNormalization
    with mock.patch.object(xmodel, "BatchNormalization", norm):
        if lever.get("bf16"):
            keras.mixed_precision.set_global_policy("mixed_bfloat16")
        net = xmodel.build_model(profile)
        keras.mixed_precision.set_global_policy("float32")
    layers = [keras.Input((200, 200, 3))]
    if lever.get("aug", True):  # the ranges stay float32 under bf16
        layers.append(Augment(profile.augmentation, seed=0, dtype="float32"))
    trainer = keras.Sequential([*layers, net])
    trainer.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="categorical_crossentropy",
                    metrics=["accuracy"], steps_per_execution=lever.get("steps_per_execution", 1),
                    jit_compile=lever.get("xla", False))
    return trainer, x, y


def measure(lever: dict) -> dict:
    """Training images/s per window, the cores it kept busy (CPU time over wall time) and sgemm
    GFLOP/s between windows (one fresh process)."""
    sys.path.insert(0, str(ROOT))
    trainer, x, y = _trainer(lever)
    import tensorflow as tf

    batch = lever.get("batch", 5)
    trainer.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # traces the step
    _sgemm(tf)
    rates, sgemm, busy = [], [], []
    for _ in range(lever.get("windows", WINDOWS)):
        sgemm.append(_sgemm(tf))
        start, cpu = time.perf_counter(), time.process_time()
        trainer.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        wall = time.perf_counter() - start
        rates.append(IMAGES / wall)
        busy.append((time.process_time() - cpu) / wall)  # cores kept busy on average
    return {"rates": rates, "sgemm": sgemm, "cores_busy": busy}


def _category(name: str) -> str | None:
    """The kind of work of one profiled op ("path/of/op:OpType"), forward or backward."""
    path, _, kind = name.rpartition(":")
    p = path.lower()
    if not path.startswith("StatefulPartitionedCall") or kind.startswith("_Arg"):
        return None
    if "augment" in p:
        what = "augmentation"
    elif "rmsprop" in p or "assignvariable" in kind.lower():
        what = "optimizer"
    elif re.search(r"/conv\d", p):
        what = "convolutions"
    elif re.search(r"/bn", p):
        what = "batch norm"
    elif "/pool" in p:
        what = "max pooling"
    elif "/drop" in p:
        what = "dropout"
    elif "/dense" in p or "/predictions" in p:
        what = "dense layers"
    else:
        what = "loss and the rest"
    if what == "optimizer":
        return "optimizer update"
    return f"{what}, {'backward' if 'gradient_tape' in p else 'forward'}"


def profile_step(lever: dict) -> dict:
    """Seconds of op time (summed over threads) by kind, over one profiled epoch of IMAGES images."""
    sys.path.insert(0, str(ROOT))
    trainer, x, y = _trainer(lever)
    import tensorflow as tf
    try:
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    except ImportError as exc:  # the module moved between TensorFlow releases
        raise SystemExit(f"this TensorFlow has no profiler protobuf ({exc}); the profile needs TF 2.16-2.21") from None

    trainer.fit(x, y, batch_size=5, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        start = time.perf_counter()
        trainer.fit(x, y, batch_size=5, epochs=1, verbose=0)
        wall = time.perf_counter() - start
        tf.profiler.experimental.stop()
        (path,) = Path(logdir).rglob("*.xplane.pb")
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
    seconds = collections.Counter()
    for plane in space.planes:
        names = plane.event_metadata
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                what = _category(names[event.metadata_id].name)
                if what:
                    seconds[what] += event.duration_ps / 1e12
    return {"wall_s": round(wall, 3), "images": IMAGES,
            "op_seconds": {k: round(v, 4) for k, v in seconds.most_common()}}


def _child(kind: str, lever: dict, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, kind, json.dumps(lever)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})


def _result(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"a measuring process failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def machine_info() -> dict:
    sys.path.insert(0, str(ROOT))
    from xraylib.backend import versions
    from xraylib.provenance import cpu_info
    return {"cpus": os.cpu_count(), **cpu_info(), **versions()}


def main(out: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from xraylib.config import get_profile
    from xraylib.model import build_model, forward_flops

    train_gflop = 3 * forward_flops(build_model(get_profile("authors"))) / 1e9
    rows, machine_sgemm = [], []
    for key, name, lever in LEVERS:
        rates, sgemm, busy = [], [], []
        for _ in range(1 if lever.get("once") else REPEATS):
            print(f"measuring: {name} ...", file=sys.stderr, flush=True)
            procs = [_child("--one", lever, lever.get("env")) for _ in range(lever.get("processes", 1))]
            results = [_result(p) for p in procs]
            # side by side: the machine's rate is the sum of the processes' rates, window by window
            rates += [sum(w) for w in zip(*(r["rates"] for r in results))]
            sgemm += [s for r in results for s in r["sgemm"]]
            busy += [sum(w) for w in zip(*(r["cores_busy"] for r in results))]
        if lever.get("env", {}).get("TF_NUM_INTRAOP_THREADS") != "1":
            machine_sgemm += sgemm  # the all-core rate; one-thread processes measure one core
        rows.append({"key": key, "lever": name, "windows": len(rates),
                     "images_per_s": round(statistics.median(rates), 1),
                     "min": round(min(rates), 1), "max": round(max(rates), 1),
                     "cores_busy_slowest": round(busy[rates.index(min(rates))], 2),
                     "cores_busy_fastest": round(busy[rates.index(max(rates))], 2),
                     "sgemm_gflops_in_process": round(statistics.median(sgemm), 1)})
    sgemm_all = statistics.median(machine_sgemm)
    base = next(r for r in rows if r["key"] == BASE)["images_per_s"]
    for row in rows:
        row["x_ours"] = round(row["images_per_s"] / base, 2)
        row["train_gflops"] = round(row["images_per_s"] * train_gflop, 1)
        row["share_of_sgemm"] = round(row["images_per_s"] * train_gflop / sgemm_all, 3)
    print("profiling one epoch ...", file=sys.stderr, flush=True)
    profiles = {key: _result(_child("--profile", lever)) for key, _, lever in LEVERS
                if key in ("ours", "keras_bn")}
    out.write_text(json.dumps({
        "images": IMAGES, "windows": WINDOWS, "repeats": REPEATS, "image_size": 200, "batch_size": 5,
        "train_gflop_per_image": round(train_gflop, 3), "sgemm_n": SGEMM_N,
        "sgemm_gflops": round(sgemm_all, 1), "base": BASE, "levers": rows, "profiles": profiles,
        "machine": machine_info(), "measured": time.strftime("%Y-%m-%d")}, indent=2))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(json.loads(sys.argv[2]))))
    elif sys.argv[1:2] == ["--profile"]:
        print(json.dumps(profile_step(json.loads(sys.argv[2]))))
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "levers.json")
