"""The ablation ladder from the paper's text to the authors' code, one setting per rung.

Why: the paper's protocol as written reached 51% where the paper reports 93%, and the authors' code
uses settings the text omits. Each rung changes one setting, so the rung where accuracy moves names
the setting that matters; every rung is trained with several seeds, because one seed is an anecdote.
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import evaluate
from .config import CLASSES, PROFILES, Profile
from .record import Record, RecordedRun


@dataclass(frozen=True)
class Rung:
    """One protocol of the ladder: a short name, what it changes, and the profile it trains."""

    name: str
    change: str
    profile: Profile


def _step(base: Profile, name: str, **changes) -> Profile:
    return dataclasses.replace(base, name=name, **changes)


def rungs() -> list[Rung]:
    """The ladder: paper -> authors one change at a time, then single changes that test hypotheses."""
    paper, authors = PROFILES["paper"], PROFILES["authors"]
    a = authors.augmentation
    r1 = _step(paper, "paper+floor", min_lr=authors.min_lr)
    r2 = _step(r1, "+dropout", conv_dropout=authors.conv_dropout)
    r3 = _step(r2, "+ranges", augmentation=dataclasses.replace(a, horizontal_flip=False))
    r4 = _step(r3, "+flip", augmentation=a)
    r5 = _step(r4, "+rate", learning_rate=authors.learning_rate)
    r6 = _step(r5, "authors", early_stopping=authors.early_stopping)
    assert dataclasses.replace(r6, name="authors") == authors, "the ladder must end at `authors`"
    no_aug = dataclasses.replace(a, rotation_deg=0.0, shear_deg=0.0, zoom=0.0, width_shift=0.0,
                                 height_shift=0.0, horizontal_flip=False)
    return [
        Rung("paper", "the paper's text", paper),
        Rung("paper+floor", "+ min_lr 1e-5 floor", r1),
        Rung("+dropout", "+ dropout 0.25 after each conv block", r2),
        Rung("+ranges", "+ the code's augmentation ranges", r3),
        Rung("+flip", "+ horizontal flips", r4),
        Rung("+rate", "+ learning rate 1e-3", r5),
        Rung("authors", "+ early stopping = the authors' code settings", r6),
        Rung("paper+rate", "paper, learning rate 1e-3 only", _step(paper, "paper+rate",
                                                                   learning_rate=1e-3)),
        Rung("paper-schedule", "paper without ReduceLROnPlateau",
             _step(paper, "paper-schedule", reduce_lr=False)),
        Rung("authors-schedule", "authors without ReduceLROnPlateau",
             _step(authors, "authors-schedule", reduce_lr=False)),
        Rung("authors-aug", "authors without augmentation",
             _step(authors, "authors-aug", augmentation=no_aug)),
        Rung("authors-b32", "authors with batch 32 (batch-norm statistics over 32)",
             _step(authors, "authors-b32", batch_size=32)),
    ]


SEEDS = (2020, 2021, 2022, 2023, 2024)
"""Seeds for every rung of the initial procedure (the first is the profiles' own seed)."""

CV_SEEDS = (2020, 2021, 2022)
"""Seeds for the two ends (paper, authors) through the five-fold cross-validation."""


def plan(splits: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, list]]:
    """The ladder's trainings as named groups of grid members, most important first.

    splits: {'initial': {'train': ..., 'val': ..., 'test': ...}, 'fold-1': {...}, ...}.
    Members of one group share architecture, batch size and steps per epoch (see xraylib.grid).
    """
    from .grid import Member, group_key

    def members(rung_list, procedures, seeds):
        return [Member(r.name, proc, r.profile, seed, **splits[proc])
                for r in rung_list for proc in procedures for seed in seeds]

    ladder = rungs()
    initial = [r for r in ladder if r.profile.batch_size == 5]
    by_key: dict[tuple, list[Rung]] = {}
    for r in initial:
        by_key.setdefault(group_key(r.profile), []).append(r)
    folds = sorted(k for k in splits if k.startswith("fold-"))
    ends = {r.name: r for r in ladder if r.name in ("paper", "authors")}
    groups = [(f"initial-dropout-{key[2]:g}", members(rs, ["initial"], SEEDS))
              for key, rs in by_key.items()]
    groups += [(f"cv-{name}", members([ends[name]], folds, CV_SEEDS)) for name in ("authors", "paper")]
    groups += [("initial-batch-32", members([r for r in ladder if r.profile.batch_size != 5],
                                            ["initial"], SEEDS))]
    return groups


