"""The protocols the book compares, as their recorded runs, and the headline table they give.

Why one module: the opening page, the Results chapter and the Conclusions quote the same numbers,
so they are computed once, here, from the committed records (records/*.json, records/runs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import cv, ladder_record, ladder_tables, metrics, paper, record, shortcuts, wording
from .config import CLASS_NAMES, CLASSES, PROFILES, Profile, get_profile, project_root

BASELINE_TITLE = "logistic regression on 32x32 thumbnails"
"""The thumbnail baseline's row in the headline table."""

REFERENCE_SEED = 2020
"""The profiles' own seed: each protocol's one full study shown with its test-sampling interval."""

TEXT_TITLE = "the paper's text"
"""Row label of the protocol as the paper's text states it."""

CODE_TITLE = "the paper's network with the authors' code settings"
"""Row label of the `authors` profile: the paper's five-block network trained with the settings of
the authors' notebooks (which themselves train a three-block variant), so not 'the authors' code'."""

QUICK_KEY = "quick"
"""The preview is build plumbing (the authors' protocol at 96 px), not a finding: kept out of the headline."""

PREVIEW_TITLE = "the preview (the authors' protocol at 96 px)"
"""Row label of the `quick` profile."""


@dataclass
class Protocol:
    """One training protocol: one full record (initial procedure and five folds) and its seeds."""

    key: str
    title: str
    record: record.Record
    record_where: str
    seeds: ladder_record.LadderRecord | None
    seeds_rung: str
    seeds_where: str

    def seed_accuracies(self, measure: str = "initial") -> pd.Series:
        """Accuracy (%) per recorded seed: 'initial', or 'cv' (pooled out-of-fold, per seed)."""
        if self.seeds is None:
            return pd.Series(dtype=float)
        if measure == "initial":
            m = self.seeds.members
            return m[(m["rung"] == self.seeds_rung) & (m["procedure"] == "initial")].set_index("seed")["accuracy"]
        table = ladder_tables.cv_table(self.seeds)
        return table[table["rung"] == self.seeds_rung].set_index("seed")["pooled accuracy"]


def _records() -> dict:
    folder = project_root() / "records"
    return {"cpu": record.read_record(folder / "paper-profile.json"),
            "ladder": ladder_record.read_ladder(folder / "ladder.json"),
            "quick": ladder_record.read_ladder(folder / "quick-seeds.json")}


def recorded(quick_record: record.Record | None = None) -> dict[str, Protocol]:
    """The paper's text, the authors' code and (given its record) the quick preview."""
    r = _records()
    gpu = f"Keras on JAX, GPU ({r['ladder'].machine['device']})"
    out = {
        "paper": Protocol("paper", TEXT_TITLE, r["cpu"],
                          f"TensorFlow, CPU ({r['cpu'].meta['machine']['processor']})",
                          r["ladder"], "paper", gpu),
        "authors": Protocol("authors", CODE_TITLE,
                            ladder_record.seed_record(r["ladder"], "authors", REFERENCE_SEED), gpu,
                            r["ladder"], "authors", gpu),
    }
    if quick_record is not None:
        out["quick"] = Protocol("quick", PREVIEW_TITLE, quick_record,
                                "TensorFlow, CPU (pinned runs)", r["quick"], "quick",
                                f"TensorFlow, CPU ({r['quick'].machine['processor']})")
    return out


