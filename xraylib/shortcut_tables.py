"""What the shortcut chapter computes, section by section: the experiments of xraylib.audit and the
cue-only classifiers of xraylib.shortcuts, as the values the prose glues and the tables it shows.

Why here: the chapter's cells only call and display; each section is one function, keyed by ids
(origins, cues) with display names applied at the end.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import audit, ladder_tables, metrics, shortcuts
from . import data as xdata
from .config import CLASS_NAMES, CLASSES, external_dir
from .study import Run, Study

ORIGINS = {"hannover": "COVID-19, adults (Hannover Medical School)", "nih": "adult normals (NIH ChestX-ray14)",
           "ieee": "viral pneumonia, adults (Cohen et al. collection)",
           "kermany": "children, same hospital (Kermany test split)"}
"""The external origins by id, with the names the external report gives them."""


def internal_line(examined: Study, run: Run, examined_run: Run) -> str:
    """Both networks' internal test accuracy (the line the chapter prints first)."""
    return (f"internal test accuracy (initial procedure): this build "
            f"{metrics.accuracy(run.y_true, run.y_prob).text(unit='%')}, the {examined.profile.name} protocol's "
            f"200 px network {metrics.accuracy(examined_run.y_true, examined_run.y_prob).text(unit='%')}")


@dataclass
class External:
    """Both networks on the external set: per origin accuracy and calls, and the unreadable files."""

    origins: pd.DataFrame
    examined_origins: pd.DataFrame
    unreadable: int
    examined_name: str


def external(book: Study, run: Run, examined: Study, examined_run: Run) -> External:
    """This build's network and the examined one on the external set."""
    result = audit.external_validation(book, run)
    return External(result.origins(), audit.external_validation(examined, examined_run).origins(),
                    len(result.unreadable), examined.profile.name)


def external_values(ext: External) -> tuple[dict, pd.DataFrame]:
    """Accuracy per origin for both networks, the NIH normals the examined one called COVID-19, and
    the two networks side by side."""
    values = {}
    for key, origin in ORIGINS.items():
        values[f"ext_{key}"] = f"{100 * ext.origins.loc[origin, 'accuracy'].value:.0f}%"
        values[f"ext_{key}_a"] = f"{100 * ext.examined_origins.loc[origin, 'accuracy'].value:.0f}%"
    nih = ext.examined_origins.loc[ORIGINS["nih"]]
    values["nih_a_covid"] = f"{nih['called COVID-19']} of {nih['images']}"
    side = pd.concat({"this build": ext.origins.drop(columns="right"),
                      f"{ext.examined_name} protocol, 200 px": ext.examined_origins.drop(
                          columns=["right", "true class", "images"])}, axis=1)
    return values, side


SENSITIVITY_PAIRS = (("COVID-19", "covid", "hannover"), ("normal", "normal", "nih"),
                     ("viral pneumonia", "viral_pneumonia", "ieee"), ("viral pneumonia", "viral_pneumonia", "kermany"))


def sensitivity_table(examined_run: Run, ext: External) -> pd.DataFrame:
    """Each class's sensitivity on the internal test set beside the accuracy on its external origin."""
    rates = metrics.per_class_estimates(examined_run.y_true, examined_run.y_pred)["sensitivity"]
    return pd.DataFrame({"internal test (same origins)": [rates[c].text() for _, c, _ in SENSITIVITY_PAIRS],
                         "external": [ext.examined_origins.loc[ORIGINS[o], "accuracy"].text()
                                      for _, _, o in SENSITIVITY_PAIRS]},
                        index=[f"{name} sensitivity: {ORIGINS[o]}" for name, _, o in SENSITIVITY_PAIRS])


