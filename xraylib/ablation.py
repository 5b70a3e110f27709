"""What the chapter "Why our numbers differ from the paper's" computes, section by section.

Why here: the chapter reads the ablation ladder (records/ladder.json) and the paper profile's CPU
record; each section is one function returning the values the prose glues (and the table it shows),
so the chapter's cells only call and display. Loads without Keras.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import baseline, ladder, ladder_record, ladder_tables, paper, record, wording
from . import data as xdata
from .config import CLASS_NAMES, CLASSES, data_dir, get_profile, project_root
from .splits import Split, initial_split


def header(lad: ladder_record.LadderRecord) -> str:
    """Where the ladder was trained and imported, and the two profiles at its ends (printed)."""
    m = lad.machine
    return "\n".join([f"ladder: {len(lad.members)} trainings on one {m['device']} (Keras {m['keras']} on "
                      f"{m['backend']} {m['jax']}), recorded at commit {lad.meta['commit']}, imported "
                      f"{lad.meta['imported_utc']} UTC",
                      get_profile("paper").describe(), get_profile("authors").describe()])


def _pct(value: float) -> str:
    return f"{value:.1f}%"


def headline(cpu: record.Record) -> dict:
    """The paper's numbers, the CPU record's, how many seeds and rungs, the two learning rates."""
    s = cpu.summary()
    return {"paper_init": f"{paper.INITIAL_ACCURACY:g}%", "paper_cv": f"{paper.CV_MEAN_ACCURACY:g}%",
            "authors_logged": f"{paper.AUTHORS_LOGGED_ACCURACY:g}%",
            "cpu_init": _pct(100 * s["initial"]["accuracy"]), "cpu_cv": _pct(100 * s["cv"]["accuracy"]),
            "n_seeds": wording.count_word(len(ladder.SEEDS)), "n_cv_seeds": wording.count_word(len(ladder.CV_SEEDS)),
            "paper_lr": f"{get_profile('paper').learning_rate:g}",
            "authors_lr": f"{get_profile('authors').learning_rate:g}", "n_rungs": str(len(ladder.rungs()))}


@dataclass
class TestSet:
    """The initial procedure's split of the paper composition, and what needs no network on it."""

    y: np.ndarray
    split: Split
    baseline_accuracy: float  # the thumbnail baseline (%)
    majority_accuracy: float  # always the most common class (%)


def test_set(lad: ladder_record.LadderRecord, data: str | None = None) -> TestSet:
    """The ladder's test set rebuilt from the data (it must be the ladder's own), with the thumbnail
    baseline's and the majority class's accuracy on it."""
    profile = get_profile("paper")  # the composition and splits do not depend on training settings
    comp = xdata.composition(profile, data_dir(data))
    split = initial_split(comp, profile)
    y = xdata.labels_of(comp)
    if not (y[split.test] == ladder_tables.true_labels(lad)).all():
        raise ValueError("the ladder's test images are not this split's: was records/ladder.json made from "
                         "other data?")
    prob = baseline.logistic_cv(comp, [split])
    test = y[split.test]
    return TestSet(y, split, 100 * float((prob[split.test].argmax(1) == test).mean()),
                   100 * float((test == np.bincount(test).argmax()).mean()))


def test_set_values(lad: ladder_record.LadderRecord, ts: TestSet) -> dict:
    """The test set's sizes and reference accuracies, and how many trainings lost each class."""
    lost = ladder_tables.lost_classes(lad)
    n_initial = int((lad.members["procedure"] == "initial").sum())
    return {"baseline_acc": _pct(ts.baseline_accuracy), "majority_acc": _pct(ts.majority_accuracy),
            "seed_list": ", ".join(map(str, ladder.SEEDS)), "n_train": str(len(ts.split.train)),
            "n_val": str(len(ts.split.val)), "n_test": str(len(ts.split.test)),
            "collapse": f"{100 * ladder_record.COLLAPSE_RECALL:.0f}%",
            **{key: wording.seeds_phrase(int(lost[c]), n_initial)
               for c, key in zip(CLASSES, ("lost_covid", "lost_viral", "lost_normal"))}}


