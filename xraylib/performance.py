"""What the Performance page computes, section by section, from the committed measurements.

Why here: the page's numbers (what one training and the whole study cost on a CPU and on a GPU,
the loaders compared, the speed levers) come from benchmarks/*.json and records/ladder.json; each
section is one function returning the values the prose glues and the table it shows, columns keyed
by ids and given their display names at the end.
"""
from __future__ import annotations

import json

import pandas as pd

from . import bench, ladder_record, ladder_tables
from .config import project_root

EPOCHS = 25
"""Epochs of one paper-scale training (the paper's protocol)."""

TEST_STEP = "make test, fresh clone (installs included)"
BOOK_STEP = "make book PROFILE=quick from an empty cache (every chapter executed)"
GPU_GROUP = "initial-dropout-0.25"
"""The ladder group whose per-training time stands for one paper-scale training on the GPU."""


def measurements() -> dict:
    """Every measurement the page reads: bench, levers, suite times, the examined network's two
    CPU trainings (cross-machine) and the GPU ladder."""
    folder = project_root() / "benchmarks"
    return {"bench": bench.read_bench(folder / "bench-full.json"),
            "levers": bench.read_bench(folder / "levers.json"),
            "suite": json.loads((folder / "suite-times.json").read_text()),
            "cross_machine": json.loads((folder / "cross-machine.json").read_text())["examined_network"],
            "ladder": ladder_record.read_ladder(project_root() / "records" / "ladder.json")}


def header(meas: dict) -> str:
    """The CPU and the GPU the measurements were taken on (two printed lines)."""
    m, gpu = meas["bench"]["machine"], meas["ladder"].machine
    family = m.get("family_model", "family not recorded")
    return (f"CPU measurements: {m['cpus']} cores of an {m['processor']} ({family}; "
            f"{', '.join(m['vector_extensions'])}), TensorFlow {m['tensorflow']}\n"
            f"GPU measurements: one {gpu['device']}, Keras {gpu['keras']} on JAX {gpu['jax']}")


def _gpu_groups(lad: ladder_record.LadderRecord) -> pd.DataFrame:
    return lad.groups.astype(float)


COST_ROWS = {"training": "one paper-scale training (560 images, 200 px, 25 epochs)",
             "study": "the paper's full study (the initial procedure and five folds)",
             "test": "make test, from a fresh clone", "book": "the quick book, every chapter executed"}
COST_COLUMNS = {"cpu": "on a 2-core CPU", "gpu": "on one GPU, many trainings side by side"}


def costs(meas: dict) -> tuple[dict, pd.DataFrame]:
    """What one training, the paper's study, the tests and the book cost on a CPU and on a GPU."""
    result, lad = meas["bench"], meas["ladder"]
    one_training_min = EPOCHS * result["images"] / result["train_images_per_s"]["ours"] / 60
    total_s = ladder_tables.protocol_seconds(lad, "paper")["total_s"]
    gpu = _gpu_groups(lad)
    per_training_s = gpu["total_s"] / gpu["members"]
    steps = pd.Series(meas["suite"]["seconds"])
    xm = meas["cross_machine"]
    measured = [xm["pinned"]["train_seconds"], xm["record"]["train_seconds"]]
    study_min = result["projected_paper_study_minutes_at_ours"]
    values = {"cpu_measured": f"{min(measured) / 60:.0f} to {max(measured) / 60:.0f}",
              "cpu_one_min": f"{one_training_min:.0f}", "cpu_study_min": f"{study_min:.0f}",
              "gpu_one_s": f"{per_training_s.loc[GPU_GROUP]:.0f}", "gpu_study_s": f"{total_s:.0f}",
              "test_min": f"{steps[TEST_STEP] / 60:.0f}", "book_min": f"{steps[BOOK_STEP] / 60:.0f}",
              "gpu_total_min": f"{gpu['total_s'].sum() / 60:.0f}", "gpu_trainings": f"{gpu['members'].sum():.0f}"}
    table = pd.DataFrame({
        "cpu": [f"about {one_training_min:.0f} min (projected from the benchmark); "
                f"{values['cpu_measured']} min measured (see below)",
                f"about {study_min:.0f} min (projected)", f"{values['test_min']} min (measured once)",
                f"{values['book_min']} min (measured once)"],
        "gpu": [f"about {values['gpu_one_s']} s each (measured)",
                f"about {values['gpu_study_s']} s per seed (measured)", "", ""]}, index=list(COST_ROWS))
    return values, table.rename(index=COST_ROWS, columns=COST_COLUMNS)