COLLAPSE_RECALL = 0.10
"""A training 'collapsed' when some class is predicted for fewer than this share of its images."""

def import_grid(grid_json: str | Path, out: str | Path, note: str = "") -> dict:
    """A grid.json from benchmarks/gpu_grid.py as the committed record: compact, with provenance."""
    from .record import _commit

    raw = json.loads(Path(grid_json).read_text())
    if raw.get("kind") != "ladder" or not raw.get("members"):
        raise ValueError(f"{grid_json} is not a grid.json written by benchmarks/gpu_grid.py run")
    for m in raw["members"]:
        m["y_prob"] = np.round(np.asarray(m["y_prob"]), 3).tolist()
        m["history"] = {k: [float(f"{v:.{6 if k == 'lr' else 4}g}") for v in vals]
                        for k, vals in m["history"].items()}
    raw.update(note=note, commit=_commit(),
               imported_utc=time.strftime("%Y-%m-%d %H:%M", time.gmtime()))
    Path(out).write_text(json.dumps(raw, separators=(",", ":")))
    return raw


@dataclass
class LadderRecord:
    """The recorded ladder: one row per training, the groups' timings and the machine."""

    members: pd.DataFrame
    groups: pd.DataFrame
    machine: dict
    meta: dict
    predictions: dict  # (label, procedure, seed) -> (y_true, y_prob)
    histories: dict = field(default_factory=dict)  # (label, procedure, seed) -> per-epoch DataFrame


def _scores(y_true: np.ndarray, y_prob: np.ndarray) -> dict:
    y_pred = y_prob.argmax(1)
    recall = [float((y_pred[y_true == c] == c).mean()) for c in range(len(CLASSES))]
    return {"accuracy": 100 * float((y_pred == y_true).mean()),
            "macro_f1": 100 * evaluate.macro_f1(y_true, y_prob),
            **{f"recall_{c}": 100 * r for c, r in zip(CLASSES, recall)},
            "collapsed": min(recall) < COLLAPSE_RECALL}


def read_ladder(path: str | Path) -> LadderRecord:
    """records/ladder.json as tables; says how to make it when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ladder record at {path}: train the grid with "
                                f"benchmarks/gpu_grid.py (GPU) and import it with "
                                f"`xraylib ladder --import grid.json --out {path}`")
    raw = json.loads(path.read_text())
    rows, preds, histories = [], {}, {}
    for m in raw["members"]:
        split = raw["splits"][m["procedure"]]
        y_true, y_prob = np.asarray(split["y_true"]), np.asarray(m["y_prob"])
        h = m["history"]
        preds[(m["label"], m["procedure"], m["seed"])] = (y_true, y_prob)
        histories[(m["label"], m["procedure"], m["seed"])] = pd.DataFrame(h)
        rows.append({"rung": m["label"], "procedure": m["procedure"], "seed": m["seed"],
                     "group": m.get("group"), **_scores(y_true, y_prob),
                     "classes_predicted": len(np.unique(y_prob.argmax(1))), "epochs": len(h["epoch"]),
                     "stopped_epoch": m["stopped_epoch"], "last_lr": h["lr"][-1],
                     "train_accuracy": 100 * h["accuracy"][-1],
                     "best_val_accuracy": 100 * max(h["val_accuracy"])})
    members = pd.DataFrame(rows)
    groups = pd.DataFrame(raw["groups"]).T[["members", "steps_per_epoch", "first_epoch_s",
                                             "train_s", "total_s", "train_images", "images_per_s"]]
    meta = {k: raw.get(k) for k in ("note", "commit", "imported_utc", "seconds")}
    return LadderRecord(members, groups, raw["machine"], meta, preds, histories)


def seed_record(record: LadderRecord, rung: str, seed: int) -> Record:
    """One seed of a rung as a record.Record (its initial run and the folds it trained), so the
    chapters compute a GPU seed's numbers exactly as they compute a CPU record's."""
    runs = {}
    for (label, procedure, s), (y_true, y_prob) in record.predictions.items():
        if label == rung and s == seed:
            name = procedure if procedure == "initial" else f"cv-{procedure}"
            runs[name] = RecordedRun(name, y_true, y_prob, record.histories[(label, procedure, s)], None)
    if not runs:
        raise KeyError(f"the ladder record holds no run of rung {rung!r} with seed {seed}")
    folds = sorted((r for n, r in runs.items() if n.startswith("cv-fold-")),
                   key=lambda r: int(r.name.rsplit("-", 1)[1]))
    profile = next((r.profile for r in rungs() if r.name == rung), None)
    meta = {"settings": profile.as_dict() if profile else {}, "seed": seed, "machine": record.machine,
            **record.meta}
    return Record(rung, meta, runs.get("initial"), folds, [])


def rung_table(record: LadderRecord) -> pd.DataFrame:
    """Initial procedure, per rung in ladder order: what changed, seeds, accuracy mean / SD / range,
    macro F1, and how many seeds collapsed."""
    changes = {r.name: r.change for r in rungs()}
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
    return pd.DataFrame(rows).set_index("rung")


def cv_table(record: LadderRecord) -> pd.DataFrame:
    """Both ends through the five folds: per rung and seed the pooled out-of-fold accuracy and the
    mean of the folds' accuracies (the paper's Table 2 mean), then the spread over seeds."""
    rows = []
    cv = record.members[record.members["procedure"].str.startswith("fold-")]
    for (rung, seed), part in cv.groupby(["rung", "seed"]):
        y_true = np.concatenate([record.predictions[(rung, p, seed)][0] for p in part["procedure"]])
        y_prob = np.concatenate([record.predictions[(rung, p, seed)][1] for p in part["procedure"]])
        pooled = _scores(y_true, y_prob)
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


# What the chapter "Why our numbers differ from the paper's" reads from the record.

_NUMBERS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def seeds_phrase(k: int, n: int) -> str:
    """'all five', 'none of the five', 'two of five', '8 of 15': a count for prose, true by construction."""
    word = (lambda i: _NUMBERS[i]) if n < len(_NUMBERS) else str  # words only for small counts
    if k == n:
        return f"all {word(n)}"
    return f"none of the {word(n)}" if k == 0 else f"{word(k)} of {word(n)}"


def true_labels(record: LadderRecord, procedure: str = "initial") -> np.ndarray:
    """The true labels of a procedure's test images (the same for every member that ran it)."""
    return next(y for (_, proc, _), (y, _) in record.predictions.items() if proc == procedure)