def initial_members(lad: ladder_record.LadderRecord) -> pd.DataFrame:
    """Every initial-procedure training of the ladder, one row each."""
    return lad.members[lad.members["procedure"] == "initial"]


def _seeds(lad: ladder_record.LadderRecord, rung: str, column: str = "accuracy") -> pd.Series:
    init = initial_members(lad)
    return init[init["rung"] == rung][column]


RUNG_KEYS = {"paper": "paper", "+rate": "rate", "authors": "authors", "paper+rate": "prate",
             "paper-schedule": "psched", "authors-schedule": "asched", "authors-aug": "aaug"}
"""The rungs the prose quotes, and the prefix of their glue names."""


def rungs(lad: ladder_record.LadderRecord, ts: TestSet) -> tuple[dict, pd.DataFrame]:
    """Per quoted rung its mean, SD, range and collapses; the rungs before the learning rate
    together; the paper+rate rung against the paper and the baseline. And the rung table."""
    rt = ladder_tables.rung_table(lad)
    order = [r.name for r in ladder.rungs()]
    cumulative = order[:order.index("authors") + 1]
    before = cumulative[:cumulative.index("+rate")]
    values = {}
    for name, key in RUNG_KEYS.items():
        values[f"{key}_mean"] = _pct(rt.loc[name, "accuracy mean"])
        values[f"{key}_sd"] = f"{rt.loc[name, 'SD']:.1f}"
        values[f"{key}_range"] = f"{rt.loc[name, 'min']:.1f}-{rt.loc[name, 'max']:.1f}%"
        values[f"{key}_collapsed"] = wording.seeds_phrase(int(rt.loc[name, "collapsed"]), int(rt.loc[name, "seeds"]))
    base_gap = ts.baseline_accuracy - rt.loc["paper+rate", "accuracy mean"]
    values.update({
        "before_lo": _pct(rt.loc[before, "accuracy mean"].min()),
        "before_hi": _pct(rt.loc[before, "accuracy mean"].max()),
        "before_best_seed": _pct(rt.loc[before, "max"].max()),
        "before_collapsed": wording.seeds_phrase(int(rt.loc[before, "collapsed"].sum()),
                                                 int(rt.loc[before, "seeds"].sum())),
        "rate_vs_before": "above" if rt.loc["+rate", "min"] > rt.loc[before, "max"].max() else "not above",
        "prate_vs_paper": f"{rt.loc['paper+rate', 'accuracy mean'] - rt.loc['paper', 'accuracy mean']:.1f}",
        "prate_vs_paper_init": wording.beside_seeds(paper.INITIAL_ACCURACY, _seeds(lad, "paper+rate")),
        "base_vs_prate": f"{abs(base_gap):.1f} points {'above' if base_gap > 0 else 'below'}",
        "base_lesson": "does as well as the network's best protocol here"
        if ts.baseline_accuracy >= rt.loc["paper+rate", "min"] else "falls short of the network's best protocol"})
    return values, rt


def training(lad: ladder_record.LadderRecord) -> tuple[dict, pd.DataFrame]:
    """How training ended for the paper's rate, without the schedule and with the larger rate, and
    the training table as shown (rates formatted)."""
    tt, rt = ladder_tables.training_table(lad), ladder_tables.rung_table(lad)
    values = {"paper_last_lr": f"{tt.loc['paper', 'last lr']:.1e}",
              "psched_lr": f"{tt.loc['paper-schedule', 'last lr']:g}"}
    for name, key in (("paper", "paper"), ("paper-schedule", "psched"), ("paper+rate", "prate")):
        values[f"{key}_train"] = _pct(tt.loc[name, "train accuracy"])
        values[f"{key}_val"] = _pct(tt.loc[name, "best val accuracy"])
    gap = rt.loc["authors-schedule", "accuracy mean"] - rt.loc["authors", "accuracy mean"]
    values["asched_verb"] = "lowers" if gap < 0 else "does not lower"
    low_rate = rt.loc[["paper", "paper-schedule"], "max"].max()
    values["rate_every_seed"] = ("every seed at the larger rate beats every seed at the smaller"
                                 if rt.loc["paper+rate", "min"] > low_rate else "the seeds of the two rates overlap")
    shown = tt.round(1).assign(**{"start lr": tt["start lr"].map("{:g}".format),
                                  "last lr": tt["last lr"].map("{:.1e}".format)})
    return values, shown