def headline(protocols: dict[str, Protocol], baseline: record.Record | None = None) -> pd.DataFrame:
    """Accuracy of each protocol: one study with its Wilson interval, and the spread over seeds.

    Cross-validation is pooled out of fold (each of the 1,389 images predicted once), which equals
    the mean of the five folds up to a fold's size; the paper's 90.64 is its folds' mean.
    Columns hold Estimates (fractions) and plain numbers; `headline_text` formats them.
    """
    rows = [{"protocol": "reported by the paper", "initial": paper.INITIAL_ACCURACY / 100,
             "cv": paper.CV_MEAN_ACCURACY / 100}]
    for p in protocols.values():
        row = {"protocol": p.title, "key": p.key,
               "initial": metrics.accuracy(p.record.initial.y_true, p.record.initial.y_prob),
               "cv": metrics.accuracy(*p.record.pooled()), "study trained with": p.record_where,
               "seeds trained with": p.seeds_where}
        for measure in ("initial", "cv"):
            seeds = p.seed_accuracies(measure) / 100
            row[f"{measure} seeds"] = len(seeds)
            row[f"{measure} seed mean"] = float(seeds.mean()) if len(seeds) else np.nan
            row[f"{measure} seed SD"] = float(seeds.std(ddof=1)) if len(seeds) > 1 else np.nan
            row[f"{measure} seed range"] = (float(seeds.min()), float(seeds.max())) if len(seeds) else None
        rows.append(row)
    if baseline is not None:
        rows.append({"protocol": BASELINE_TITLE,
                     "initial": metrics.accuracy(baseline.initial.y_true, baseline.initial.y_prob),
                     "cv": metrics.accuracy(*baseline.pooled()),
                     "study trained with": "scikit-learn (deterministic)"})
    return pd.DataFrame(rows).set_index("protocol")


def headline_text(table: pd.DataFrame) -> pd.DataFrame:
    """The headline as a reader's table: percent, intervals and seed spreads in words, and which
    implementation trained each number (CPU and GPU results differ in kind). The quick preview's
    row is left out: it is how the book builds fast, not a result."""
    if "key" in table:
        table = table[table["key"] != QUICK_KEY]
    def one(v):
        if isinstance(v, metrics.Estimate):
            return v.text(unit="%")
        return f"{100 * v:g}%" if isinstance(v, float) and not np.isnan(v) else ""

    def seeds(row, measure):
        n = row.get(f"{measure} seeds")
        if pd.isna(n) or n < 2:
            return ""
        lo, hi = row[f"{measure} seed range"]
        return f"{100 * row[f'{measure} seed mean']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f}%), {int(n)} seeds"

    out = pd.DataFrame({
        "initial test: one study (95% CI)": table["initial"].map(one),
        "initial test: mean over seeds (range)": [seeds(r, "initial") for _, r in table.iterrows()],
        "cross-validation: one study (95% CI)": table["cv"].map(one),
        "cross-validation: mean over seeds (range)": [seeds(r, "cv") for _, r in table.iterrows()],
        "trained with": [_trained_with(r) for _, r in table.iterrows()]},
        index=table.index)
    out.index.name = None
    return out


def _trained_with(row: pd.Series) -> str:
    study, seeds = row.get("study trained with"), row.get("seeds trained with")
    if not isinstance(study, str):
        return ""
    if not isinstance(seeds, str) or not seeds or seeds == study:
        return study
    return f"one study: {study}; seeds: {seeds}"


_COUNT = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def provenance(protocols: dict[str, Protocol]) -> str:
    """Which backend and machine trained each protocol's study and seeds, as one sentence."""
    parts = [f"{p.title}, study and seeds with {p.record_where}" if p.record_where == p.seeds_where
             else f"{p.title}, the study with {p.record_where} and the seeds with {p.seeds_where}"
             for p in protocols.values()]
    return "Trained with: " + "; ".join(parts) + "."


def over_seeds(table: pd.DataFrame, protocol: str, measure: str = "initial") -> str:
    """'56.4% (44.6-63.1%) over five seeds': a protocol's seed mean and range, for prose."""
    row = table.loc[protocol]
    n = int(row[f"{measure} seeds"])
    lo, hi = row[f"{measure} seed range"]
    count = _COUNT[n] if n < len(_COUNT) else str(n)
    return f"{100 * row[f'{measure} seed mean']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f}%) over {count} seeds"


def separated(table: pd.DataFrame, better: str, worse: str, measure: str = "initial") -> bool:
    """Whether every seed of `better` scored above every seed of `worse` (a claim seeds can carry)."""
    return table.loc[better, f"{measure} seed range"][0] > table.loc[worse, f"{measure} seed range"][1]


# The Results chapter's tables: every protocol through the same analysis.

def _by_title(protocols: dict[str, Protocol]) -> dict[str, record.Record]:
    return {p.title: p.record for p in protocols.values()}


