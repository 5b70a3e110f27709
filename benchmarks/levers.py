"""Which speed levers help the paper network on this CPU: measured, not assumed (Performance page).

Each lever trains the paper network (200x200, in-memory random images, no augmentation unless the
lever adds our augmentation layers) in its own process, because TensorFlow's thread settings must
be fixed before it starts; the second of two epochs is timed. Each lever is measured REPEATS times
in fresh processes (the slow ones once) and the median is compared: on our 2-core machines the same
process can run at one of two speeds. Writes benchmarks/levers.json (`make bench` runs it after
`xraylib bench`).

    python benchmarks/levers.py [OUT.json]
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = 150
REPEATS = 3
LEVERS = [  # (key the Performance page glues by, what the lever is, its settings)
    ("defaults", "TensorFlow defaults (batch 5)", {}),
    ("spe", "steps_per_execution 16", {"steps_per_execution": 16}),
    ("aug", "augmentation layers (as in our path)", {"aug": True}),
    ("aug_spe", "augmentation layers with steps_per_execution 16",
     {"aug": True, "steps_per_execution": 16}),
    ("batch32", "batch 32 instead of 5 (changes the protocol)", {"batch": 32}),
    ("threads21", "2 intra-op threads, 1 inter-op thread", {"intra": 2, "inter": 1}),
    ("threads11", "1 intra-op thread, 1 inter-op thread", {"intra": 1, "inter": 1}),
    ("bf16", "bfloat16 mixed precision", {"bf16": True, "once": True}),
    ("xla", "XLA jit_compile", {"xla": True, "once": True}),
]


def measure(lever: dict) -> float:
    """Training images per second for one lever (run in a fresh process)."""
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import tensorflow as tf

    from xraylib.augment import Augment
    from xraylib.backend import keras
    from xraylib.config import get_profile
    from xraylib.model import build_model

    if "intra" in lever:
        tf.config.threading.set_intra_op_parallelism_threads(lever["intra"])
        tf.config.threading.set_inter_op_parallelism_threads(lever["inter"])
    if lever.get("bf16"):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.random((IMAGES, 200, 200, 3), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, IMAGES), 3)
    profile = get_profile("paper")
    net = build_model(profile)
    if lever.get("aug"):
        net = keras.Sequential([Augment(profile.augmentation, seed=profile.seed), net])
    net.compile(optimizer=keras.optimizers.RMSprop(1e-4), loss="categorical_crossentropy",
                steps_per_execution=lever.get("steps_per_execution", 1),
                jit_compile=lever.get("xla", False))
    batch = lever.get("batch", 5)
    net.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    start = time.perf_counter()
    net.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return IMAGES / (time.perf_counter() - start)


def main(out: Path) -> None:
    rows = []
    for key, name, lever in LEVERS:
        rates = []
        for _ in range(1 if lever.get("once") else REPEATS):
            print(f"measuring: {name} ...", file=sys.stderr, flush=True)
            done = subprocess.run([sys.executable, __file__, "--one", json.dumps(lever)],
                                  capture_output=True, text=True, check=True)
            rates.append(float(done.stdout.split()[-1]))
        rows.append({"key": key, "lever": name, "runs": len(rates),
                     "images_per_s": round(statistics.median(rates), 1),
                     "min": round(min(rates), 1), "max": round(max(rates), 1)})
    base = rows[0]["images_per_s"]
    for row in rows:
        row["x_defaults"] = round(row["images_per_s"] / base, 2)
    out.write_text(json.dumps({"images": IMAGES, "image_size": 200, "repeats": REPEATS,
                               "levers": rows}, indent=2))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(measure(json.loads(sys.argv[2])))
    else:
        main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks" / "levers.json")