CV_ROWS = {"cvp": "paper rung, GPU ladder", "cva": "authors rung, GPU ladder"}


def cross_validation(lad: ladder_record.LadderRecord, cpu: record.Record) -> tuple[dict, pd.DataFrame]:
    """Both ends through the five folds over seeds, beside the paper's mean and the CPU record."""
    cvt = ladder_tables.cv_comparison(lad, paper.CV_MEAN_ACCURACY, [(f.y_true, f.y_prob) for f in cpu.folds])
    values = {}
    for key, row in CV_ROWS.items():
        values[f"{key}_mean"] = _pct(cvt.loc[row, "mean of folds"])
        values[f"{key}_sd"] = f"{cvt.loc[row, 'SD over seeds']:.1f}"
        values[f"{key}_range"] = f"{cvt.loc[row, 'lowest seed']:.1f}-{cvt.loc[row, 'highest seed']:.1f}%"
    diff = cvt.loc[CV_ROWS["cva"], "mean of folds"] - paper.CV_MEAN_ACCURACY
    values["cva_vs_paper"] = f"{abs(diff):.1f} points {'above' if diff > 0 else 'below'}"
    cvs = ladder_tables.cv_summary(lad)
    values["cv_collapsed"] = wording.seeds_phrase(int(cvs.loc["paper", "folds_collapsed"]),
                                                  5 * int(cvs.loc["paper", "seeds"]))
    return values, cvt


def cpu_beside_gpu(lad: ladder_record.LadderRecord, cpu: record.Record, cvt: pd.DataFrame,
                   authors_file=None) -> tuple[dict, str]:
    """The CPU runs among the GPU seeds (the paper profile's; the authors' if recorded), and a line
    on the authors' CPU record: its description, or that there is none."""
    s = cpu.summary()
    cpu_cv_mean = cvt.loc["paper profile, CPU record", "mean of folds"]
    cvp_seeds = ladder_tables.cv_table(lad).query("rung == 'paper'")["mean of folds"]
    values = {"cpu_init_where": wording.beside_seeds(100 * s["initial"]["accuracy"], _seeds(lad, "paper")),
              "cpu_cv_mean": _pct(cpu_cv_mean), "cpu_cv_where": wording.beside_seeds(cpu_cv_mean, cvp_seeds)}
    authors_file = authors_file or project_root() / "records" / "authors-profile.json"
    arec = record.read_record(authors_file) if authors_file.is_file() else None
    if arec is None or arec.initial is None:
        values["cpu_authors"] = ("A CPU training of the authors' protocol was not yet recorded when this page was "
                                 "built (xraylib record --profile authors adds it here).")
        return values, (f"no CPU record of the authors' protocol yet ({authors_file.name}): this page shows the "
                        f"GPU seeds only")
    a_acc, gpu = 100 * arec.summary()["initial"]["accuracy"], _seeds(lad, "authors")
    above = "above" if a_acc > max(_seeds(lad, "paper").max(), 100 * s["initial"]["accuracy"]) else "not above"
    values["cpu_authors"] = (
        f"The authors' protocol, trained once with TensorFlow on the CPU (xraylib record --profile authors, "
        f"seed {arec.meta['settings']['seed']}), reached {a_acc:.1f}% on the initial test set: "
        f"{wording.beside_seeds(a_acc, gpu)}, whose mean is {gpu.mean():.1f}% (SD {gpu.std():.1f}), and {above} "
        f"every result of the paper's text on this test set, on either machine.")
    return values, record.describe(arec)