def results_table(protocols: dict[str, Protocol]) -> pd.DataFrame:
    """Each protocol's one study beside the paper: accuracy and macro F1 on the initial test set
    (Wilson / bootstrap intervals), and in cross-validation pooled and as the folds' mean and SD
    (the paper's Table 2 averages its folds)."""
    rows = [{"protocol": "reported by the paper", "initial accuracy": paper.INITIAL_ACCURACY / 100,
             "initial macro F1": paper.INITIAL_F1 / 100, "CV accuracy, pooled": np.nan,
             "CV accuracy, mean of folds": paper.CV_MEAN_ACCURACY / 100,
             "CV accuracy, SD of folds": paper.TABLE2["accuracy"].std(ddof=1) / 100,
             "CV macro F1, mean of folds": paper.CV_MEAN_F1_TABLE / 100}]  # Table 2 prints 89.8
    for title, rec in _by_title(protocols).items():
        folds = rec.table()
        rows.append({"protocol": title,
                     "initial accuracy": metrics.accuracy(rec.initial.y_true, rec.initial.y_prob),
                     "initial macro F1": metrics.macro_f1_estimate(rec.initial.y_true, rec.initial.y_prob),
                     "CV accuracy, pooled": metrics.accuracy(*rec.pooled()),
                     "CV accuracy, mean of folds": folds.loc["mean", "accuracy"] / 100,
                     "CV accuracy, SD of folds": folds.loc["SD", "accuracy"] / 100,
                     "CV macro F1, mean of folds": folds.loc["mean", "f1"] / 100})
    return pd.DataFrame(rows).set_index("protocol")


def uncertainty_table(protocols: dict[str, Protocol]) -> pd.DataFrame:
    """Three sizes of uncertainty per protocol, in accuracy points: the half-width of one study's
    95% test-sampling interval, the SD over its five folds, and the SD over recorded seeds."""
    rows = []
    for p in protocols.values():
        acc = metrics.accuracy(p.record.initial.y_true, p.record.initial.y_prob)
        init_seeds, cv_seeds = p.seed_accuracies("initial"), p.seed_accuracies("cv")
        rows.append({"protocol": p.title,
                     "initial: half-width of the 95% interval": 100 * (acc.high - acc.low) / 2,
                     "initial: SD over seeds": init_seeds.std(ddof=1) if len(init_seeds) > 1 else np.nan,
                     "seeds (initial)": len(init_seeds),
                     "CV: SD over folds": p.record.table().loc["SD", "accuracy"],
                     "CV: SD over seeds (pooled)": cv_seeds.std(ddof=1) if len(cv_seeds) > 1 else np.nan,
                     "seeds (CV)": len(cv_seeds)})
    return pd.DataFrame(rows).set_index("protocol")


def per_class(protocols: dict[str, Protocol]) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV per class on each study's pooled out-of-fold predictions."""
    parts = {}
    for title, rec in _by_title(protocols).items():
        y, prob = rec.pooled()
        est = metrics.per_class_estimates(y, prob.argmax(1))
        parts[title] = est.rename(index=CLASS_NAMES)
    return pd.concat(parts, names=["protocol", "class"])


def against_baseline(protocols: dict[str, Protocol], baseline: record.Record) -> pd.DataFrame:
    """Each study's pooled predictions against the thumbnail baseline's on the same images:
    the paired accuracy difference (bootstrap interval) and the exact McNemar test."""
    y_b, p_b = baseline.pooled()
    rows = []
    for title, rec in _by_title(protocols).items():
        y, prob = rec.pooled()
        if not np.array_equal(y, y_b):  # same splits, same fold order: the labels line up exactly
            raise ValueError(f"{title}: its folds' test images are not the baseline's")
        test = metrics.mcnemar(y, prob.argmax(1), p_b.argmax(1))
        rows.append({"protocol": title, "accuracy minus the baseline's": metrics.paired_difference(y, prob, p_b),
                     "images only the network gets right": test["a_only_right"],
                     "images only the baseline gets right": test["b_only_right"],
                     "McNemar p": test["p_value"]})
    return pd.DataFrame(rows).set_index("protocol")


