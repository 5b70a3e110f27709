"""A stored network applied to images it never saw: a labelled folder (`xraylib evaluate`, the
external validation) or single files (`xraylib predict`), each as one predictions table.
"""
from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import data as xdata
from . import metrics
from .config import CLASSES, PROFILE_ENV, Profile, cache_dir, get_profile, project_root

SHIPPED_PROFILE = "authors"
"""The protocol of the network the repository ships (records/runs/initial-authors-*: the authors'
code, 200 px, the run the book examines): what `predict` and `evaluate` use out of the box."""


@dataclass
class Network:
    """The trained network a command applies, and what a reader should know about it."""

    model: object
    profile: Profile  # the profile it was trained with: its image size is the input's
    path: Path
    shipped: bool  # the repository's copy, used because the cache holds no run of `requested`
    requested: str
    seed: int | None
    accuracy: metrics.Estimate | None  # on its initial test set
    n_test: int | None

    def as_dict(self) -> dict:
        """What `--json` carries under "network"."""
        return {"profile": self.profile.name, "image_size": self.profile.image_size,
                "seed": self.seed, "requested_profile": self.requested,
                "source": "shipped with the repository" if self.shipped else "cache",
                "path": str(self.path), "n_test": self.n_test,
                "test_accuracy": self.accuracy.as_dict() if self.accuracy else None}

    def text(self) -> str:
        """One line naming the network: protocol, seed, test accuracy, where it is stored."""
        acc = (f"test accuracy {self.accuracy.text(unit='%')} on its {self.n_test}-image initial "
               f"test set" if self.accuracy else "test accuracy unknown (its stored predictions "
               "did not load)")
        try:
            where = self.path.relative_to(project_root())
        except ValueError:
            where = self.path
        origin = "shipped with the repository" if self.shipped else "from the cache"
        note = (f"; no stored run of profile '{self.requested}' in the cache, so the shipped one"
                if self.shipped and self.requested != self.profile.name else "")
        return (f"network: the '{self.profile.name}' protocol ({self.profile.image_size} px, seed "
                f"{self.seed}), {acc}; {origin} ({where}){note}")


def _describe(model, meta: dict, path: Path, shipped: bool, requested: str) -> Network:
    """A Network from a loaded run: its profile and seed from meta, its test accuracy from the
    run's stored test predictions (read bounded: runs.read_arrays)."""
    from . import runs

    stored = meta.get("profile")
    name = stored.get("name") if isinstance(stored, dict) else stored
    profile = get_profile(name or path.name.split("-")[1])
    seed = profile.seed if not isinstance(stored, dict) else (
        stored["train_seed"] if stored.get("train_seed") is not None else stored.get("seed"))
    try:
        arrays = runs.read_arrays(path, ("y_true", "y_prob"))
        accuracy, n_test = metrics.accuracy(arrays["y_true"], arrays["y_prob"]), len(arrays["y_true"])
    except runs.RunDamaged:
        accuracy, n_test = None, meta.get("n_test")
    return Network(model, profile, path, shipped, requested, seed, accuracy, n_test)


def _own_seed_first(path: Path) -> tuple[bool, str]:
    """The shipped network is the protocol's own seed (the book's examined network); the other
    seeded networks pinned beside it (xraylib.stress) come after it."""
    profile = _stored_profile(path)
    return (profile is None or profile.get("train_seed") is not None), path.name


def shipped_candidates() -> list[Path]:
    """The pinned runs `predict` may ship, in the order it tries them: the protocol's own seed
    first, the other seeded networks after it."""
    from . import runs

    return sorted((p for p in runs.pinned_dir().glob(f"initial-{SHIPPED_PROFILE}-*")
                   if (_stored_profile(p) or {}).get("name", SHIPPED_PROFILE) == SHIPPED_PROFILE),
                  key=_own_seed_first)