def batch_32(lad: ladder_record.LadderRecord, ts: TestSet) -> dict:
    """The authors' protocol at batch 32: how many seeds answered one class, which, and why batch
    normalisation's running statistics remember too few steps at that batch."""
    init = initial_members(lad)
    b32 = init[init["rung"] == "authors-b32"]
    one = b32[b32["classes_predicted"] == 1]
    pred = sorted({int(lad.predictions[("authors-b32", "initial", s)][1].argmax(1)[0]) for s in one["seed"]})
    stopped = sorted(set(b32["epochs"]))
    steps_b32 = lad.groups.loc[b32["group"].iloc[0], "steps_per_epoch"]
    steps_b5 = lad.groups.loc[init[init["rung"] == "authors"]["group"].iloc[0], "steps_per_epoch"]
    momentum = get_profile("authors").bn_momentum
    memory = 1 / (1 - momentum)
    one_class_val = 100 * float(np.isin(ts.y[ts.split.val], pred).mean())
    return {"b32_one_class": wording.seeds_phrase(len(one), len(b32)),
            "b32_class": " or ".join(CLASS_NAMES[CLASSES[c]].lower() for c in pred),
            "b32_mean": _pct(b32["accuracy"].mean()), "b32_train": _pct(b32["train_accuracy"].mean()),
            "b32_train_range": f"{b32['train_accuracy'].min():.1f}-{b32['train_accuracy'].max():.1f}%",
            "b32_stopped": str(stopped[0]) if len(stopped) == 1 else f"{stopped[0]} to {stopped[-1]}",
            "b32_steps": str(int(steps_b32)), "bn_momentum": f"{momentum:g}", "bn_memory": f"{memory:.0f}",
            "bn_epochs_b32": f"{memory / steps_b32:.0f}", "bn_epochs_b5": f"{memory / steps_b5:.1f}",
            "b32_val": _pct(one_class_val),
            "b32_val_low": wording.seeds_phrase(int((b32["best_val_accuracy"] <= one_class_val + 0.05).sum()),
                                                len(b32))}


def costs(lad: ladder_record.LadderRecord) -> dict:
    """What the paper's dropout costs at the text's rate (against the floor rung) and what the
    code's extras cost at the code's rate: points and collapsed seeds, for chapters 06 and 12."""
    table = ladder_tables.rung_table(lad)
    dropout = ladder_tables.rung_difference(lad, "+dropout", "paper+floor")
    extras = ladder_tables.rung_difference(lad, "authors", "paper+rate")
    cost = lambda d: f"{-d['points']:.1f}" if d["points"] < 0 else f"{d['points']:.1f} (a gain)"  # noqa: E731
    floor = dropout["base collapsed"]
    return {"floor_mean": _pct(table.loc["paper+floor", "accuracy mean"]), "dropout_cost": cost(dropout),
            "dropout_collapsed": wording.seeds_phrase(dropout["collapsed"], dropout["seeds"]),
            "floor_collapsed": wording.count_word(floor), "extras_cost": cost(extras)}


# --- One protocol on both machines (issue: the CPU path against the GPU grid) ----------------------

OLD_CPU = "CPU record, older code"
NEW_CPU = "CPU, the grid's batches"


