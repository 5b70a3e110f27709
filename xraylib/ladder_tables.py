"""Tables of the ladder record (xraylib.ladder_record): per rung, per seed, cross-validation, timing.

Columns are the tables' display names; every number is computed from the record's predictions.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from . import ladder, ladder_record
from .config import CLASSES, project_root
from .ladder_record import LadderRecord, read_ladder


def rung_table(record: LadderRecord) -> pd.DataFrame:
    """Initial procedure, per rung in ladder order: what changed, seeds, accuracy mean / SD / range,
    macro F1, and how many seeds collapsed."""
    changes = {r.name: r.change for r in ladder.rungs()}
    init = record.members[record.members["procedure"] == "initial"]
    present = list(dict.fromkeys(init["rung"]))
    order = [n for n in changes if n in present] + [n for n in present if n not in changes]
    rows = []
    for name in order:
        part = init[init["rung"] == name]
        acc = part["accuracy"]
        rows.append({"rung": name, "change": changes.get(name, "the profile as it is"),
                     "seeds": len(part),
                     "accuracy mean": acc.mean(), "SD": acc.std(ddof=1),
                     "min": acc.min(), "max": acc.max(), "macro F1 mean": part["macro_f1"].mean(),
                     "collapsed": int(part["collapsed"].sum()),
                     "normal recall mean": part["recall_normal"].mean()})
    columns = ["rung", "change", "seeds", "accuracy mean", "SD", "min", "max", "macro F1 mean",
               "collapsed", "normal recall mean"]  # a plan without initial runs has none
    return pd.DataFrame(rows, columns=columns).set_index("rung")


def cv_table(record: LadderRecord) -> pd.DataFrame:
    """Both ends through the five folds: per rung and seed the pooled out-of-fold accuracy and the
    mean of the folds' accuracies (the paper's Table 2 mean), then the spread over seeds."""
    rows = []
    cv = record.members[record.members["procedure"].str.startswith("fold-")]
    for (rung, seed), part in cv.groupby(["rung", "seed"]):
        y_true = np.concatenate([record.predictions[(rung, p, seed)][0] for p in part["procedure"]])
        y_prob = np.concatenate([record.predictions[(rung, p, seed)][1] for p in part["procedure"]])
        pooled = ladder_record.scores(y_true, y_prob)
        rows.append({"rung": rung, "seed": seed, "folds": len(part),
                     "mean of folds": part["accuracy"].mean(), "pooled accuracy": pooled["accuracy"],
                     "pooled macro F1": pooled["macro_f1"],
                     "folds collapsed": int(part["collapsed"].sum())})
    return pd.DataFrame(rows)


def cv_summary(record: LadderRecord) -> pd.DataFrame:
    """cv_table reduced to mean and SD over seeds, per rung."""
    table = cv_table(record)
    agg = table.groupby("rung").agg(
        seeds=("seed", "count"), mean_of_folds=("mean of folds", "mean"),
        sd_over_seeds=("mean of folds", "std"), pooled_accuracy=("pooled accuracy", "mean"),
        pooled_macro_f1=("pooled macro F1", "mean"), folds_collapsed=("folds collapsed", "sum"))
    return agg


def true_labels(record: LadderRecord, procedure: str = "initial") -> np.ndarray:
    """The true labels of a procedure's test images (the same for every member that ran it)."""
    return next(y for (_, proc, _), (y, _) in record.predictions.items() if proc == procedure)


def training_table(record: LadderRecord) -> pd.DataFrame:
    """Initial procedure, per rung: how training ended (epochs run, median last learning rate,
    final training accuracy and best validation accuracy, means over seeds) beside test accuracy."""
    init = record.members[record.members["procedure"] == "initial"]
    start = {r.name: r.profile.learning_rate for r in ladder.rungs()}
    order = [name for name in start if name in set(init["rung"])]
    table = init.assign(start_lr=init["rung"].map(start)).groupby("rung").agg(
        start_lr=("start_lr", "first"), epochs=("epochs", "mean"), last_lr=("last_lr", "median"),
        train_accuracy=("train_accuracy", "mean"), best_val_accuracy=("best_val_accuracy", "mean"),
        test_accuracy=("accuracy", "mean"))
    return table.loc[order].rename(columns=lambda c: c.replace("_", " "))


def protocol_seconds(record: LadderRecord, rung: str = "paper") -> dict[str, float]:
    """GPU seconds one seed of a rung's whole protocol (initial procedure and every fold) cost.

    Members of a group train in lockstep (a stopped member is masked, not skipped), so each member
    costs its group's total time over its member count; a seed's folds are its share of the
    cross-validation group.
    """
    m = record.members[record.members["rung"] == rung]
    init, folds = m[m["procedure"] == "initial"], m[m["procedure"].str.startswith("fold-")]
    per_member = lambda g: float(record.groups.loc[g, "total_s"]) / int(record.groups.loc[g, "members"])  # noqa: E731
    initial_s = float(np.mean([per_member(g) for g in init["group"]]))
    folds_s = float(sum(per_member(g) for g in folds["group"])) / max(folds["seed"].nunique(), 1)
    return {"initial_s": initial_s, "folds_s": folds_s, "total_s": initial_s + folds_s}