def initial_table(protocols: dict[str, Protocol]) -> pd.DataFrame:
    """The initial procedure of each study beside the paper's: accuracy (Wilson), macro F1
    (bootstrap), macro precision and recall (fractions)."""
    rows = [{"protocol": "reported by the paper", "accuracy": paper.INITIAL_ACCURACY / 100,
             "macro F1": paper.INITIAL_F1 / 100, "macro precision": np.nan, "macro recall": np.nan}]
    for title, rec in _by_title(protocols).items():
        y, prob = rec.initial.y_true, rec.initial.y_prob
        s = metrics.summary(y, prob)
        rows.append({"protocol": title, "accuracy": metrics.accuracy(y, prob),
                     "macro F1": metrics.macro_f1_estimate(y, prob),
                     "macro precision": s["precision_macro"], "macro recall": s["recall_macro"]})
    return pd.DataFrame(rows).set_index("protocol")


# The opening page's and the Conclusions' numbers: the same protocols, quoted in prose.

ORIGIN_NIH = "adult normals (NIH ChestX-ray14)"
ORIGIN_KERMANY = "children, same hospital (Kermany test split)"
ORIGIN_HANNOVER = "COVID-19, adults (Hannover Medical School)"
ORIGIN_COHEN = "viral pneumonia, adults (Cohen et al. collection)"


def _text_and_code(protocols: dict[str, Protocol]) -> tuple[str, str]:
    return protocols["paper"].title, protocols["authors"].title


def opening_values(protocols: dict[str, Protocol], table: pd.DataFrame, external: pd.DataFrame) -> dict:
    """The opening page: both protocols over seeds beside the paper, the baseline, and the examined
    network on the external normals and children (`external`: its FolderResult.origins())."""
    text, code_ = _text_and_code(protocols)
    nih = external.loc[ORIGIN_NIH]
    return {"provenance": provenance(protocols), "paper_init": f"{paper.INITIAL_ACCURACY:g}%",
            "paper_cv": f"{paper.CV_MEAN_ACCURACY:g}%", "text_init": over_seeds(table, text, "initial"),
            "text_cv": over_seeds(table, text, "cv"), "code_init": over_seeds(table, code_, "initial"),
            "code_cv": over_seeds(table, code_, "cv"),
            "code_vs_text": "every seed of the code's protocol scored above every seed of the text's"
            if separated(table, code_, text) and separated(table, code_, text, "cv")
            else "the seeds of the two protocols overlap",
            "base_cv": table.loc[BASELINE_TITLE, "cv"].text(unit="%"),
            "nih_right": f"{nih['right']} of {nih['images']}", "nih_covid": str(nih["called COVID-19"]),
            "nih_viral": str(nih["called viral pneumonia"]),
            "kermany_acc": external.loc[ORIGIN_KERMANY, "accuracy"].text(unit="%")}


def conclusions_values(protocols: dict[str, Protocol], table: pd.DataFrame, ladder: ladder_record.LadderRecord,
                       cues: dict[str, metrics.Estimate], authors_accuracy: metrics.Estimate,
                       external: pd.DataFrame) -> dict:
    """The Conclusions: both protocols over seeds, the fold spread against the paper's, the ladder's
    telling rungs, the baseline and the cues (`cues`: accuracy per shortcuts.CUES name), the examined
    network's internal accuracy and its external origins."""
    text, code_ = _text_and_code(protocols)
    rungs = ladder_tables.rung_table(ladder)
    pct = lambda r: f"{rungs.loc[r, 'accuracy mean']:.1f}%"  # noqa: E731
    steps = ladder.groups["steps_per_epoch"].astype(int)
    nih, cohen = external.loc[ORIGIN_NIH], external.loc[ORIGIN_COHEN]
    border, jpeg = shortcuts.CUES
    return {"c_text_init": over_seeds(table, text, "initial"), "c_text_cv": over_seeds(table, text, "cv"),
            "c_code_init": over_seeds(table, code_, "initial"), "c_code_cv": over_seeds(table, code_, "cv"),
            "c_paper_init": f"{paper.INITIAL_ACCURACY:g}%", "c_paper_cv": f"{paper.CV_MEAN_ACCURACY:g}%",
            "c_fold_sd": f"{protocols['authors'].record.table().loc['SD', 'accuracy']:.2f}",
            "c_paper_fold_sd": f"{paper.TABLE2['accuracy'].std(ddof=1):.2f}",
            "c_prate": pct("paper+rate"), "c_psched": pct("paper-schedule"), "c_b32": pct("authors-b32"),
            "c_b32_collapsed": wording.seeds_phrase(int(rungs.loc["authors-b32", "collapsed"]),
                                                    int(rungs.loc["authors-b32", "seeds"])),
            "c_base_cv": table.loc[BASELINE_TITLE, "cv"].text(unit="%"),
            "c_border": cues[border].text(unit="%"), "c_jpeg": cues[jpeg].text(unit="%"),
            "c_quick_cv": table.loc[protocols["quick"].title, "cv"].text(unit="%"),
            "c_steps_ratio": f"{steps['initial-dropout-0.25'] / steps['initial-batch-32']:.1f}",
            "c_authors_cpu": authors_accuracy.text(unit="%"),
            "c_nih": f"{nih['right']} of {nih['images']}", "c_nih_covid": str(nih["called COVID-19"]),
            "c_han": external.loc[ORIGIN_HANNOVER, "accuracy"].text(unit="%"),
            "c_cohen": f"{cohen['right']} of {cohen['images']}",
            "c_kermany": external.loc[ORIGIN_KERMANY, "accuracy"].text(unit="%")}


