"""xraylib.audit: the shortcut experiments' own logic, on tiny folders and stand-in models (no
training): which images they feed a model, which split and composition they train on."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from xraylib import audit, config, regions, study
from xraylib.config import CLASSES
from xraylib.splits import Split


def test_straddling_patients_counts_known_ids_on_both_sides_only():
    comp = pd.DataFrame({"patient_id": ["a", "a", "b", "b", "", "", "c"]})
    split = Split("initial", train=np.array([0, 2]), val=np.array([4]), test=np.array([1, 3, 5, 6]))
    assert audit.straddling_patients(comp, split) == 2  # a and b; the unknown ids are not one patient
    apart = Split("initial", train=np.array([0, 1]), val=np.array([4]), test=np.array([2, 3, 5, 6]))
    assert audit.straddling_patients(comp, apart) == 0


def _tiny(tmp_path, class_folder):
    data = str(class_folder(tmp_path / "data", per_class=4))
    profile = dataclasses.replace(config.get_profile("quick"), folds=2,
                                  composition=tuple((c, 4) for c in CLASSES),
                                  initial_train=tuple((c, 2) for c in CLASSES))
    return study.Study(profile, data)


def test_the_image_level_run_gives_every_image_its_own_group(tmp_path, cache, class_folder, monkeypatch):
    s = _tiny(tmp_path, class_folder)
    s.comp["group"] = "patient-1"  # one patient for all: grouped splits could not separate them
    seen = {}
    monkeypatch.setattr(study.Study, "run", lambda self, name, split, comp=None, **kw: seen.update(
        name=name, split=split, comp=comp) or "run")
    run, split = audit.image_level_run(s)
    assert run == "run" and seen["name"] == "initial-image-level" and seen["split"] is split
    assert seen["comp"]["group"].is_unique and len(seen["comp"]) == len(s.comp)
    assert (s.comp["group"] == "patient-1").all()  # the study's own composition is left as it was


def test_blanked_predictions_show_the_model_test_images_with_the_lung_box_blanked(tmp_path, cache,
                                                                                 class_folder):
    s = _tiny(tmp_path, class_folder)
    given = []

    def model(x, training=False):
        given.append(np.asarray(x))
        return np.full((len(x), 3), 1 / 3, np.float32)

    run = study.Run("initial", s.profile, model, None, None, None, None)
    prob = audit.blanked_predictions(s, run)
    x = np.concatenate(given)
    assert prob.shape == (len(s.initial_split.test), 3) and len(x) == len(s.initial_split.test)
    rows, cols = regions.box_slices(x.shape[1:3], regions.LUNG_BOX)
    inner = slice(rows.start + 2, rows.stop - 2), slice(cols.start + 2, cols.stop - 2)  # resizing blurs the edge
    assert np.ptp(x[:, inner[0], inner[1]]) == 0  # one value over every test image's lung box
    intact = s.images()[s.initial_split.test]
    assert np.abs(x[:, inner[0], inner[1]] - intact[:, inner[0], inner[1]]).max() > 0.1  # it was not blank
    assert np.abs(x[:, :rows.start - 2] - intact[:, :rows.start - 2]).max() < 0.02  # above the box: the image
