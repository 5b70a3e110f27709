"""Experiments that ask whether the model sees disease: external origins, lungs removed, patient
grouping, and one mitigation. Each is an experiment on a Study, and each model it trains goes
through the study's run store like any other.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from . import data as xdata
from . import metrics, predict, shortcuts
from .config import external_dir
from .splits import Split, initial_split
from .stress_plan import ARMS, jpeg_roundtrip, transformed_images
from .study import Run, Study
from .train import predict_proba

_ARMS = {arm.name: arm for arm in ARMS}  # the same run names as the stress test's arms


def external_validation(study: Study, run: Run | None = None, transform=None,
                        external: str | None = None) -> predict.FolderResult:
    """The initial-procedure model on the external set (folder: `external` or the default)."""
    run = run or study.initial_run()
    profile = study.profile
    if transform is None:
        return predict.evaluate_folder(external_dir(external), run.model, profile)
    ext = xdata.read_dataset(external_dir(external))
    prob = predict_proba(run.model, transformed_images(list(ext["path"]), profile.image_size, transform))
    return predict.FolderResult(predict.predictions_table(ext[["file", "label", "dataset"]], prob))


def _images(study: Study, transform):
    """A cached loader of the composition's model inputs, transformed first."""
    return functools.cache(lambda: transformed_images(list(study.comp["path"]), study.profile.image_size,
                                                      transform))


def blanked_predictions(study: Study, run: Run | None = None) -> np.ndarray:
    """The trained initial model's probabilities on its test images with the lung box blanked:
    what it can still say without the centre of the film (no training)."""
    run = run or study.initial_run()
    return predict_proba(run.model, _images(study, shortcuts.blank_lungs)()[study.initial_split.test])


def lungs_removed(study: Study) -> dict:
    """Maguolo and Nanni's test: the trained model on lung-blanked test images, and a model
    trained and tested on lung-blanked images. Accuracy far above chance means cues outside."""
    run = study.initial_run()
    prob = blanked_predictions(study, run)
    arm = _ARMS["lungs-blanked"]
    blanked_run = study.run(arm.run_name, study.initial_split, images=_images(study, arm.transform))
    return {"original model, lungs blanked": metrics.summary(run.y_true, prob),
            "model trained on blanked images": metrics.summary(blanked_run.y_true, blanked_run.y_prob),
            "original model, intact images": metrics.summary(run.y_true, run.y_prob),
            "blanked_run": blanked_run}


def image_level_run(study: Study) -> tuple[Run, Split]:
    """The initial procedure split by image instead of by patient (patients may straddle)."""
    comp = study.comp.copy()
    comp["group"] = shortcuts.image_level_groups(comp)
    split = initial_split(comp, study.profile)
    return study.run("initial-image-level", split, comp=comp), split


def straddling_patients(comp: pd.DataFrame, split: Split) -> int:
    """How many patients (with a known id) have images on both the training and the test side."""
    ids = comp["patient_id"].to_numpy()
    train_ids = {p for p in ids[np.concatenate([split.train, split.val])] if p}
    test_ids = {p for p in ids[split.test] if p}
    return len(train_ids & test_ids)


def jpeg_mitigation(study: Study) -> tuple[Run, predict.FolderResult]:
    """Every image, of every class and origin, re-compressed as JPEG on the data's 224 px grid
    before training and testing, so that JPEG artefacts no longer mark two of the classes."""
    arm = _ARMS["jpeg"]
    run = study.run(arm.run_name, study.initial_split, images=_images(study, jpeg_roundtrip))
    return run, external_validation(study, run, transform=jpeg_roundtrip)