def loaders(result: dict) -> tuple[dict, pd.DataFrame]:
    """The three training paths and inference: the benchmark's settings and rates, and its table."""
    rates = result["train_images_per_s"]
    values = {"bench_images": str(result["images"]), "bench_size": f"{result['image_size']}x{result['image_size']}",
              "bench_batch": str(result["batch_size"]), "rate_naive": f"{rates['naive']:.1f}",
              "rate_ours": f"{rates['ours']:.1f}", "rate_limit": f"{rates['limit']:.1f}",
              "ours_over_naive": f"{result['ratio_ours_over_naive']:.2f}",
              "ours_over_limit": f"{100 * result['ratio_ours_over_limit']:.0f}%",
              "infer_rate": f"{result['inference_images_per_s']:.0f}",
              "bench_val_acc": f"{100 * result['val_accuracy_after_bench_epochs']:.1f}%"}
    table = bench.bench_table(result).rename(columns={"what": "path", "x naive": "times the naive path"})
    return values, table.rename_axis(None).astype(object).pipe(lambda t: t.where(t.notna(), ""))


def speed_word(ratio: float) -> str:
    """'faster', 'slower' or 'as fast': a speed ratio against the defaults, within 2% counted equal."""
    return "faster" if ratio > 1.02 else "slower" if ratio < 0.98 else "as fast"


LEVER_COLUMNS = {"runs": "runs", "images_per_s": "median images/s", "min": "slowest", "max": "fastest",
                 "x_defaults": "median, times the defaults"}


def levers(levers_raw: dict, machine: dict) -> tuple[dict, pd.DataFrame]:
    """Each speed lever against the defaults, whether this CPU runs bf16 natively, and the table."""
    table = pd.DataFrame(levers_raw["levers"]).set_index("key")
    native_bf16 = {"avx512_bf16", "amx_bf16"} & set(machine["vector_extensions"])
    values = {"lever_images": str(levers_raw["images"]), "lever_repeats": str(levers_raw["repeats"]),
              **{f"lever_{key}": f"{r:.2f}x the defaults, {speed_word(r)}" for key, r in table["x_defaults"].items()},
              "bf16_hardware": f"this one has {' and '.join(sorted(native_bf16))}, so the arithmetic runs natively"
              if native_bf16 else "this one has neither, so the arithmetic is emulated"}
    return values, table.set_index("lever").rename(columns=LEVER_COLUMNS).rename_axis(None)


GPU_COLUMNS = {"members": "trainings", "steps_per_epoch": "steps per epoch", "first_epoch_s": "first epoch (s)",
               "total_s": "total (s)", "images_per_s": "images/s, all trainings",
               "per_training_rate": "images/s per training", "per_training_s": "seconds per training"}


def gpu_groups(lad: ladder_record.LadderRecord, cpu_rate: float) -> tuple[dict, pd.DataFrame]:
    """The GPU ladder's groups: their rates against the CPU's (`cpu_rate`, images/s), and the table."""
    gpu = _gpu_groups(lad)
    values = {"gpu_device": lad.machine["device"], "gpu_rate_lo": f"{gpu['images_per_s'].min():,.0f}",
              "gpu_rate_hi": f"{gpu['images_per_s'].max():,.0f}",
              "gpu_over_cpu": f"{gpu['images_per_s'].max() / cpu_rate:,.0f}"}
    table = gpu.assign(per_training_rate=gpu["images_per_s"] / gpu["members"],
                       per_training_s=gpu["total_s"] / gpu["members"])[list(GPU_COLUMNS)]
    table = table.round(1).astype({"members": int, "steps_per_epoch": int})
    return values, table.rename(columns=GPU_COLUMNS)


def suite_minutes(suite: dict) -> pd.DataFrame:
    """The suite's measured steps, in minutes."""
    return (pd.Series(suite["seconds"]) / 60).round(1).rename("minutes").to_frame()


def ceiling(levers_raw: dict, tolerance: float = 0.01) -> dict:
    """Which settings tie at one rate (bench.rate_cluster: likely the machine's ceiling, not a
    property of the settings), where the defaults' slowest run sits, and which setting was faster."""
    table = pd.DataFrame(levers_raw["levers"]).set_index("key")
    tied = bench.rate_cluster(table, tolerance=tolerance)
    slowest = table.loc["defaults", "min"]
    lo, hi = tied["images_per_s"].min(), tied["images_per_s"].max()
    faster = table[table["x_defaults"] > 1.02]
    return {"tied_n": str(len(tied)),
            "tied_names": ", ".join(tied["lever"]).replace("steps_per_execution 16", "16 steps per call"),
            "tied_range": f"{lo:.1f}-{hi:.1f}", "defaults_slowest": f"{slowest:.1f}",
            "defaults_slowest_where": "sits at the same rate" if lo * 0.99 <= slowest <= hi * 1.01
            else "lies elsewhere",
            "lever_faster": "no setting was measured faster than the defaults" if faster.empty
            else "faster than the defaults: " + ", ".join(faster["lever"])}