def _stored_profile(path: Path) -> dict | None:
    """A stored run's profile as its meta records it (None when unreadable: `network` then says
    why), so an arm's renamed profile pinned beside it (`authors-b32`) is never shipped."""
    try:
        profile = json.loads((path / "meta.json").read_text())["profile"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return profile if isinstance(profile, dict) else None


def network(profile: str | None = None) -> Network:
    """The network `predict` and `evaluate` apply, training nothing: the latest run of `profile`
    (default $XRAYLIB_PROFILE, else the shipped network's protocol) in the cache, else the network
    the repository ships. A cached run whose every copy is damaged is an error naming them."""
    from . import runs, study

    requested = profile or os.environ.get(PROFILE_ENV) or SHIPPED_PROFILE
    wanted = get_profile(requested)
    if runs.latest(f"initial-{wanted.name}") is not None:
        model, meta = study.latest_model("initial", wanted)
        return _describe(model, meta, Path(meta["stored_at"]), False, requested)
    problems = []
    for path in shipped_candidates():
        try:
            model, _, _, meta = runs.load_run(path, arrays=False)
        except FileNotFoundError as exc:  # RunDamaged too
            problems.append(str(exc))
            continue
        return _describe(model, meta, path, True, requested)
    shipped = "; ".join(problems) or f"none under {runs.pinned_dir()}"
    raise FileNotFoundError(
        f"no stored 'initial' run for profile '{wanted.name}' under {cache_dir() / 'runs'} "
        f"and no intact shipped network ({shipped}): make one with `xraylib train --profile "
        f"{wanted.name}`")


@dataclass
class FolderResult:
    """Predictions on a folder, with the files that could not be read listed, never dropped."""

    table: pd.DataFrame  # one row per readable image: file, label, dataset, p_<class>, predicted
    unreadable: list[str] = field(default_factory=list)

    def report(self) -> dict:
        """Accuracy and per-class rates, overall and per value of the `dataset` column, as
        numbers (each rate a {value, low, high} of fractions): what `evaluate --json` prints."""
        overall, unreadable = xdata.RESERVED_DATASETS[:2]  # evaluate_folder refuses them as datasets
        out = {overall: _report(self.table)}
        for name, part in self.table.groupby("dataset", sort=True):
            if name:
                out[name] = _report(part)
        out[unreadable] = {"count": len(self.unreadable), "files": self.unreadable}
        return out

    def origins(self) -> pd.DataFrame:
        """One row per origin (`dataset`), for tables: reader-facing name, true class, images,
        right answers, accuracy (an Estimate) and how many were called each class."""
        from .config import CLASS_NAMES

        rows = []
        for name, part in self.table.groupby("dataset"):
            r = _report(part)
            called = part["predicted"].value_counts().reindex(CLASSES, fill_value=0)
            rows.append({"origin": xdata.DATASET_NAMES.get(name, name),
                         "true class": "/".join(CLASS_NAMES[c] for c in r["labels_present"]),
                         "images": r["n"], "right": r["right"],
                         "accuracy": metrics.Estimate(**r["accuracy"]),
                         **{f"called {CLASS_NAMES[c]}": int(called[c]) for c in CLASSES}})
        return pd.DataFrame(rows).set_index("origin")


def _report(part: pd.DataFrame) -> dict:
    y = xdata.labels_of(part)
    prob = part[[f"p_{c}" for c in CLASSES]].to_numpy()
    s = metrics.summary(y, prob)
    rates = metrics.per_class_estimates(y, prob.argmax(1))
    present = [c for c in CLASSES if c in set(part["label"])]  # matrix rows match its columns
    return {"n": s["n"], "right": int((prob.argmax(1) == y).sum()),
            "accuracy": metrics.accuracy(y, prob).as_dict(),
            "confusion_matrix": s["confusion_matrix"], "labels_present": present,
            "sensitivity": {c: rates.loc[c, "sensitivity"].as_dict() for c in present},
            "specificity": {c: rates.loc[c, "specificity"].as_dict() for c in CLASSES}}


def predictions_table(rows: pd.DataFrame, prob: np.ndarray) -> pd.DataFrame:
    """The one predictions table: the given columns (file, and label / dataset where known), the
    probability of each class (`p_<class>`, float64 so it prints as it is) and the predicted class."""
    table = rows.reset_index(drop=True).copy()
    for k, c in enumerate(CLASSES):
        table[f"p_{c}"] = prob[:, k].astype(np.float64)
    table["predicted"] = [CLASSES[k] for k in prob.argmax(1)]
    return table


def decode_many(paths: list[str], size: int, root: Path | None = None
                ) -> tuple[np.ndarray, list[int], list[str]]:
    """Decode what can be decoded (in parallel, through data's safe path); return the images, the
    indices that worked, and one message per failure naming the file. With `root`, the paths are
    manifest rows and must stay inside that folder (data.manifest_path)."""
    def one(file: str) -> np.ndarray | str:
        try:
            path = xdata.manifest_path(root, file) if root is not None else file
            return xdata.decode_gray(path, size)
        except xdata.DataError as exc:
            return str(exc)

    images, ok, errors = [], [], []
    with ThreadPoolExecutor(max_workers=xdata.DECODE_WORKERS) as pool:
        for i, result in enumerate(pool.map(one, paths)):
            if isinstance(result, str):
                errors.append(result)
            else:
                images.append(result)
                ok.append(i)
    gray = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    return gray, ok, errors


def evaluate_folder(root: str | Path, model, profile: Profile) -> FolderResult:
    """Run `model` on every image of a folder with a manifest (or images/<label>/ layout)."""
    df = xdata.load_manifest(root)
    problems = xdata.manifest_problems(df)
    if problems:  # a table that cannot be scored as it is: unknown labels, duplicates, ...
        shown = (f" {problems[0]}" if len(problems) == 1
                 else "".join(f"\n  {p}" for p in problems[:20]))
        raise xdata.DataError(f"cannot evaluate {root}:{shown}")
    gray, ok, errors = decode_many(list(df["file"]), profile.image_size, Path(df.attrs["root"]))
    if not ok:  # nothing to report on (the metrics need at least one image)
        shown = "".join(f"\n  {e}" for e in errors[:20])
        raise xdata.DataError(f"{root}: none of the {len(df)} listed images could be "
                              f"read{shown}")
    from .train import predict_proba

    prob = predict_proba(model, xdata.to_model_input(gray))
    return FolderResult(predictions_table(df.iloc[ok][["file", "label", "dataset"]], prob), errors)


def format_report(report: dict) -> str:
    """The evaluate report as plain text: one block overall and one per dataset."""
    lines = []
    for name, r in report.items():
        if name == "unreadable":
            continue
        acc = metrics.Estimate(**r["accuracy"])
        lines.append(f"== {name}: {r['n']} images, accuracy {acc.text(unit='%')}")
        for c in r["labels_present"]:
            lines.append(f"   {c}: sensitivity {metrics.Estimate(**r['sensitivity'][c]).text(unit='%')}")
        cm = pd.DataFrame(r["confusion_matrix"], index=[f"true {c}" for c in CLASSES],
                          columns=[f"pred {c}" for c in CLASSES])
        cm = cm.loc[[f"true {c}" for c in r["labels_present"]]]
        lines.append("   " + cm.to_string().replace("\n", "\n   "))
    u = report["unreadable"]
    lines.append(f"unreadable files: {u['count']}")
    lines.extend(f"   {f}" for f in u["files"])
    return "\n".join(lines)


def check_out_dir(out_dir: str | Path) -> Path:
    """Create the heat-map folder and prove it writable before any work, so that no prediction is
    computed only to be lost to an output error."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is an existing file, not a folder: name a folder "
                                 f"for the heat-map PNGs")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise PermissionError(f"--out {out}: cannot write there ({exc.strerror or exc}); name a "
                              f"folder you can write to") from None
    return out


def predict_files(paths: list[str], model, profile: Profile, out_dir: str | Path | None = None
                  ) -> tuple[pd.DataFrame, list[str]]:
    """Class probabilities per readable file, and a heat-map overlay PNG per file in out_dir; a
    heat map that cannot be written is one more error, never the loss of the table."""
    out = check_out_dir(out_dir) if out_dir is not None else None
    gray, ok, errors = decode_many(paths, profile.image_size)
    from .train import predict_proba

    x = xdata.to_model_input(gray)
    prob = predict_proba(model, x)
    table = predictions_table(pd.DataFrame({"file": [paths[i] for i in ok]}),
                              prob.astype(np.float64).round(4))  # float32 would print 0.3260000050
    if out is not None and len(ok):
        from PIL import Image

        from . import saliency

        maps = saliency.grad_cam(model, x, prob.argmax(1))
        heatmaps = []
        stems = [Path(paths[j]).stem for j in ok]  # two files with one stem get numbered maps
        for i, (g, m) in enumerate(zip(gray, maps)):
            stem = Path(paths[ok[i]]).stem
            name = out / (f"{stem}_heatmap.png" if stems.count(stem) == 1 else f"{stem}_{i}_heatmap.png")
            try:
                Image.fromarray(saliency.overlay(g, m)).save(name)
                heatmaps.append(str(name))
            except OSError as exc:
                errors.append(f"{name}: heat map not written ({exc.strerror or exc}); the "
                              f"prediction for {paths[ok[i]]} is still reported")
                heatmaps.append("")
        table["heatmap"] = heatmaps
    return table, errors