def training_table(record: LadderRecord) -> pd.DataFrame:
    """Initial procedure, per rung: how training ended (epochs run, median last learning rate,
    final training accuracy and best validation accuracy, means over seeds) beside test accuracy."""
    init = record.members[record.members["procedure"] == "initial"]
    start = {r.name: r.profile.learning_rate for r in rungs()}
    order = [name for name in start if name in set(init["rung"])]
    table = init.assign(start_lr=init["rung"].map(start)).groupby("rung").agg(
        start_lr=("start_lr", "first"), epochs=("epochs", "mean"), last_lr=("last_lr", "median"),
        train_accuracy=("train_accuracy", "mean"), best_val_accuracy=("best_val_accuracy", "mean"),
        test_accuracy=("accuracy", "mean"))
    return table.loc[order].rename(columns=lambda c: c.replace("_", " "))


def study_seconds(record: LadderRecord, rung: str = "paper") -> dict[str, float]:
    """GPU seconds one seed of a rung's whole study (initial procedure and every fold) cost.

    Members of a group train in lockstep (a stopped member is masked, not skipped), so each member
    costs its group's total time over its member count; a seed's folds are its share of the
    cross-validation group.
    """
    m = record.members[record.members["rung"] == rung]
    init, folds = m[m["procedure"] == "initial"], m[m["procedure"].str.startswith("fold-")]
    per_member = lambda g: float(record.groups.loc[g, "total_s"]) / int(record.groups.loc[g, "members"])  # noqa: E731
    initial_s = float(np.mean([per_member(g) for g in init["group"]]))
    folds_s = float(sum(per_member(g) for g in folds["group"])) / max(folds["seed"].nunique(), 1)
    return {"initial_s": initial_s, "folds_s": folds_s, "study_s": initial_s + folds_s}


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


STUDIES = ("ladder", "quick-seeds")
"""What the CPU path can train: the ladder, or the quick profile (the book's CI profile) over SEEDS."""


def seed_plan(profile: Profile, splits: dict[str, dict[str, np.ndarray]]) -> list[tuple[str, list]]:
    """One profile's initial procedure and five folds over SEEDS: the spread beside its numbers."""
    from .grid import Member

    folds = sorted(k for k in splits if k.startswith("fold-"))
    return [(f"{profile.name}-{proc}", [Member(profile.name, p, profile, seed, **splits[p])
                                        for p in ([proc] if proc == "initial" else folds)
                                        for seed in SEEDS])
            for proc in ("initial", "cv")]