def fold_pairs(gpu: ladder_record.LadderRecord, cpu: ladder_record.LadderRecord,
               old: record.Record | None = None, rung: str = "paper") -> pd.DataFrame:
    """Every cross-validation fold trained on both machines with one seed: its test accuracy from
    the GPU grid and from the CPU, and the difference. `cpu` is the CPU path's record of the
    ladder's plan (xraylib ladder --plan paper-cv); `old`, the paper profile's earlier CPU record
    (seed 2020), paired with the GPU's seed 2020."""
    g = gpu.members[(gpu.members["rung"] == rung) & gpu.members["procedure"].str.startswith("fold-")]
    g = g.set_index(["seed", "procedure"])
    rows = []
    c = cpu.members[(cpu.members["rung"] == rung) & cpu.members["procedure"].str.startswith("fold-")]
    for _, m in c.iterrows():
        if (m["seed"], m["procedure"]) in g.index:
            rows.append((NEW_CPU, m["seed"], m["procedure"], m["accuracy"], bool(m["collapsed"])))
    if old is not None:
        seed = old.meta["settings"]["seed"]
        for k, fold in enumerate(old.folds, 1):
            s = ladder_record.scores(fold.y_true, fold.y_prob)
            rows.append((OLD_CPU, seed, f"fold-{k}", s["accuracy"], bool(s["collapsed"])))
    out = pd.DataFrame(rows, columns=["CPU run", "seed", "fold", "CPU", "CPU collapsed"])
    gpu_rows = g.loc[list(zip(out["seed"], out["fold"]))]
    out.insert(3, "GPU", gpu_rows["accuracy"].to_numpy())
    out.insert(5, "GPU collapsed", gpu_rows["collapsed"].to_numpy().astype(bool))
    out["CPU - GPU"] = out["CPU"] - out["GPU"]
    return out


def one_protocol(gpu: ladder_record.LadderRecord, cpu: ladder_record.LadderRecord,
                 old: record.Record | None = None) -> tuple[dict, pd.DataFrame]:
    """The paper's text in cross-validation on the GPU grid and on the CPU path that now draws the
    grid's batches and augmentation, beside the older CPU record; the values the prose glues, with
    a verdict that cannot say more than the seeds show. The table: per CPU run and seed, the mean
    of folds (%) on each machine for that seed, their difference and the collapsed folds.

    Why the verdict compares seed means, not pairs: a seed gives both machines the same batches,
    but each backend draws its own weights, dropout masks and augmentation from it, so a pair is
    two different trainings. The bar is twice the standard error of a difference of seed means,
    from the GPU seeds' SD."""
    pairs = fold_pairs(gpu, cpu, old)
    table = pairs.groupby(["CPU run", "seed"], sort=False).agg(
        folds=("fold", "count"), GPU=("GPU", "mean"), CPU=("CPU", "mean"),
        **{"CPU - GPU": ("CPU - GPU", "mean"), "GPU collapsed": ("GPU collapsed", "sum"),
           "CPU collapsed": ("CPU collapsed", "sum")})
    gpu_seeds = ladder_tables.cv_table(gpu).query("rung == 'paper'").set_index("seed")["mean of folds"]
    sd, gpu_mean = float(gpu_seeds.std(ddof=1)), float(gpu_seeds.mean())
    new = table.loc[NEW_CPU] if NEW_CPU in table.index.get_level_values(0) else None
    if new is None or not (new["folds"] == 5).any():
        raise ValueError("no seed of the CPU path has all five folds: train them with "
                         "`xraylib cv --profile paper --workers 2 [--train-seed S]`")
    new = new[new["folds"] == 5]
    new_pairs = pairs[(pairs["CPU run"] == NEW_CPU) & pairs["seed"].isin(new.index)]
    bar = lambda n: 2 * sd * np.sqrt(1 / n + 1 / len(gpu_seeds))  # noqa: E731
    cpu_mean = float(new["CPU"].mean())
    gap = cpu_mean - gpu_mean
    values = {"op_cpu_seeds": wording.count_word(len(new)), "op_gpu_seeds": wording.count_word(len(gpu_seeds)),
              "op_cpu_means": wording.and_list([f"{v:.1f}%" for v in new["CPU"]]),
              "op_cpu_seed_list": wording.and_list([str(s) for s in new.index]),
              "op_cpu_where": _positions(new["CPU"], gpu_seeds),
              "op_cpu_mean": _pct(cpu_mean), "op_gpu_mean": _pct(gpu_mean),
              "op_gap": f"{gap:+.1f}", "op_bar": f"{bar(len(new)):.1f}", "op_gpu_sd": f"{sd:.1f}",
              "op_fold_range": f"{new_pairs['CPU - GPU'].min():+.1f} to {new_pairs['CPU - GPU'].max():+.1f}",
              "op_collapsed": f"{int(new['CPU collapsed'].sum())} of {5 * len(new)}",
              "op_gpu_collapsed": f"{int(new['GPU collapsed'].sum())} of {5 * len(new)}"}
    old_gap = old_bar = None
    if old is not None:
        old_row = table.loc[OLD_CPU].iloc[0]
        old_gap, old_bar = float(old_row["CPU"]) - gpu_mean, bar(1)
        values.update({"op_old_mean": _pct(old_row["CPU"]), "op_old_gap": f"{old_gap:+.1f}",
                       "op_old_bar": f"{old_bar:.1f}", "op_old_collapsed": f"{int(old_row['CPU collapsed'])} of 5"})
    values["op_verdict"] = one_protocol_verdict(gap, bar(len(new)), old_gap, old_bar)
    first = values["op_verdict"].split(". ")[0]
    values["op_short"] = (f"{first}: on the paper's text in cross-validation the CPU's seeds now average "
                          f"{gap:+.1f} points from the GPU's (what these seeds can tell from chance: "
                          f"{bar(len(new)):.1f})"
                          + (f", where the older CPU record lay {old_gap:+.1f}." if old_gap is not None else "."))
    return values, table.round(1)


