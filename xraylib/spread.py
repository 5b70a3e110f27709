"""The stress record read: every number of a seeded network as the mean and range over its seeds.

Why: one network is an anecdote. The book's statements about what the network learned (how it
calls films from other hospitals, what it says with the lungs blanked, where its saliency lies)
are read from records/stress-<profile>.json, which holds every seeded network's predictions, and
each is shown as the mean and range over the seeds, with the seed count beside it; a change made
by removing one shortcut is called a change only where it lies beyond the seeds' own spread.
Reading the record needs no Keras.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import metrics, wording
from .config import CLASS_NAMES, CLASSES, project_root
from .ladder_record import COLLAPSE_RECALL

ORIGIN_NAMES = {
    "hannover-mhh-covid-19-image-repository": "Hannover Medical School (adults)",
    "ieee8023-covid-chestxray-dataset": "Cohen et al. collection (adults)",
    "nih-chestxray14-no-finding": "NIH ChestX-ray14 (adults)",
    "kermany-cxr-pneumonia-test": "Kermany test split (children, training hospital)",
    "shenzhen-tb-normal": "Shenzhen No.3 People's Hospital (adults)",
}
"""Reader-facing names of the external and control origins (the manifests' dataset values)."""

ARM_NAMES = {"protocol": "the protocol as it is", "jpeg": "one JPEG round trip for every image",
             "lungs-blanked": "lung box blanked in every image", "b32": "batch 32",
             "b32-bn0.9": "batch 32, batch-norm momentum 0.9",
             "b32-no-stop": "batch 32, no early stopping",
             "adult-normals": "adult normal films from NIH in the normal class",
             "paper-text": "the paper's text (learning rate 1e-4)"}


@dataclass(frozen=True)
class Spread:
    """A quantity over seeded networks: each network's value, summarised as mean and range."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def low(self) -> float:
        return float(np.min(self.values)) if self.values else float("nan")

    @property
    def high(self) -> float:
        return float(np.max(self.values)) if self.values else float("nan")

    @property
    def sd(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else float("nan")

    def text(self, scale: float = 100, digits: int = 1, unit: str = "", seeds: bool = True) -> str:
        """'88.4 (87.1-90.2, 5 seeds)': the mean, the range over seeds and how many there are."""
        if not self.values:
            return "n/a"
        f = lambda v: f"{round(scale * v, digits) + 0.0:.{digits}f}"  # noqa: E731 - never "-0.0"
        tail = f", {self.n} seed{'s' if self.n != 1 else ''}" if seeds else ""
        if self.n == 1:
            return f"{f(self.mean)}{unit} (1 seed)" if seeds else f"{f(self.mean)}{unit}"
        return f"{f(self.mean)}{unit} ({f(self.low)}-{f(self.high)}{unit}{tail})"


@dataclass
class StressRecord:
    """records/stress-<profile>.json as arrays: one row per network, the folders' films."""

    profile: dict
    networks: list[dict]
    y_true: np.ndarray
    test_index: np.ndarray  # positions of the internal test films in the study's composition
    films: pd.DataFrame  # external and control films: folder, file, label, dataset
    machine: dict

    def arm(self, name: str) -> list[dict]:
        """The networks of one arm, in seed order."""
        return sorted((n for n in self.networks if n["arm"] == name), key=lambda n: n["seed"])

    def seeds(self, arm: str = "protocol") -> list[int]:
        return [n["seed"] for n in self.arm(arm)]

    def film_predictions(self, net: dict) -> np.ndarray:
        """A network's probabilities on every external and control film, in `films` order."""
        return np.concatenate([np.asarray(net[f], np.float64) for f in self.films["folder"].unique()])


def record_path(profile: str = "authors") -> Path:
    return project_root() / "records" / f"stress-{profile}.json"


def read_stress(path: str | Path | None = None) -> StressRecord:
    """The stress record (default: records/stress-authors.json). A missing file is an error that
    names the command that writes it."""
    path = Path(path) if path is not None else record_path()
    if not path.is_file():
        raise FileNotFoundError(f"no stress record at {path}: write it with `python -m xraylib.stress "
                                f"record` after `python -m xraylib.stress train` (make reproduce)")
    raw = json.loads(path.read_text())
    if raw.get("kind") != "stress":
        raise ValueError(f"{path} is not a stress record (kind {raw.get('kind')!r})")
    films = pd.concat([pd.DataFrame({"folder": folder, "file": f["files"], "label": f["labels"],
                                     "dataset": f["datasets"]})
                       for folder, f in raw["folders"].items()], ignore_index=True)
    return StressRecord(raw["profile"], raw["networks"], np.asarray(raw["y_true"]),
                        np.asarray(raw.get("test_index", [])), films,
                        raw.get("machine", {}))


def _accuracy(y: np.ndarray, prob: np.ndarray) -> float:
    return float((np.asarray(prob).argmax(1) == y).mean())


def internal(record: StressRecord, arm: str = "protocol") -> pd.DataFrame:
    """Per network of an arm: internal test accuracy, each class's sensitivity, the calibration
    error and (protocol) the accuracy with the lung box blanked at test time, as fractions."""
    rows = []
    y = record.y_true
    for net in record.arm(arm):
        prob = np.asarray(net["test"])
        pred = prob.argmax(1)
        row = {"seed": net["seed"], "accuracy": _accuracy(y, prob),
               **{f"sensitivity {c}": float((pred[y == k] == k).mean()) for k, c in enumerate(CLASSES)},
               "calibration error": metrics.expected_calibration_error(y, prob)}
        if "blanked_test" in net:
            row["lungs blanked at test"] = _accuracy(y, np.asarray(net["blanked_test"]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("seed")


def over_seeds(table: pd.DataFrame) -> dict[str, Spread]:
    """Each column of a per-seed table as a Spread."""
    return {c: Spread(tuple(float(v) for v in table[c].dropna())) for c in table.columns}


def origin_calls(record: StressRecord, arm: str = "protocol") -> pd.DataFrame:
    """Per network, origin and true class of the external and control films: films, share right
    and share called each class (long format: one row per network x origin x true class)."""
    rows = []
    films = record.films
    y = films["label"].map(CLASSES.index).to_numpy()
    for net in record.arm(arm):
        pred = record.film_predictions(net).argmax(1)
        for (dataset, label), part in films.groupby(["dataset", "label"], sort=False):
            idx = part.index.to_numpy()
            called = np.bincount(pred[idx], minlength=len(CLASSES)) / len(idx)
            rows.append({"seed": net["seed"], "origin": dataset, "true class": label,
                         "films": len(idx), "right": float((pred[idx] == y[idx]).mean()),
                         **{f"called {c}": float(called[k]) for k, c in enumerate(CLASSES)}})
    return pd.DataFrame(rows)


def origin_table(record: StressRecord, arm: str = "protocol") -> pd.DataFrame:
    """One row per origin and true class: films, and right / called-each-class as Spreads over
    the arm's seeds (for display: `display_origins`)."""
    calls = origin_calls(record, arm)
    value_cols = ["right"] + [f"called {c}" for c in CLASSES]
    out = []
    for (origin, label), part in calls.groupby(["origin", "true class"], sort=False):
        out.append({"origin": origin, "true class": label, "films": int(part["films"].iloc[0]),
                    **{c: Spread(tuple(part[c])) for c in value_cols}})
    return pd.DataFrame(out)


def display_origins(table: pd.DataFrame) -> pd.DataFrame:
    """An origin table with reader-facing names and every Spread as text (mean, range over seeds)."""
    shown = table.copy()
    shown["origin"] = shown["origin"].map(lambda o: ORIGIN_NAMES.get(o, o))
    shown["true class"] = shown["true class"].map(CLASS_NAMES)
    for col in [c for c in shown.columns if isinstance(shown[c].iloc[0], Spread)]:
        shown[col] = shown[col].map(lambda s: s.text(seeds=False))
    shown = shown.rename(columns={f"called {c}": f"called {CLASS_NAMES[c]} (%)" for c in CLASSES}
                         | {"right": "right (%)"})
    return shown.set_index(["origin", "true class"])


def saliency_shares(record: StressRecord, method: str = "vanilla", region: str = "lung") -> pd.DataFrame:
    """Per protocol network: the mean share of the method's map in a region, per true class and
    over all (`all`), with the number of all-zero maps left out of the mean."""
    rows = []
    for net in record.arm("protocol"):
        if method not in net.get("saliency", {}):
            continue
        s = net["saliency"][method]
        rows.append({"seed": net["seed"], "images": s["images"], "empty maps": s["empty_maps"],
                     **{("all" if k == "all" else CLASSES[int(k)]): v for k, v in s[region].items()}})
    return pd.DataFrame(rows, columns=["seed", "images", "empty maps"] if not rows else None
                        ).set_index("seed")


@dataclass(frozen=True)
class ArmEffect:
    """How one arm moved one quantity against the protocol's own seeds."""

    quantity: str
    protocol: Spread
    arm: Spread

    @property
    def difference(self) -> float:
        return self.arm.mean - self.protocol.mean

    @property
    def beyond_spread(self) -> bool:
        """Every seed of the arm lies outside the protocol seeds' range, on the same side: the
        change is larger than what another seed alone does (needs two seeds on each side)."""
        if self.arm.n < 2 or self.protocol.n < 2:
            return False
        return self.arm.low > self.protocol.high or self.arm.high < self.protocol.low

    def sentence(self, what: str) -> str:
        """A verdict no stronger than the numbers: how far the mean moved, and whether beyond the
        spread of the protocol's seeds."""
        moved = f"{100 * self.difference:+.1f} points ({self.protocol.text()} -> {self.arm.text()})"
        if self.arm.n < 2:
            return (f"{what}: {moved}; one seed of the arm so far, which cannot tell a change "
                    f"from a seed's luck")
        if self.beyond_spread:
            return f"{what} moved {moved}: every seed of the arm lies beyond the protocol's seeds"
        return (f"{what}: {moved}, within the spread of the protocol's own seeds, so no change "
                f"is shown")


def arm_effects(record: StressRecord, arm: str) -> list[ArmEffect]:
    """The arm against the protocol on the internal test and on every external/control origin
    and true class (share right)."""
    effects = [ArmEffect("internal test accuracy", over_seeds(internal(record))["accuracy"],
                         over_seeds(internal(record, arm))["accuracy"])]
    recalibrated = [Spread(tuple(_accuracy(record.y_true, np.asarray(n["recalibrated_test"]))
                                 for n in record.arm(a) if "recalibrated_test" in n)) for a in ("protocol", arm)]
    if all(s.n for s in recalibrated):  # a collapse of the arm may be its batch-norm statistics'
        effects.append(ArmEffect("internal test accuracy, batch-norm statistics recomputed", *recalibrated))
    base, changed = origin_table(record), origin_table(record, arm)
    for (_, b), (_, c) in zip(base.iterrows(), changed.iterrows()):
        name = f"{ORIGIN_NAMES.get(b['origin'], b['origin'])}, {CLASS_NAMES[b['true class']]} films right"
        effects.append(ArmEffect(name, b["right"], c["right"]))
    return effects


def covid_misses(record: StressRecord, comp: pd.DataFrame, gray256: np.ndarray) -> pd.DataFrame:
    """The internal test's COVID-19 films: how many protocol seeds call each one viral pneumonia,
    normal or COVID-19, beside what else marks the film: a patient id from Cohen et al.'s collection
    (the older, publication-sourced films), its JPEG blockiness and its burnt-in bright marks.
    `gray256` holds the test films' 256 px images in the record's test order."""
    from . import shortcuts

    test = comp.iloc[record.test_index]
    covid = np.flatnonzero(record.y_true == CLASSES.index("covid"))
    nets = record.arm("protocol")
    calls = np.stack([np.asarray(n["test"]).argmax(1)[covid] for n in nets])  # seeds x films
    out = pd.DataFrame({"file": test["file"].to_numpy()[covid],
                        "Cohen et al. patient": test["patient_id"].fillna("").str.startswith(
                            "ieee8023:").to_numpy()[covid],
                        "blockiness": shortcuts.blockiness(gray256[covid]),
                        "bright marks": shortcuts.bright_marks(gray256[covid])})
    for k, c in enumerate(CLASSES):
        out[f"seeds calling {c}"] = (calls == k).sum(0)
    out["seeds"] = len(nets)
    return out


def _majorities(films: pd.DataFrame) -> dict[str, pd.Series]:
    """The films most seeds call viral pneumonia ("miss") and those most call COVID-19 ("hit")."""
    majority = films["seeds"] / 2
    return {"miss": films["seeds calling viral_pneumonia"] > majority,
            "hit": films["seeds calling covid"] > majority}


def misses_summary(films: pd.DataFrame) -> pd.DataFrame:
    """COVID-19 films called viral pneumonia by most seeds against those called COVID-19 by most:
    films, share with a Cohen et al. patient id, median blockiness and bright-mark share."""
    names = {"miss": "called viral pneumonia by most seeds", "hit": "called COVID-19 by most seeds"}
    rows = {names[key]: {"films": int(mask.sum()),
                   "Cohen et al. patient (%)": 100 * films.loc[mask, "Cohen et al. patient"].mean(),
                   "median blockiness": films.loc[mask, "blockiness"].median(),
                   "median bright marks (%)": 100 * films.loc[mask, "bright marks"].median()}
            for key, mask in _majorities(films).items()}
    return pd.DataFrame(rows).T


def misses_values(films: pd.DataFrame) -> dict[str, str]:
    """The error analysis's numbers for the prose: per group (films most seeds call viral pneumonia,
    films most call COVID-19) its count, how many carry a Cohen et al. patient id, and the median
    bright-mark share and blockiness; the films the seeds split on are counted apart."""
    groups = _majorities(films)
    values = {"err_films": str(len(films)),
              "err_split": str(int(len(films) - sum(m.sum() for m in groups.values())))}
    for key, mask in groups.items():
        n, cohen = int(mask.sum()), int(films.loc[mask, "Cohen et al. patient"].sum())
        values[f"err_{key}_n"] = str(n)
        values[f"err_{key}_cohen"] = f"{cohen} of {n}" + (f" ({100 * cohen / n:.0f}%)" if n else "")
        values[f"err_{key}_marks"] = f"{100 * films.loc[mask, 'bright marks'].median():.1f}%"
        values[f"err_{key}_marked"] = f"{int((films.loc[mask, 'bright marks'] > 0).sum())} of {n}"
        values[f"err_{key}_block"] = f"{films.loc[mask, 'blockiness'].median():.3f}"
    return values


def error_analysis(record: StressRecord, comp: pd.DataFrame) -> tuple[dict[str, str], pd.DataFrame]:
    """The internal test's COVID-19 films called viral pneumonia by the protocol's seeds against
    those called COVID-19 (chapter Shortcuts): the glued numbers and the summary table. `comp` is
    the record's composition (its test_index points into it)."""
    from .data import load_gray

    gray = load_gray(list(comp["path"].iloc[record.test_index]), 256)
    films = covid_misses(record, comp, gray)
    return misses_values(films), misses_summary(films)


def arm_status(record: StressRecord) -> pd.DataFrame:
    """Per arm: what it changes, seeds planned, seeds in the record (the rest are still to train)."""
    from .stress_plan import ARMS

    return pd.DataFrame([{"arm": ARM_NAMES.get(a.name, a.name), "seeds planned": len(a.seeds),
                          "seeds trained": len(record.arm(a.name)),
                          "seeds": ", ".join(str(s) for s in record.seeds(a.name)) or "none yet"}
                         for a in ARMS]).set_index("arm")


def arm_verdicts(record: StressRecord, arm: str) -> list[str]:
    """The generated verdict sentences of one arm (one per quantity), or one sentence saying how
    many of its seeds are trained when fewer than two are."""
    n = len(record.arm(arm))
    if n < 2:
        name = ARM_NAMES.get(arm, arm)
        return [f"{name[0].upper() + name[1:]}: {n} seed{'s' if n != 1 else ''} trained so "
                f"far; at least two are needed before any change can be told from a seed's luck, "
                f"so this arm gives no verdict yet."]
    return [e.sentence(e.quantity) for e in arm_effects(record, arm)]


def arm_summaries(record: StressRecord) -> dict[str, str]:
    """One generated clause per shortcut arm (stress_plan.SHORTCUT_ARMS) for the opening page and
    the Conclusions (`arm_<name>`): its seeds, and which quantities moved beyond the protocol
    seeds' spread, or that none did, or that it has too few seeds for a verdict."""
    from .stress_plan import SHORTCUT_ARMS

    values = {}
    for arm in SHORTCUT_ARMS:
        n, key = len(record.arm(arm)), f"arm_{arm.replace('-', '_')}"
        name = ARM_NAMES.get(arm, arm)
        if n < 2:
            values[key] = f"{name}: {n} seed{'s' if n != 1 else ''} trained, no verdict yet"
            continue
        moved = [f"{e.quantity} {100 * e.difference:+.1f} points" for e in arm_effects(record, arm)
                 if e.beyond_spread]
        values[key] = (f"{name} ({n} seeds): " + ("; ".join(moved) + " (beyond the protocol's "
                       "seeds)" if moved else "nothing moved beyond the spread of the protocol's seeds"))
    return values


def _origin_spread(table: pd.DataFrame, origin: str, label: str, column: str) -> Spread:
    row = table[(table["origin"] == origin) & (table["true class"] == label)]
    return row[column].iloc[0] if len(row) else Spread(())


def glue_values(record: StressRecord) -> dict[str, str]:
    """The stress record's numbers the chapters quote, as text keyed by glue name: each a mean
    and range over the protocol's seeds (percent), with the seed count said once (`seeds_n`)."""
    table = origin_table(record)
    inner = over_seeds(internal(record))
    pct = lambda s: s.text(seeds=False, unit="%")  # noqa: E731
    values = {"seeds_n": str(len(record.arm("protocol"))),
              "seeds_list": ", ".join(str(s) for s in record.seeds()),
              "seeds_acc": pct(inner["accuracy"]),
              "seeds_covid_sens": pct(inner["sensitivity covid"]),
              "seeds_blanked": pct(inner.get("lungs blanked at test", Spread(())))}
    origins = {"nih": ("nih-chestxray14-no-finding", "normal"),
               "shenzhen": ("shenzhen-tb-normal", "normal"),
               "kermany_normal": ("kermany-cxr-pneumonia-test", "normal"),
               "kermany_viral": ("kermany-cxr-pneumonia-test", "viral_pneumonia"),
               "hannover": ("hannover-mhh-covid-19-image-repository", "covid"),
               "cohen": ("ieee8023-covid-chestxray-dataset", "viral_pneumonia")}
    for key, (origin, label) in origins.items():
        values[f"seeds_{key}_right"] = pct(_origin_spread(table, origin, label, "right"))
        for c in CLASSES:
            values[f"seeds_{key}_called_{c}"] = pct(_origin_spread(table, origin, label, f"called {c}"))
        row = table[(table["origin"] == origin) & (table["true class"] == label)]
        values[f"seeds_{key}_films"] = str(int(row["films"].iloc[0])) if len(row) else "0"
    adult = [_origin_spread(table, o, "normal", "right") for o in
             ("nih-chestxray14-no-finding", "shenzhen-tb-normal")]
    highs = [s.high for s in adult if s.n]
    values["seeds_adult_normal_max"] = f"{100 * max(highs):.1f}%" if highs else "n/a"
    for method in ("vanilla", "gradcam"):
        shares = saliency_shares(record, method)
        values[f"seeds_{method}_lung"] = pct(Spread(tuple(shares["all"]))) if len(shares) else "n/a"
        values[f"seeds_{method}_empty"] = (f"{int(shares['empty maps'].sum())} of "
                                           f"{int(shares['images'].sum())}") if len(shares) else "n/a"
    return values


def batchnorm_diagnosis(record: StressRecord) -> pd.DataFrame:
    """Per network with recomputed batch-norm statistics (the protocol's seeds, the batch-32 arms
    and the paper's text): epochs trained, test accuracy and the classes it predicts, before and after the
    statistics are replaced by the training images' own (weights fixed)."""
    rows = []
    y = record.y_true
    for net in record.networks:
        if "recalibrated_test" not in net or not (net["arm"] in ("protocol", "paper-text")
                                                   or net["arm"].startswith("b32")):
            continue
        before, after = np.asarray(net["test"]).argmax(1), np.asarray(net["recalibrated_test"]).argmax(1)
        count = lambda p: "/".join(str(int((p == k).sum())) for k in range(len(CLASSES)))  # noqa: E731
        recalls = [float((before[y == k] == k).mean()) for k in range(len(CLASSES))]
        rows.append({"network": ARM_NAMES.get(net["arm"], net["arm"]), "seed": net["seed"],
                     "epochs": net.get("epochs"), "accuracy": float((before == y).mean()),
                     "collapsed": min(recalls) < COLLAPSE_RECALL,
                     "predicted (COVID-19/viral/normal)": count(before),
                     "accuracy, statistics recomputed": float((after == y).mean()),
                     "predicted after": count(after)})
    return pd.DataFrame(rows, columns=["network", "seed", "epochs", "accuracy", "collapsed",
                                       "predicted (COVID-19/viral/normal)",
                                       "accuracy, statistics recomputed", "predicted after"])


RECOVERED_POINTS = 20.0
"""Accuracy regained (points) by recomputed statistics that names them the cause of a collapse."""


def _recalibration_sentence(row) -> str:
    gain = 100 * (row["accuracy, statistics recomputed"] - row["accuracy"])
    head = f"{row['network']} (seed {row['seed']}, {row['epochs']} epochs): "
    numbers = (f"{100 * row['accuracy']:.1f}% -> {100 * row['accuracy, statistics recomputed']:.1f}% "
               f"with the statistics recomputed")
    if not row["collapsed"]:
        return f"{head}did not collapse ({numbers})"
    verdict = ("the stale moving statistics were the cause" if gain >= RECOVERED_POINTS else
               "the statistics were not the cause: the weights themselves do not separate the classes")
    return f"{head}{numbers}, so {verdict}"


def _paper_text_sentence(row) -> str:
    """The paper's text: does its low accuracy come from the moving statistics, like batch 32's?"""
    gain = 100 * (row["accuracy, statistics recomputed"] - row["accuracy"])
    numbers = (f"{row['network']} (seed {row['seed']}, {row['epochs']} epochs): "
               f"{100 * row['accuracy']:.1f}% -> {100 * row['accuracy, statistics recomputed']:.1f}% "
               f"with the statistics recomputed")
    if gain >= RECOVERED_POINTS:
        return f"{numbers}: its moving statistics hold it back too"
    if abs(gain) < RECOVERED_POINTS / 4:
        return f"{numbers}: its statistics are not what holds it back; its weights are"
    return f"{numbers}: recomputing moves it by {gain:+.1f} points, short of a recovery"


def batchnorm_verdict(table: pd.DataFrame) -> str:
    """What the recomputed statistics say about the batch-32 collapse and the paper's text, in
    sentences no stronger than the networks in the table (one row per network; see
    batchnorm_diagnosis): a setting's mechanism is named only when all its seeds agree."""
    b32 = table[table["network"].str.startswith("batch 32")] if len(table) else table
    if b32.empty:
        return ("no batch-32 network is in the stress record yet, so the mechanism is untested "
                "(they are trained after the protocol's seeds: python -m xraylib.stress train)")
    text = "; ".join(_recalibration_sentence(row) for _, row in b32.iterrows())
    per_setting = b32.groupby("network")["collapsed"]
    every = per_setting.all().to_dict()  # every seed of the setting collapsed
    never = (~per_setting.any()).to_dict()  # no seed of it did
    fast, no_stop, b32_name = ARM_NAMES["b32-bn0.9"], ARM_NAMES["b32-no-stop"], ARM_NAMES["b32"]
    if every.get(b32_name) and fast in every and no_stop in every:
        if never[fast] and every[no_stop]:
            text += (". Moving statistics that follow the weights faster (momentum 0.9) prevent the "
                     "collapse, and training past the early stop does not: the lagging statistics, not "
                     "the stopping epoch, carry it")
        elif never[no_stop]:
            text += ". Without early stopping it did not collapse: the stopping epoch is a co-cause"
        else:
            text += ". The two controls' seeds disagree, so neither mechanism is shown"
    counts = sorted(set(b32.groupby("network").size()))
    each = (f"{wording.count_word(counts[0])} network{'s' if counts[0] > 1 else ''} each" if len(counts) == 1
            else f"{counts[0]}-{counts[-1]} networks each")
    text += f" ({each}: a mechanism shown on few seeds, not a rate)"
    paper = table[table["network"] == ARM_NAMES["paper-text"]]
    for _, row in paper.iterrows():
        sentence = _paper_text_sentence(row)
        text += ". " + sentence[0].upper() + sentence[1:] + " (one network)"
    return text


def display_batchnorm(table: pd.DataFrame) -> pd.DataFrame:
    """The batch-norm diagnosis as the book shows it (accuracies in percent)."""
    shown = table.drop(columns="collapsed")
    for col in ("accuracy", "accuracy, statistics recomputed"):
        shown[col] = shown[col].map(lambda v: f"{100 * v:.1f}%")
    return shown.rename(columns={"accuracy": "test accuracy",
                                 "accuracy, statistics recomputed": "test accuracy, statistics recomputed"}
                        ).set_index(["network", "seed"])


def verdict_table(record: StressRecord) -> pd.DataFrame:
    """Every shortcut-removal arm's generated verdicts, one row each."""
    from .stress_plan import SHORTCUT_ARMS

    rows = [{"arm": ARM_NAMES.get(arm, arm), "verdict": v}
            for arm in SHORTCUT_ARMS for v in arm_verdicts(record, arm)]
    return pd.DataFrame(rows).set_index("arm")


def display_internal(record: StressRecord, arm: str = "protocol") -> pd.DataFrame:
    """The internal rates of an arm's networks, each as its mean and range over the seeds."""
    names = {"accuracy": "test accuracy", "calibration error": "expected calibration error",
             "lungs blanked at test": "test accuracy, lung box blanked",
             **{f"sensitivity {c}": f"sensitivity, {CLASS_NAMES[c]}" for c in CLASSES}}
    rows = []
    for col, s in over_seeds(internal(record, arm)).items():
        scale, unit = (1, "") if col == "calibration error" else (100, "%")
        rows.append({"quantity": names.get(col, col),
                     "mean (range over seeds)": s.text(scale=scale, digits=3 if scale == 1 else 1,
                                                       unit=unit, seeds=False),
                     "seeds": s.n})
    return pd.DataFrame(rows).set_index("quantity")
