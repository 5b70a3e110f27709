"""What changes the trained numbers on a CPU: measured in fresh processes (Reproducibility page).

Each variant trains the quick profile's initial run for one epoch (its 560 training and 140
validation images, the profile's seed) in a process of its own, because TensorFlow reads its
instruction-set cap and thread counts once, before the first op. Each records the first epoch's
training accuracy and loss and validation accuracy and loss at full precision, and the sha256 of the
final weights (all of `model.get_weights()` as bytes): two variants with the same hash trained
bit-identical networks. A variant changes one thing against the default: the instruction set oneDNN
may use (ONEDNN_MAX_CPU_ISA), the intra-op or inter-op thread count, OMP_NUM_THREADS,
PYTHONHASHSEED, oneDNN off (TF_ENABLE_ONEDNN_OPTS=0, alone and with each cap), or a Jupyter kernel
(nbclient, as `python -m xraylib.book` and nbval run the chapters) instead of a script. The speed
part trains the full five epochs for a few settings, ROUNDS times interleaved, and keeps the fit
seconds of each run and their median. Writes benchmarks/determinism.json.

    python benchmarks/determinism.py --list            # the variants, without training
    python benchmarks/determinism.py [OUT.json]         # all variants and the speed rounds (~30 min on 2 cores)
    python benchmarks/determinism.py --only default isa-avx2   # some variants, JSON to stdout, no speed

Run it on an otherwise idle machine: the speed rounds share its cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[1]
OUT = ROOT / "benchmarks" / "determinism.json"
PROFILE = "quick"
EPOCHS = 1  # one epoch already shows whether two settings train the same network
SPEED_EPOCHS = 5  # the quick profile's full training
ROUNDS = 3
OFF = {"TF_ENABLE_ONEDNN_OPTS": "0"}
RESULT = "RESULT "  # the child's one line of JSON on stdout starts with this


@dataclass(frozen=True)
class Variant:
    """One setting: a key, the factor it tests, its environment, script or kernel, and the variant it
    differs from in that one setting (`against`)."""

    key: str
    factor: str
    setting: str
    env: dict = field(default_factory=dict)
    kernel: bool = False  # run inside a Jupyter kernel (nbclient) instead of a plain script
    against: str = "default"


def variants() -> list[Variant]:
    """Every variant of the determinism table, the default first (twice: is one setting repeatable?)."""
    isa = lambda i: {"ONEDNN_MAX_CPU_ISA": i}  # noqa: E731
    intra = lambda n: {"TF_NUM_INTRAOP_THREADS": str(n)}  # noqa: E731
    out = [Variant("default", "repeat", "TensorFlow defaults", against=""),
           Variant("default-2", "repeat", "TensorFlow defaults, again")]
    out += [Variant(f"isa-{i.lower()}", "instruction set", f"ONEDNN_MAX_CPU_ISA={i}", isa(i))
            for i in ("AVX512_CORE", "AVX2", "AVX", "SSE41")]
    out += [Variant(f"intra-{n}", "intra-op threads", f"TF_NUM_INTRAOP_THREADS={n}", intra(n))
            for n in (1, 2, 4)]
    out += [Variant(f"isa-avx2-intra-{n}", "instruction set and intra-op threads",
                    f"ONEDNN_MAX_CPU_ISA=AVX2, TF_NUM_INTRAOP_THREADS={n}", {**isa("AVX2"), **intra(n)},
                    against="isa-avx2")
            for n in (1, 3, 4)]
    out += [Variant(f"inter-{n}", "inter-op threads", f"TF_NUM_INTEROP_THREADS={n}",
                    {"TF_NUM_INTEROP_THREADS": str(n)}) for n in (1, 4)]
    out += [Variant("omp-1", "OpenMP threads", "OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}),
            Variant("hashseed-0", "Python hash seed", "PYTHONHASHSEED=0", {"PYTHONHASHSEED": "0"})]
    out += [Variant("onednn-off", "oneDNN off", "TF_ENABLE_ONEDNN_OPTS=0", OFF),
            Variant("onednn-off-2", "oneDNN off", "TF_ENABLE_ONEDNN_OPTS=0, again", OFF, against="onednn-off")]
    out += [Variant(f"onednn-off-isa-{i.lower()}", "oneDNN off and instruction set",
                    f"TF_ENABLE_ONEDNN_OPTS=0, ONEDNN_MAX_CPU_ISA={i}", {**OFF, **isa(i)},
                    against="onednn-off")
            for i in ("AVX2", "AVX", "SSE41")]
    out += [Variant("kernel", "Jupyter kernel", "the default in a Jupyter kernel (nbclient)", kernel=True),
            Variant("kernel-2", "Jupyter kernel", "the default in a Jupyter kernel, again", kernel=True,
                    against="kernel")]
    return out


def speed_configs() -> list[Variant]:
    """The settings timed over the full training: the default and the ones a pin would choose."""
    return [Variant("default", "speed", "TensorFlow defaults"),
            Variant("intra-1", "speed", "TF_NUM_INTRAOP_THREADS=1", {"TF_NUM_INTRAOP_THREADS": "1"}),
            Variant("isa-avx2", "speed", "ONEDNN_MAX_CPU_ISA=AVX2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}),
            Variant("isa-avx2-intra-1", "speed", "ONEDNN_MAX_CPU_ISA=AVX2, TF_NUM_INTRAOP_THREADS=1",
                    {"ONEDNN_MAX_CPU_ISA": "AVX2", "TF_NUM_INTRAOP_THREADS": "1"}),
            Variant("onednn-off", "speed", "TF_ENABLE_ONEDNN_OPTS=0", OFF)]


# ----------------------------------------------------------------------------- the child

def train_once(epochs: int = EPOCHS) -> dict:
    """Train the quick profile's initial run for `epochs` in this process; first epoch and weight hash."""
    sys.path.insert(0, str(ROOT))
    from xraylib import data as xdata
    from xraylib import train
    from xraylib.backend import keras
    from xraylib.config import get_profile
    from xraylib.splits import initial_split

    class Raw(keras.callbacks.Callback):  # fit_model's history is rounded; keep every digit
        def __init__(self):
            super().__init__()
            self.logs = []

        def on_epoch_end(self, epoch, logs=None):
            self.logs.append({k: float(v) for k, v in (logs or {}).items()})

    profile = dataclasses.replace(get_profile(PROFILE), epochs=epochs)
    comp = xdata.composition(profile)
    x, y = xdata.load_images(comp, profile.image_size), xdata.labels_of(comp)
    split = initial_split(comp, profile)
    raw = Raw()
    start = time.perf_counter()
    model, _ = train.fit_model(profile, x[split.train], y[split.train], x[split.val], y[split.val],
                               seed=profile.seed, label="determinism", callbacks=[raw])
    fit_s = time.perf_counter() - start
    first, last = raw.logs[0], raw.logs[-1]
    return {"accuracy": first["accuracy"], "loss": first["loss"],
            "val_accuracy": first["val_accuracy"], "val_loss": first["val_loss"],
            "last_accuracy": last["accuracy"], "last_val_accuracy": last["val_accuracy"],
            "weights_sha256": hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest(),
            "fit_s": round(fit_s, 2), "epochs": epochs, "train_images": len(split.train),
            "val_images": len(split.val)}