def _cpu_plan(data: str | None = None, study: str = "ladder"):
    """A study's plan with the paper composition and splits, for the default backend's run store."""
    from .study import Study

    if study not in STUDIES:
        raise ValueError(f"unknown study {study!r}: choose one of {', '.join(STUDIES)}")
    base = PROFILES["paper" if study == "ladder" else "quick"]
    chosen = Study(base, data)
    comp = chosen.comp
    splits = {s.name: s for s in [chosen.initial_split, *chosen.folds]}
    arrays = {n: {"train": s.train, "val": s.val, "test": s.test} for n, s in splits.items()}
    return comp, splits, plan(arrays) if study == "ladder" else seed_plan(base, arrays)


def _store_name(member) -> tuple[str, Profile]:
    name = "initial" if member.procedure == "initial" else f"cv-{member.procedure}"
    seed = None if member.seed == member.profile.seed else member.seed  # the profile's own run
    return name, dataclasses.replace(member.profile, train_seed=seed)


def train_on_cpu(limit: int | None = None, data: str | None = None, log=print,
                 study: str = "ladder") -> dict:
    """Train the ladder's missing runs with the default backend, through the run store.

    Where no GPU is lent: each call trains at most `limit` runs, in the plan's order, and a later
    call resumes at the first run not stored. Returns how many are stored and how many are left.
    """
    from .study import stored_run, train_split

    comp, splits, groups = _cpu_plan(data, study)
    counts = {"stored": 0, "trained": 0, "left": 0}
    for _, members in groups:
        for m in members:
            name, profile = _store_name(m)
            split = splits[m.procedure]
            if stored_run(name, profile, comp, split) is not None:
                counts["stored"] += 1
            elif limit is not None and counts["trained"] >= limit:
                counts["left"] += 1
            else:
                log(f"training {m.label} / {m.procedure} / seed {m.seed}")
                train_split(name, profile, comp, split)
                counts["trained"] += 1
                counts["stored"] += 1
    return counts


def record_from_store(data: str | None = None, study: str = "ladder") -> dict:
    """A study's stored CPU runs in the grid's record format (stored runs only)."""
    from .backend import versions
    from .bench import cpu_info
    from .study import stored_run

    comp, splits, groups = _cpu_plan(data, study)
    y = np.asarray([CLASSES.index(label) for label in comp["label"]])
    out = {"kind": "ladder", "study": study, "machine": {**cpu_info(), **versions()}, "groups": {}, "members": [],
           "rungs": {}, "splits": {n: {"test_index": s.test.tolist(), "y_true": y[s.test].tolist()}
                                   for n, s in splits.items()}}
    for group, members in groups:
        seconds = 0.0
        for m in members:
            name, profile = _store_name(m)
            run = stored_run(name, profile, comp, splits[m.procedure])
            if run is None:
                continue
            h = run.history
            stopped = len(h) if len(h) < profile.epochs else None
            seconds += float(run.meta.get("train_seconds") or 0)
            out["rungs"][m.label] = m.profile.as_dict()
            out["members"].append({"label": m.label, "procedure": m.procedure, "seed": m.seed,
                                   "group": group, "stopped_epoch": stopped,
                                   "history": {k: h[k].tolist() for k in
                                               ("epoch", "loss", "accuracy", "val_loss",
                                                "val_accuracy", "lr")},
                                   "y_prob": np.round(run.y_prob, 4).tolist()})
        if seconds:
            images = sum(len(splits[m.procedure].train) * m.profile.epochs for m in members)
            out["groups"][group] = {"members": len(members), "steps_per_epoch": None,
                                    "first_epoch_s": None, "train_s": round(seconds, 1),
                                    "total_s": round(seconds, 1), "train_images": images,
                                    "images_per_s": round(images / seconds, 1)}
    if not out["members"]:
        raise FileNotFoundError("no stored ladder run: train some with `xraylib ladder --train-cpu N`")
    return out