def results_values(protocols: dict[str, Protocol], results: pd.DataFrame, uncertainty: pd.DataFrame) -> dict:
    """The Results chapter's prose: the paper's numbers, both protocols' one run (results_table),
    and how the interval, the seeds and the folds compare as sizes of uncertainty (uncertainty_table)."""
    text, code_ = _text_and_code(protocols)
    half = uncertainty["initial: half-width of the 95% interval"]
    seed_sd, fold_sd = uncertainty["initial: SD over seeds"], uncertainty["CV: SD over folds"]
    wider = uncertainty[seed_sd > half]
    return {"r_paper_init": f"{paper.INITIAL_ACCURACY:g}%", "r_paper_cv": f"{paper.CV_MEAN_ACCURACY:g}%",
            "r_paper_f1": f"{paper.CV_MEAN_F1:g}%", "r_paper_f1_table": f"{paper.CV_MEAN_F1_TABLE:g}",
            "r_text_init": results.loc[text, "initial accuracy"].text(unit="%"),
            "r_text_cv": results.loc[text, "CV accuracy, pooled"].text(unit="%"),
            "r_code_init": results.loc[code_, "initial accuracy"].text(unit="%"),
            "r_code_cv": results.loc[code_, "CV accuracy, pooled"].text(unit="%"),
            "r_code_folds": f"{100 * results.loc[code_, 'CV accuracy, mean of folds']:.2f}%",
            "r_code_f1": f"{100 * results.loc[code_, 'CV macro F1, mean of folds']:.2f}%",
            "r_half_lo": f"{half.min():.1f}", "r_half_hi": f"{half.max():.1f}",
            "r_seed_wider": ", ".join(wider.index) if len(wider) else "none",
            "r_text_seed_sd": f"{seed_sd[text]:.1f}", "r_text_fold_sd": f"{fold_sd[text]:.1f}",
            "r_code_seed_sd": f"{seed_sd[code_]:.1f}", "r_code_fold_sd": f"{fold_sd[code_]:.1f}",
            "r_text_ratio": f"{min(seed_sd[text], fold_sd[text]) / half[text]:.1f}"}
def seeds_against(protocol: Protocol, reference: float, measure: str = "initial") -> str:
    """Where a protocol's recorded seeds fall against one of the paper's numbers (%), in words:
    'all five seeds below 93% (87.2-92.0%)', so a page never says 'reaches' when no seed does."""
    seeds = protocol.seed_accuracies(measure)
    if len(seeds) == 0:
        return f"no seeds recorded for {protocol.title}"
    n = len(seeds)
    count = _COUNT[n] if n < len(_COUNT) else str(n)
    below, at = int((seeds < reference).sum()), int((seeds >= reference).sum())
    spread = f"({seeds.min():.1f}-{seeds.max():.1f}%)"
    if below == n:
        return f"all {count} seeds below {reference:g}% {spread}"
    if at == n:
        return f"all {count} seeds at or above {reference:g}% {spread}"
    return f"{at} of {count} seeds at or above {reference:g}% {spread}"