def _positions(values, seeds) -> str:
    """'inside the range of the three GPU seeds (..)' for one value; 'one inside and one above the
    range ...' for several: where each lies, counted."""
    if len(values) == 1:
        return wording.beside_seeds(float(values.iloc[0]), seeds)
    where = [wording.position(v, seeds) for v in values]
    counted = (f"{'both' if len(where) == 2 else 'all ' + wording.count_word(len(where))} {where[0]}"
               if len(set(where)) == 1 else
               wording.and_list([f"{wording.count_word(where.count(w))} {w}"
                                 for w in ("below", "inside", "above") if w in where]))
    return (f"{counted} the range of the {wording.count_word(len(seeds))} GPU seeds "
            f"({np.min(seeds):.1f}-{np.max(seeds):.1f}%)")


def one_protocol_verdict(gap: float, bar: float, old_gap: float | None = None,
                         old_bar: float | None = None) -> str:
    """What the gaps of seed means allow against their bars (two standard errors): no gap left
    where the older record had one, a gap that remains, or nothing decided."""
    if abs(gap) <= bar and old_gap is not None and abs(old_gap) > old_bar:
        return (f"No gap beyond the seeds' spread is left. The CPU's seeds now average {gap:+.1f} points "
                f"from the GPU's, within the {bar:.1f} points these seeds can tell from chance, where "
                f"the older CPU record lay {old_gap:+.1f} points from them, beyond its own {old_bar:.1f}. "
                f"So the older record's distance went with its training code (its augmentation layers, "
                f"Keras' batching with a partial last batch, Keras' batch-norm arithmetic), not with the "
                f"kind of machine: the current code on the same kind of CPU lands within that spread of "
                f"the GPU seeds. "
                f"Which of the three differences carried it, or whether the older record's single seed "
                f"was a rare draw of the same spread, the record does not say; and a difference between "
                f"the machines smaller than {bar:.1f} points would not show with these seeds.")
    if abs(gap) > bar:
        return (f"A gap remains: the CPU's seeds average {gap:+.1f} points from the GPU's, beyond the "
                f"{bar:.1f} points these seeds can tell from chance, with the same batches and "
                f"augmentation on both. What is left lies in the machines themselves (TensorFlow on the "
                f"CPU against JAX with TF32 convolutions on the GPU, and each backend's random numbers).")
    before = f" (the older record: {old_gap:+.1f})" if old_gap is not None else ""
    return (f"The CPU's seeds average {gap:+.1f} points from the GPU's{before}, within the {bar:.1f} points "
            f"these seeds can tell from chance: they cannot tell a difference of the machines from chance.")