def lungs_removed(book: Study, run: Run) -> tuple[dict, pd.DataFrame]:
    """Maguolo and Nanni's test (audit.lungs_removed): the accuracies, chance, and the verdict."""
    rows = {k: v for k, v in audit.lungs_removed(book).items() if k != "blanked_run"}
    table = pd.DataFrame({k: {"accuracy (95% CI)": metrics.Estimate(v["accuracy"], *v["accuracy_95ci"]).text(),
                              "macro F1": f"{100 * v['f1_macro']:.1f}"} for k, v in rows.items()}).T
    trained = rows["model trained on blanked images"]
    chance = np.bincount(run.y_true).max() / len(run.y_true)
    above = trained["accuracy_95ci"][0] > chance
    values = {"blank_trained": f"{100 * trained['accuracy']:.1f}%",
              "blank_original": f"{100 * rows['original model, lungs blanked']['accuracy']:.1f}%",
              "chance": f"{100 * chance:.1f}%",
              "blank_verdict": "clearly above chance: whatever it uses lies outside the lungs, in body size and "
              "shape, shoulders and abdomen, markers and text" if above else
              ("below chance (its whole interval lies under the share of the largest class): in this "
               "preview the network learned something from the blanked films that does not "
               "hold on the test films, although the simple border classifier below shows that cues "
               "outside the lungs are there" if trained["accuracy_95ci"][1] < chance else
               "no better than chance here: in this preview the network did not find the cues "
               "outside the lungs, although the simple border classifier below shows that they are there")}
    return values, table


CUE_KEYS = dict(zip(shortcuts.CUES, ("cue_border", "cue_jpeg")))
"""The glue name of each cue-only classifier (shortcuts.CUES)."""


def cues(cv) -> tuple[dict, pd.DataFrame]:
    """Each cue-only classifier in the CNN's own folds (`cv`: study.CrossValidation) beside the CNN."""
    y = xdata.labels_of(cv.comp)
    rows, values = {}, {}
    for name, prob in shortcuts.cue_predictions(cv.comp, cv.splits).items():
        rows[name] = {"accuracy (95% CI)": metrics.accuracy(y, prob).text(),
                      "macro AUC": f"{metrics.macro_auc(y, prob):.3f}"}
        values[CUE_KEYS[name]] = metrics.accuracy(y, prob).text(unit="%")
    rows["this build's network (for reference)"] = {
        "accuracy (95% CI)": metrics.accuracy(cv.y_true, cv.y_prob).text(),
        "macro AUC": f"{metrics.macro_auc(cv.y_true, cv.y_prob):.3f}"}
    return values, pd.DataFrame(rows).T


def blockiness_frame(comp: pd.DataFrame) -> pd.DataFrame:
    """JPEG blockiness of every main-set image by class and every external image by origin."""
    ext = xdata.read_dataset(external_dir())
    return pd.concat([
        pd.DataFrame({"group": ("main set: " + comp["label"].map(CLASS_NAMES)).to_numpy(),
                      "blockiness": shortcuts.blockiness(xdata.load_gray(list(comp["path"]), 256))}),
        pd.DataFrame({"group": ("external: " + ext["dataset"].map(xdata.DATASET_NAMES)).to_numpy(),
                      "blockiness": shortcuts.blockiness(xdata.load_gray(list(ext["path"]), 256))})])


def _seed_sd(profile_name: str) -> float:
    seeds = ladder_tables.seed_accuracies(profile_name)
    return float(seeds.std(ddof=1)) if seeds is not None and len(seeds) > 1 else float("nan")


def two_runs_reading(difference: float, seed_sd: float, what: str) -> str:
    """Whether the difference (points) between two single runs says anything: the difference of two
    runs that differ only by seed has SD sqrt(2) x the seed SD, so only a difference beyond twice
    that is more than a seed's luck (one run of each is still one run of each)."""
    limit = 2 * np.sqrt(2) * seed_sd
    if not np.isfinite(limit):
        return "has no seed spread to be read against: one run of each, no verdict"
    if abs(difference) < limit:
        return (f"is within twice the spread of a difference between two single runs (sqrt 2 x the "
                f"seed SD {seed_sd:.1f} = {np.sqrt(2) * seed_sd:.1f} points), so one run of each cannot "
                f"tell {what} apart")
    return (f"is more than twice the spread of a difference between two single runs (sqrt 2 x the "
            f"seed SD {seed_sd:.1f} = {np.sqrt(2) * seed_sd:.1f} points): larger than seeds alone "
            f"usually give, though one run of each is still one run of each")