def interval_against(estimate: metrics.Estimate, reference: float) -> str:
    """Whether one study's 95% interval (fractions) holds one of the paper's numbers (%), in words."""
    lo, hi = 100 * estimate.low, 100 * estimate.high
    verb = "includes" if lo <= reference <= hi else "excludes"
    return f"its 95% interval ({lo:.1f}-{hi:.1f}%) {verb} {reference:g}%"


# The Training, Cross-validation and Results chapters' values: ids -> text, looked up by protocol key.

def describe(protocols: dict[str, Protocol]) -> str:
    """One line per protocol: its profile's settings (Profile.describe), or its title if it has none."""
    return "\n".join(get_profile(p.key).describe() if p.key in PROFILES else p.title for p in protocols.values())


def interval_position(estimate: metrics.Estimate, reference: float) -> str:
    """Where one of the paper's numbers (%) lies against an interval (fractions): 'inside', 'above'
    it or 'below' it."""
    ref = reference / 100
    if estimate.low <= ref <= estimate.high:
        return "inside"
    return "above" if estimate.high < ref else "below"


def initial_setup_values(profile: Profile) -> dict[str, str]:
    """The paper's initial procedure (sizes, accuracy) and this build's optimiser settings."""
    return {"t_paper_train": str(paper.INITIAL_SIZES["train"]), "t_paper_val": str(paper.INITIAL_SIZES["validation"]),
            "t_paper_acc": f"{paper.INITIAL_ACCURACY:g}%", "lr": f"{profile.learning_rate:g}",
            "batch": str(profile.batch_size), "epochs": str(profile.epochs)}


def curve_values(protocols: dict[str, Protocol]) -> dict[str, str]:
    """How both protocols' initial runs ended: final training accuracy, best validation accuracy,
    and how often the paper's text halved its learning rate and to what."""
    text, code_ = (protocols[k].record.initial.history for k in ("paper", "authors"))
    last = text["lr"].iloc[-1]  # histories stored before rates kept 6 significant digits show < 5e-7 as 0
    return {"t_text_train": f"{100 * text['accuracy'].iloc[-1]:.1f}%",
            "t_text_val": f"{100 * text['val_accuracy'].max():.1f}%",
            "t_text_lr": "below 5e-07" if last == 0 else f"{last:.1e}",
            "t_text_halved": str(int((text["lr"].diff() < 0).sum())),
            "t_code_train": f"{100 * code_['accuracy'].iloc[-1]:.1f}%",
            "t_code_val": f"{100 * code_['val_accuracy'].max():.1f}%"}


def build_run_values(y_true, y_prob, profile_name: str) -> dict[str, str]:
    """This build's initial run: its test set's size, its accuracy and where its profile's seeds put it."""
    acc = metrics.accuracy(y_true, y_prob)
    return {"n_test": str(len(y_true)), "acc": acc.text(unit="%"),
            "acc_seeds": wording.spread_phrase(100 * acc.value, profile_name)}


def initial_values(protocols: dict[str, Protocol], table: pd.DataFrame) -> dict[str, str]:
    """Both protocols' initial accuracy (an initial_table) and whether the paper's number lies in its interval."""
    text, code_ = (table.loc[protocols[k].title, "accuracy"] for k in ("paper", "authors"))
    return {"text_acc": text.text(unit="%"), "code_acc": code_.text(unit="%"),
            "text_inside": interval_position(text, paper.INITIAL_ACCURACY),
            "code_inside": interval_position(code_, paper.INITIAL_ACCURACY)}


def confusion_values(protocols: dict[str, Protocol]) -> dict[str, str]:
    """On the initial test set: the normal films the paper's text calls viral pneumonia, and the
    normal films the authors' code gets right."""
    normal, viral = CLASSES.index("normal"), CLASSES.index("viral_pneumonia")

    def normal_row(key):
        run = protocols[key].record.initial
        return metrics.summary(run.y_true, run.y_prob)["confusion_matrix"][normal]

    text, code_ = normal_row("paper"), normal_row("authors")
    return {"text_normal_as_viral": str(text[viral]), "text_normal_total": str(sum(text)),
            "code_normal_right": str(code_[normal])}