def cv_comparison(record: LadderRecord, paper_mean: float,
                  cpu_folds: list[tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    """The paper's Table 2 mean beside both ends of the ladder (mean of folds per seed, then mean,
    SD and range over seeds) and, if given, the CPU record's single seed (its folds' labels and
    probabilities)."""
    table = cv_table(record)
    rows = [{"what": "the paper, Table 2", "seeds": None, "mean of folds": paper_mean}]
    for rung in ("paper", "authors"):
        part = table[table["rung"] == rung]["mean of folds"]
        if len(part):
            rows.append({"what": f"{rung} rung, GPU ladder", "seeds": len(part),
                         "mean of folds": part.mean(), "SD over seeds": part.std(ddof=1),
                         "lowest seed": part.min(), "highest seed": part.max()})
    if cpu_folds:
        accs = [100 * float((p.argmax(1) == y).mean()) for y, p in cpu_folds]
        rows.append({"what": "paper profile, CPU record", "seeds": 1, "mean of folds": float(np.mean(accs)),
                     "lowest seed": float(np.mean(accs)), "highest seed": float(np.mean(accs))})
    return pd.DataFrame(rows).set_index("what")


def lost_classes(record: LadderRecord, procedure: str = "initial") -> pd.Series:
    """How many trainings of a procedure found fewer than ladder_record.COLLAPSE_RECALL of each class's images."""
    m = record.members[record.members["procedure"].str.startswith(procedure)]
    return pd.Series({c: int((m[f"recall_{c}"] < 100 * ladder_record.COLLAPSE_RECALL).sum()) for c in CLASSES},
                     name="trainings that lost the class")


SEED_RECORDS = {"quick": ("quick-seeds.json", "quick"), "paper": ("ladder.json", "paper"),
                "authors": ("ladder.json", "authors")}
"""Where each profile's recorded seeds are: the quick profile's on the CPU, the others on the GPU."""


def seed_accuracies(profile_name: str, measure: str = "initial") -> pd.Series | None:
    """Test accuracies (%) of a profile's recorded seeds: measure 'initial', or 'cv mean' / 'cv pooled'
    (per seed, the mean of the five folds' accuracies or the pooled out-of-fold accuracy)."""
    if profile_name not in SEED_RECORDS:
        return None
    file, rung = SEED_RECORDS[profile_name]
    path = project_root() / "records" / file
    if not path.is_file():
        return None
    record = read_ladder(path)
    if measure == "initial":
        m = record.members
        return m[(m["rung"] == rung) & (m["procedure"] == "initial")].set_index("seed")["accuracy"]
    table = cv_table(record)
    column = {"cv mean": "mean of folds", "cv pooled": "pooled accuracy"}[measure]
    return table[table["rung"] == rung].set_index("seed")[column]


FALSE_FAILURE = 0.01
"""How often a correct training may fall outside spread_tolerance: one time in a hundred."""


def spread_factor(n: int, rate: float = FALSE_FAILURE) -> float:
    """How many seed SDs a fresh run may stray from n seeds' mean so that a correct training falls
    outside with probability `rate`: if the fresh run is one more draw from the seeds' normal
    distribution, (fresh - mean) / (SD * sqrt(1 + 1/n)) follows Student's t with n - 1 degrees."""
    return float(stats.t.ppf(1 - rate / 2, n - 1) * np.sqrt(1 + 1 / n))


def false_failure_rate(factor: float, n: int) -> float:
    """The chance that a correct training lands more than `factor` SDs from n seeds' mean."""
    return float(2 * stats.t.sf(factor / np.sqrt(1 + 1 / n), n - 1))


def spread_tolerance(seeds, n_test: int, rate: float = FALSE_FAILURE) -> float:
    """How far (points) a fresh run's accuracy may fall from the seeds' mean: spread_factor SDs of
    the seeds plus one test image (of `n_test`) of rounding."""
    seeds = np.asarray(seeds, dtype=float)
    return spread_factor(len(seeds), rate) * float(seeds.std(ddof=1)) + 100 / n_test


def rung_difference(record: LadderRecord, rung: str, base: str) -> dict:
    """What one rung costs or gains against another: the difference of their seed means (points,
    rung minus base) and each one's collapsed seeds, so 'changes little' can be checked."""
    table = rung_table(record)
    for name in (rung, base):
        if name not in table.index:
            raise KeyError(f"rung '{name}' is not in the ladder record: it has {', '.join(table.index)}")
    return {"points": float(table.loc[rung, "accuracy mean"] - table.loc[base, "accuracy mean"]),
            "collapsed": int(table.loc[rung, "collapsed"]), "base collapsed": int(table.loc[base, "collapsed"]),
            "seeds": int(table.loc[rung, "seeds"])}


def fold_sd_by_seed(record: LadderRecord, rung: str) -> pd.Series:
    """The SD (points, ddof 1) of the five folds' accuracies, per cross-validation seed of a rung:
    how much the folds of one study differ, seed by seed (one seed's spread is an anecdote)."""
    cv = record.members[record.members["procedure"].str.startswith("fold-") & (record.members["rung"] == rung)]
    if cv.empty:
        raise KeyError(f"rung '{rung}' has no cross-validation trainings in the ladder record")
    return cv.groupby("seed")["accuracy"].std(ddof=1).rename("SD over folds")
