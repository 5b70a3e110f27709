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


LEVER_COLUMNS = {"windows": "timed epochs", "images_per_s": "median images/s", "min": "slowest",
                 "max": "fastest", "x_ours": "median, times ours", "train_gflops": "training GFLOP/s",
                 "share_of_sgemm": "share of sgemm"}

SGEMM_GOAL = 0.40
"""The share of the processor's sgemm rate a CPU training should reach (a training image counted
as three forward passes); the paper network at batch 5 reached 24-28% before the fused batch norm."""


def levers(levers_raw: dict, machine: dict) -> tuple[dict, pd.DataFrame]:
    """Each setting against the project's path: its rate, its share of the machine's sgemm rate,
    whether this CPU runs bf16 natively, and the table."""
    table = pd.DataFrame(levers_raw["levers"]).set_index("key")
    native_bf16 = {"avx512_bf16", "amx_bf16"} & set(machine["vector_extensions"])
    values = {"lever_images": str(levers_raw["images"]),
              "lever_windows": f"{levers_raw['windows']} timed epochs in each of {levers_raw['repeats']}",
              **{f"lever_{key}": f"{row['images_per_s']:.1f} images/s ({row['min']:.1f}-{row['max']:.1f}), "
                                 f"{row['x_ours']:.2f}x ours, {speed_word(row['x_ours'])}"
                 for key, row in table.iterrows() if key != levers_raw["base"]},
              "bf16_hardware": f"this one has {' and '.join(sorted(native_bf16))}, so the arithmetic runs natively"
              if native_bf16 else "this one has neither, so the arithmetic is emulated"}
    shown = table[list(LEVER_COLUMNS)].assign(share_of_sgemm=table["share_of_sgemm"].map(lambda v: f"{100 * v:.0f}%"))
    return values, shown.set_index(table["lever"]).rename(columns=LEVER_COLUMNS).rename_axis(None)


def against_machine(levers_raw: dict) -> dict:
    """What share of the machine's own matrix-multiply rate one training and two side by side reach,
    before and after the fused batch norm, against the goal (SGEMM_GOAL)."""
    table = pd.DataFrame(levers_raw["levers"]).set_index("key")
    share = lambda key: table.loc[key, "share_of_sgemm"]  # noqa: E731
    reach = lambda key: "reaches" if share(key) >= SGEMM_GOAL else "stays below"  # noqa: E731
    kinds = profile_table(levers_raw)
    bn = kinds.loc[kinds.index.str.startswith("batch norm")].sum() / kinds.sum()
    conv = kinds.loc[kinds.index.str.startswith("convolutions")].sum() / kinds.sum()
    return {"sgemm_gflops": f"{levers_raw['sgemm_gflops']:.0f}", "sgemm_n": str(levers_raw["sgemm_n"]),
            "train_gflop": f"{levers_raw['train_gflop_per_image']:.2f}",
            "goal_share": f"{100 * SGEMM_GOAL:.0f}%",
            **{f"{key}_rate": f"{table.loc[key, 'images_per_s']:.1f}" for key in ("ours", "keras_bn", "side_by_side")},
            **{f"{key}_share": f"{100 * share(key):.0f}%" for key in ("ours", "keras_bn", "side_by_side")},
            **{f"{key}_range": f"{table.loc[key, 'min']:.1f}-{table.loc[key, 'max']:.1f}"
               for key in ("ours", "keras_bn", "side_by_side", "threads11")},
            "ours_reach": reach("ours"), "side_by_side_reach": reach("side_by_side"),
            "ours_busy_slowest": f"{table.loc['ours', 'cores_busy_slowest']:.1f}",
            "ours_busy_fastest": f"{table.loc['ours', 'cores_busy_fastest']:.1f}",
            "side_by_side_busy": _span(table.loc["side_by_side", ["cores_busy_slowest", "cores_busy_fastest"]]),
            "fused_speedup": f"{table.loc['ours', 'images_per_s'] / table.loc['keras_bn', 'images_per_s']:.2f}",
            "bn_share_keras": f"{100 * bn['Keras batch norm']:.0f}%",
            "bn_share_fused": f"{100 * bn['fused batch norm']:.0f}%",
            "conv_share_fused": f"{100 * conv['fused batch norm']:.0f}%"}


def _span(values) -> str:
    """'1.9' or '1.8 to 2.0': a measured range in one decimal."""
    lo, hi = f"{min(values):.1f}", f"{max(values):.1f}"
    return lo if lo == hi else f"{lo} to {hi}"


PROFILE_NAMES = {"keras_bn": "Keras batch norm", "ours": "fused batch norm"}


def profile_table(levers_raw: dict) -> pd.DataFrame:
    """Op time by kind of work over one profiled epoch (seconds, summed over threads), with Keras'
    batch norm and with the fused one; rows in decreasing order of the Keras one."""
    table = pd.DataFrame({PROFILE_NAMES[k]: p["op_seconds"] for k, p in levers_raw["profiles"].items()})
    table = table.fillna(0.0)[list(PROFILE_NAMES.values())]
    return table.sort_values("Keras batch norm", ascending=False)


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