def cv_values(ours: pd.DataFrame, profile_name: str) -> dict[str, str]:
    """The paper's cross-validation means and this build's (a cv.fold_table), with its folds'
    range and where its profile's seeds put its mean."""
    folds = ours.loc[ours.index.str.startswith("fold"), "accuracy"]
    return {"p_cv": f"{paper.CV_MEAN_ACCURACY:g}%", "p_f1": f"{paper.CV_MEAN_F1:g}%",
            "cv_acc": f"{ours.loc['mean', 'accuracy']:.1f}%", "cv_acc_sd": f"{ours.loc['SD', 'accuracy']:.1f}",
            "cv_seeds": wording.spread_phrase(ours.loc["mean", "accuracy"], profile_name, "cv mean"),
            "cv_f1": f"{ours.loc['mean', 'f1']:.1f}%", "cv_min": f"{folds.min():.1f}%",
            "cv_max": f"{folds.max():.1f}%", "p_f1_table": f"{paper.CV_MEAN_F1_TABLE:g}%"}


def recorded_cv_values(protocols: dict[str, Protocol], ours: pd.DataFrame) -> dict[str, str]:
    """Both recorded protocols' folds beside the paper's: means, the fold SD of the code's settings
    per recorded seed, and the span from lowest to highest fold (this build's too, `ours`)."""
    text, code_ = protocols["paper"].record, protocols["authors"].record
    text_table, code_table = text.table(), code_.table()
    sds = ladder_tables.fold_sd_by_seed(protocols["authors"].seeds, protocols["authors"].seeds_rung)
    return {"rec_folds": str(len(text.folds)), "rec_cv_acc": f"{text_table.loc['mean', 'accuracy']:.1f}%",
            "rec_cv_f1": f"{text_table.loc['mean', 'f1']:.1f}%",
            "code_cv_acc": f"{code_table.loc['mean', 'accuracy']:.2f}%",
            "code_cv_sd": f"{code_table.loc['SD', 'accuracy']:.2f}",
            "code_cv_f1": f"{code_table.loc['mean', 'f1']:.2f}%",
            "p_cv_sd": f"{paper.TABLE2['accuracy'].std(ddof=1):.2f}",
            "code_fold_sds": ", ".join(f"{v:.2f}" for v in sds.iloc[:-1]) + f" and {sds.iloc[-1]:.2f}",
            "span_build": f"{cv.fold_span(ours):.1f}", "span_text": f"{cv.fold_span(text_table):.1f}",
            "span_code": f"{cv.fold_span(code_table):.1f}", "span_paper": f"{cv.fold_span(paper.TABLE2):.1f}"}


def seed_values(protocols: dict[str, Protocol]) -> dict[str, str]:
    """Where the code's recorded seeds fall against the paper's initial and cross-validation numbers."""
    return {"r_code_init_vs": seeds_against(protocols["authors"], paper.INITIAL_ACCURACY),
            "r_code_cv_vs": seeds_against(protocols["authors"], paper.CV_MEAN_ACCURACY, "cv")}


def per_class_values(protocols: dict[str, Protocol], rates: pd.DataFrame) -> dict[str, str]:
    """What the Results chapter quotes of a per_class table: COVID-19 sensitivity of both protocols,
    and the text's specificity for viral pneumonia."""
    text, code_ = protocols["paper"].title, protocols["authors"].title
    covid, viral = CLASS_NAMES["covid"], CLASS_NAMES["viral_pneumonia"]
    return {"r_text_covid_sens": rates.loc[(text, covid), "sensitivity"].text(unit="%"),
            "r_code_covid_sens": rates.loc[(code_, covid), "sensitivity"].text(unit="%"),
            "r_text_viral_spec": rates.loc[(text, viral), "specificity"].text(unit="%")}


def calibration(protocols: dict[str, Protocol], bins: int = 15) -> dict[str, tuple[pd.DataFrame, float]]:
    """Each protocol's pooled out-of-fold reliability table and expected calibration error, by key."""
    return {key: (metrics.reliability_table(*p.record.pooled(), bins=bins),
                  metrics.expected_calibration_error(*p.record.pooled(), bins=bins))
            for key, p in protocols.items()}