_SETTINGS = [  # (setting, value of a profile, where the paper's text stands, where the code has it)
    ("learning rate at the start", lambda p: f"{p.learning_rate:g}",
     "stated (Section 3)",
     "notebooks: optimizer given as the string 'rmsprop', i.e. Keras' default rate; the logs' first "
     "halving confirms it"),
    ("floor of ReduceLROnPlateau (min_lr)", lambda p: f"{p.min_lr:g}" if p.min_lr else "none",
     "not stated (none assumed)",
     "notebooks (min_lr); the saved model's final learning rate equals it"),
    ("dropout after each conv block", lambda p: f"{p.conv_dropout:g}",
     "not stated (Table 1 lists the layers, not the rates): this book's assumption",
     "saved model (webapp/CrossValidatedModel.h5)"),
    ("early stopping", lambda p: (f"patience {p.early_stopping} on validation loss"
                                  if p.early_stopping else "none"),
     "not stated (none assumed)", "notebooks (EarlyStopping, default monitor)"),
    ("rotation range (degrees)", lambda p: f"{p.augmentation.rotation_deg:g}",
     "kinds stated, ranges not (Section 3): this book's assumption",
     "notebooks (ImageDataGenerator arguments)"),
    ("shear range (degrees)", lambda p: f"{p.augmentation.shear_deg:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("zoom range", lambda p: f"{p.augmentation.zoom:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("width / height shift", lambda p: f"{p.augmentation.width_shift:g} / {p.augmentation.height_shift:g}",
     "kinds stated, ranges not: this book's assumption", "notebooks (ImageDataGenerator arguments)"),
    ("horizontal flips", lambda p: "yes" if p.augmentation.horizontal_flip else "no",
     "not stated (none assumed)", "notebooks (ImageDataGenerator horizontal_flip)"),
]


def protocol_table(paper: Profile | None = None, authors: Profile | None = None) -> pd.DataFrame:
    """Every setting in which the paper's text and the authors' code differ, with where each side's
    value comes from (values read from the two profiles, so the table cannot drift from them)."""
    paper, authors = paper or PROFILES["paper"], authors or PROFILES["authors"]
    rows = [(name, value(paper), src_paper, value(authors), src_code)
            for name, value, src_paper, src_code in _SETTINGS if value(paper) != value(authors)]
    return pd.DataFrame(rows, columns=["setting", "paper's text", "source (paper)", "authors' code",
                                       "source (authors' repository)"]).set_index("setting")


def beside_seeds(value: float, seeds, what: str = "GPU seeds") -> str:
    """Where one number (%) falls among several seeds' numbers, in words true by construction."""
    # Compared as printed (one decimal): a run that is one of the seeds is inside, not a hair below.
    lo, hi, value = (round(float(v), 1) for v in (np.min(seeds), np.max(seeds), value))
    n = len(seeds)
    count = _NUMBERS[n] if n < len(_NUMBERS) else n
    if lo < hi and value in (lo, hi):  # a run that is the lowest seed is not 'inside' their range
        return f"{'the lowest' if value == lo else 'the highest'} of the {count} {what} ({lo:.1f}-{hi:.1f}%)"
    where = "inside" if lo <= value <= hi else ("above" if value > hi else "below")
    return f"{where} the range of the {count} {what} ({lo:.1f}-{hi:.1f}%)"


def lost_classes(record: LadderRecord, procedure: str = "initial") -> pd.Series:
    """How many trainings of a procedure found fewer than COLLAPSE_RECALL of each class's images."""
    m = record.members[record.members["procedure"].str.startswith(procedure)]
    return pd.Series({c: int((m[f"recall_{c}"] < 100 * COLLAPSE_RECALL).sum()) for c in CLASSES},
                     name="trainings that lost the class")


SEED_RECORDS = {"quick": ("quick-seeds.json", "quick"), "paper": ("ladder.json", "paper"),
                "authors": ("ladder.json", "authors")}
"""Where each profile's recorded seeds are: the quick profile's on the CPU, the others on the GPU."""


def seed_accuracies(profile_name: str, measure: str = "initial") -> pd.Series | None:
    """Test accuracies (%) of a profile's recorded seeds: measure 'initial', or 'cv mean' / 'cv pooled'
    (per seed, the mean of the five folds' accuracies or the pooled out-of-fold accuracy)."""
    from .config import project_root

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


def spread_phrase(value: float, profile_name: str, measure: str = "initial") -> str:
    """One run's accuracy (%) beside its profile's recorded seeds, in words true by construction."""
    seeds = seed_accuracies(profile_name, measure)
    if seeds is None or len(seeds) < 2:
        return f"no seed record exists for profile '{profile_name}', so this is one run"
    n = len(seeds)
    count = _NUMBERS[n] if n < len(_NUMBERS) else str(n)
    where = {"quick-seeds.json": "recorded on a CPU in records/quick-seeds.json",
             "ladder.json": "recorded on a GPU in records/ladder.json"}[SEED_RECORDS[profile_name][0]]
    return (f"over {count} training seeds ({where}) this profile averages {seeds.mean():.1f}% "
            f"(SD {seeds.std(ddof=1):.1f}); this run is "
            + beside_seeds(value, seeds.to_numpy(), what="seeds"))


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