# ---------------------------------------------------------------------------- the parent

def _env(variant: Variant) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ONEDNN_", "TF_NUM_", "TF_ENABLE_ONEDNN", "OMP_"))}
    env.pop("PYTHONHASHSEED", None)  # `make` exports it; the default must be Python's own
    return {**env, **variant.env}


def _kernel_cell(epochs: int) -> str:
    """The one cell the kernel runs: this file's child mode, called (no sys.exit inside a kernel)."""
    return (f"import runpy\nrunpy.run_path({str(SCRIPT)!r}, run_name='determinism')"
            f"['main'](['--one', '{epochs}'])")


def run_variant(variant: Variant, epochs: int = EPOCHS) -> dict:
    """One variant in a fresh process (a script, or a script that drives a fresh Jupyter kernel)."""
    mode = "--kernel" if variant.kernel else "--one"
    done = subprocess.run([sys.executable, str(SCRIPT), mode, str(epochs)], env=_env(variant),
                          capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT)]
    if done.returncode or not lines:
        raise RuntimeError(f"variant {variant.key} ({variant.setting}) failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT):])


def in_kernel(epochs: int) -> None:
    """Run the child in a fresh Jupyter kernel (the environment is inherited) and relay its result."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_kernel_cell(epochs))])
    NotebookClient(nb, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "chapters")}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("output_type") == "stream")
    print(next(line for line in text.splitlines() if line.startswith(RESULT)), flush=True)


def machine() -> dict:
    """The CPU, its caches (GEMM block sizes follow them) and the library versions."""
    sys.path.insert(0, str(ROOT))
    from xraylib.backend import versions
    from xraylib.provenance import cpu_info

    caches = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        read = lambda name, index=index: (index / name).read_text().strip()  # noqa: E731
        caches[f"L{read('level')}{read('type')[0].lower() if read('level') == '1' else ''}"] = read("size")
    return {"cpus": os.cpu_count(), **cpu_info(), "caches": caches, **versions()}


def speed(rounds: int = ROUNDS, log=print) -> dict:
    """Full-training fit seconds per setting, the settings interleaved round by round."""
    configs = speed_configs()
    times, final = {c.key: [] for c in configs}, {c.key: [] for c in configs}
    for r in range(rounds):
        for c in configs:
            log(f"speed round {r + 1}/{rounds}: {c.setting} ...")
            done = run_variant(c, SPEED_EPOCHS)
            times[c.key].append(done["fit_s"])
            final[c.key].append(done["last_val_accuracy"])
    base_median, base_min = statistics.median(times["default"]), min(times["default"])
    return {"epochs": SPEED_EPOCHS, "rounds": rounds, "configs": [
        {"key": c.key, "setting": c.setting, "env": c.env, "fit_s": times[c.key],
         "median_s": round(statistics.median(times[c.key]), 1), "min_s": round(min(times[c.key]), 1),
         "x_default_median": round(statistics.median(times[c.key]) / base_median, 2),
         "x_default_min": round(min(times[c.key]) / base_min, 2),
         "final_val_accuracy": final[c.key]} for c in configs]}


def measure(chosen: list[Variant], with_speed: bool, log=print) -> dict:
    """Every chosen variant in its own process, then (optionally) the speed rounds."""
    rows = []
    for v in chosen:
        log(f"variant {v.key}: {v.setting} ...")
        rows.append({**dataclasses.asdict(v), **run_variant(v)})
        log(f"  epoch 1 accuracy {rows[-1]['accuracy']:.9f}  weights {rows[-1]['weights_sha256'][:12]}")
    return {"what": "first-epoch numbers and final-weight sha256 of the quick profile's initial run "
                    "under one changed setting per variant, each in a fresh process",
            "provenance": {"measured_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                           "commit": _commit(), "by": "benchmarks/determinism.py"},
            "profile": PROFILE, "epochs": EPOCHS, "machine": machine(), "variants": rows,
            "speed": speed(log=log) if with_speed else None}


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path,
                        help=f"default: {OUT.relative_to(ROOT)} (with --only: standard output)")
    parser.add_argument("--list", action="store_true", help="print the variants and exit (trains nothing)")
    parser.add_argument("--only", nargs="+", metavar="KEY", help="measure only these variants, no speed rounds")
    parser.add_argument("--no-speed", action="store_true", help="skip the full-training speed rounds")
    parser.add_argument("--one", type=int, metavar="EPOCHS", help=argparse.SUPPRESS)  # the child
    parser.add_argument("--kernel", type=int, metavar="EPOCHS", help=argparse.SUPPRESS)  # the child's kernel
    args = parser.parse_args(argv)
    if args.one is not None:
        print(RESULT + json.dumps(train_once(args.one)), flush=True)
        return 0
    if args.kernel is not None:
        in_kernel(args.kernel)
        return 0
    every = variants()
    if args.list:
        for v in every:
            where = "kernel" if v.kernel else "script"
            against = f"  (against {v.against})" if v.against else ""
            print(f"{v.key:22s} {v.factor:38s} {where:6s} {v.setting}{against}")
        print(f"speed ({SPEED_EPOCHS} epochs, {ROUNDS} rounds): " + "; ".join(c.setting for c in speed_configs()))
        return 0
    known = {v.key: v for v in every}
    unknown = sorted(set(args.only or []) - set(known))
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}: `--list` shows the keys")
    chosen = [known[k] for k in args.only] if args.only else every
    result = measure(chosen, with_speed=not (args.only or args.no_speed),
                     log=lambda s: print(s, file=sys.stderr, flush=True))
    out = args.out or (None if args.only else OUT)
    if out is None:
        print(json.dumps(result, indent=1))
    else:
        out.write_text(json.dumps(result, indent=1))
        print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