def calibration_values(calibrations: dict[str, tuple[pd.DataFrame, float]]) -> dict[str, str]:
    """The ECE of the paper's text and of the code's settings, as the chapter quotes them."""
    return {"r_text_ece": f"{calibrations['paper'][1]:.3f}", "r_code_ece": f"{calibrations['authors'][1]:.3f}"}


def titled(protocols: dict[str, Protocol], by_key: dict) -> dict:
    """A dict keyed by protocol key, keyed by the protocols' titles instead (for figures and tables)."""
    return {protocols[key].title: value for key, value in by_key.items()}


def baseline_verdict(difference: metrics.Estimate) -> str:
    """The network against the thumbnail baseline in words, from the paired difference's interval."""
    if difference.high < 0:
        return "the thumbnail baseline is, if anything, the better classifier of these images"
    if difference.low > 0:
        return "the network is ahead, by a few points"
    return "the two cannot be told apart on these images"


def baseline_values(protocols: dict[str, Protocol], versus: pd.DataFrame, baseline: record.Record) -> dict[str, str]:
    """The baseline's pooled accuracy and the code's settings against it (an against_baseline table)."""
    row = versus.loc[protocols["authors"].title]
    return {"r_base_cv": metrics.accuracy(*baseline.pooled()).text(unit="%"),
            "r_code_vs_base": row["accuracy minus the baseline's"].text(unit=" points"),
            "r_code_vs_base_p": metrics.p_text(row["McNemar p"]),
            "r_code_vs_base_verdict": baseline_verdict(row["accuracy minus the baseline's"])}


def baseline_text(versus: pd.DataFrame) -> pd.DataFrame:
    """An against_baseline table as the reader sees it: the difference and the p-value in words."""
    column = "accuracy minus the baseline's"
    return versus.assign(**{column: versus[column].map(lambda e: e.text()),
                            "McNemar p": versus["McNemar p"].map(metrics.p_text)})


def landmarks(results: pd.DataFrame) -> pd.DataFrame:
    """Published accuracies of other COVID-19 X-ray classifiers, the paper's and the code's settings'
    mean over folds (a results_table) among them."""
    ours = ("the paper's network with the authors' code settings, reproduced here", "this book",
            "same pools, 5-fold cross-validation, grouped by patient",
            round(100 * results.loc[CODE_TITLE, "CV accuracy, mean of folds"], 2))
    return pd.DataFrame([*paper.OTHER_SYSTEMS, ours],
                        columns=["system", "reported by", "data", "accuracy reported (%)"]).set_index("system")


def match_values(protocols: dict[str, Protocol], lad: ladder_record.LadderRecord) -> dict:
    """What matched the paper and by how much (chapter Conclusions): the code's protocol's seeds
    against the paper's two numbers, and its folds' spread seed by seed."""
    sds = ladder_tables.fold_sd_by_seed(lad, "authors")
    return {"c_fold_sds": ", ".join(f"{v:.2f}" for v in sds.iloc[:-1]) + f" and {sds.iloc[-1]:.2f}",
            "c_code_init_vs": seeds_against(protocols["authors"], paper.INITIAL_ACCURACY),
            "c_code_cv_vs": seeds_against(protocols["authors"], paper.CV_MEAN_ACCURACY, "cv")}


def easy_values() -> dict:
    """The paper's own numbers that disagree with each other, and the two learning rates (chapter
    Conclusions): the test set it states against what its composition leaves, its parameter count."""
    from .config import get_profile

    order = ("covid", "viral_pneumonia", "normal")
    stated = paper.INITIAL_TEST_STATED
    return {"c_stated_test": " / ".join(str(stated[c]) for c in order),
            "c_stated_total": f"{sum(stated.values()):,}",
            "c_left_test": " / ".join(str(paper.COMPOSITION[c] - paper.INITIAL_TRAIN_POOL[c]) for c in order),
            "c_left_total": f"{sum(paper.COMPOSITION.values()) - sum(paper.INITIAL_TRAIN_POOL.values()):,}",
            "c_params": f"{paper.PARAMS:,}", "c_text_lr": f"{get_profile('paper').learning_rate:g}",
            "c_code_lr": f"{get_profile('authors').learning_rate:g}"}