def image_level(book: Study, run: Run) -> tuple[dict, pd.DataFrame]:
    """The initial procedure split by image instead of by patient: the patients that straddle, the
    accuracy gap against the seeds' spread, and the two splits side by side."""
    comp, internal = book.comp, metrics.summary(run.y_true, run.y_prob)
    image_run, image_split = audit.image_level_run(book)
    by_image = metrics.summary(image_run.y_true, image_run.y_prob)
    straddle = audit.straddling_patients(comp, image_split)
    with_id = int((comp["patient_id"] != "").sum())
    gap, sd = 100 * (by_image["accuracy"] - internal["accuracy"]), _seed_sd(book.profile.name)
    values = {"straddle": str(straddle), "with_id": f"{with_id:,} of {len(comp):,}",
              "with_id_share": f"{100 * with_id / len(comp):.0f}%", "split_gap": f"{gap:+.1f} points",
              "split_seed_sd": f"{sd:.1f}",
              "split_verdict": two_runs_reading(gap, sd, "the splits")}
    table = pd.DataFrame({
        "patient-grouped": [metrics.accuracy(run.y_true, run.y_prob).text(), f"{100 * internal['f1_macro']:.1f}", "0"],
        "image-level": [metrics.accuracy(image_run.y_true, image_run.y_prob).text(),
                        f"{100 * by_image['f1_macro']:.1f}", str(straddle)]},
        index=["test accuracy (95% CI)", "macro F1", "patients on both sides"])
    return values, table


def mitigation(book: Study, run: Run, ext: External) -> tuple[dict, pd.DataFrame]:
    """Every image re-compressed as JPEG (audit.jpeg_mitigation): internal and external accuracy
    before and after, and whether the change exceeds the seeds' spread."""
    mitigated, mitigated_ext = audit.jpeg_mitigation(book)
    after, before = metrics.accuracy(mitigated.y_true, mitigated.y_prob), metrics.accuracy(run.y_true, run.y_prob)
    m_origins = mitigated_ext.origins()
    sd, change = _seed_sd(book.profile.name), 100 * (after.value - before.value)
    compare = pd.DataFrame({"original": [before.text()] + [e.text() for e in ext.origins["accuracy"]],
                            "JPEG for everyone": [after.text()] + [e.text() for e in m_origins["accuracy"]]},
                           index=["internal test"] + [f"external: {o}" for o in ext.origins.index])
    values = {"mit_int": after.text(unit="%"), "mit_before": before.text(unit="%"), "mit_gap": f"{change:+.1f} points",
              "mit_direction": "rose" if after.value > before.value else "fell",
              "mit_reading": "the change " + two_runs_reading(change, sd, "the two trainings"),
              "mit_hannover": f"{100 * m_origins.loc[ORIGINS['hannover'], 'accuracy'].value:.0f}%",
              "mit_nih": f"{100 * m_origins.loc[ORIGINS['nih'], 'accuracy'].value:.0f}%"}
    return values, compare



def without_the_lungs(examined: Study, run: Run) -> tuple[dict, pd.DataFrame]:
    """The examined network on its test images with the lung box blanked (against the majority
    class) and on the external origins: the values the saliency chapter quotes and the origin table."""
    blank_prob = audit.blanked_predictions(examined, run)
    blank_acc = metrics.accuracy(run.y_true, blank_prob)
    majority = float(np.bincount(run.y_true).max() / len(run.y_true))
    origins = audit.external_validation(examined, run).origins()
    nih, cohen = origins.loc[ORIGINS["nih"]], origins.loc[ORIGINS["ieee"]]
    called = np.bincount(blank_prob.argmax(1), minlength=3)
    values = {"blank_acc": blank_acc.text(unit="%"), "majority": f"{100 * majority:.1f}%",
              "blank_called": ", ".join(f"{n} {CLASS_NAMES[c]}" for c, n in zip(CLASSES, called)),
              "blank_vs_chance": ("above" if blank_acc.low > majority else
                                  "below" if blank_acc.high < majority else "no better than"),
              "nih_covid": f"{nih['called COVID-19']} of {nih['images']}",
              "nih_viral": str(nih["called viral pneumonia"]),
              "cohen_covid": f"{cohen['called COVID-19']} of {cohen['images']}",
              "kermany_acc": origins.loc[ORIGINS["kermany"], "accuracy"].text(unit="%")}
    return values, origins.drop(columns="right")
