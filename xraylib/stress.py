"""The stress test's trainings: one protocol's seeded networks and its shortcut-removal arms.

Why: a claim about what a network learned needs more than one network. Every arm (the protocol
as it is, every training image through one JPEG round trip, the lungs blanked) is trained with
several seeds through the study's run store, so a call resumes where the last one stopped and
each network's weights are kept for the analyses that need the model (external origins,
controls, saliency).
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import data as xdata
from . import shortcuts
from .config import PROFILES, Profile
from .stress_plan import ARM_SEEDS, ARMS, SEEDS, Arm, arms_with_seeds, plan, transformed_images


def _profile(profile: Profile | str) -> Profile:
    return profile if isinstance(profile, Profile) else PROFILES[profile]


def arm_compositions(arms: tuple[Arm, ...], comp, split, log=print) -> dict:
    """Each arm's training composition (the study's own, or the arm's change of it); an arm whose
    change cannot be made (its data folder missing) is left out with one line saying why."""
    out = {}
    for arm in arms:
        if arm.composition is None:
            out[arm.name] = comp
            continue
        try:
            out[arm.name] = arm.composition(comp, split)
        except FileNotFoundError as exc:
            log(f"{arm.name}: skipped, {exc}")
    return out


def _survey(base: Profile, data, log, arms: tuple[Arm, ...]):
    """The plan's runs not yet in the run store (in plan order), the counts of the others
    ("stored", and "skipped" for an arm whose data are missing, said in one line by `log`), each
    arm's composition and the split."""
    from .study import Study, stored_run

    study = Study(base, data)
    split = study.initial_split
    comps = arm_compositions(arms, study.comp, split, log)
    counts = {"stored": 0, "trained": 0, "left": 0, "skipped": 0}
    todo = []
    for arm, seed in plan(arms):
        if arm.name not in comps:
            counts["skipped"] += 1
        elif stored_run(arm.run_name, arm.profile(base, seed), comps[arm.name], split,
                        with_model=False) is None:
            todo.append((arm, seed))
        else:
            counts["stored"] += 1
    return todo, counts, comps, split


def train(profile: Profile | str = "authors", data=None, limit: int | None = None, log=print,
          arms: tuple[Arm, ...] = ARMS, only: tuple[str, int] | None = None) -> dict:
    """Train the missing runs of the plan (at most `limit`; with `only`, just that arm and seed),
    resuming from the run store; an arm whose data are missing is skipped (counted in "skipped"),
    the others trained."""
    from .study import train_split

    base = _profile(profile)
    todo, counts, comps, split = _survey(base, data, log, arms)
    if only is not None:
        todo = [(arm, seed) for arm, seed in todo if (arm.name, seed) == tuple(only)]
    if limit is not None:
        counts["left"], todo = max(0, len(todo) - limit), todo[:limit]
    images = {}
    started = time.time()
    for k, (arm, seed) in enumerate(todo):
        profile = arm.profile(base, seed)
        comp = comps[arm.name]
        eta = (f"; about {(time.time() - started) / k * (len(todo) - k) / 60:.0f} min left"
               if k else "")
        key = (arm.transform, arm.composition)
        if key not in images:
            images.clear()  # one arm's images in memory at a time (about 0.5 GB at 200 px)
            images[key] = functools.cache(
                lambda a=arm, c=comp: transformed_images(list(c["path"]), base.image_size, a.transform))
        log(f"training {k + 1} of {len(todo)}: {arm.name} / seed {seed} ({base.name}, "
            f"{base.image_size} px){eta}")
        train_split(arm.run_name, profile, comp, split, images=images[key])
        counts["trained"] += 1
        counts["stored"] += 1
    return counts


def train_side_by_side(profile: str, data=None, limit: int | None = None, workers: int = 2,
                       seeds: int | None = None, log=print, poll_s: float = 5.0) -> dict:
    """Train the missing runs as `workers` processes of one CPU thread each (study.side_by_side),
    one run per process; each run is stored as it ends, so a kill resumes."""
    from .study import side_by_side

    todo, counts, _, _ = _survey(_profile(profile), data, log, arms_with_seeds(seeds))
    if limit is not None:
        counts["left"], todo = max(0, len(todo) - limit), todo[:limit]
    command = [sys.executable, "-m", "xraylib.stress", "train", "--profile", profile]
    command += ["--data", str(data)] if data is not None else []
    command += ["--seeds", str(seeds)] if seeds is not None else []
    jobs = {f"{arm.name} / seed {seed}": [*command, "--job", f"{arm.name}:{seed}"] for arm, seed in todo}
    failed = side_by_side(jobs, workers, log, poll_s)
    counts["trained"] += len(jobs) - len(failed)
    counts["stored"] += len(jobs) - len(failed)
    if failed:
        counts["failed"] = len(failed)
    return counts


# --- The record: every stored network of the plan, evaluated where the book needs it -------------

SALIENCY_METHODS = ("vanilla", "gradcam")
"""The maps whose region shares the book quotes for every seed (chapter Saliency)."""

SALIENCY_IMAGES = 60
"""About this many test images (every n-th, all classes) for the region shares."""


def _rounded(prob: np.ndarray) -> list:
    return np.round(np.asarray(prob, np.float64), 4).tolist()


def _folder(root) -> dict:
    """A data folder's rows as the record keeps them (files, labels, origins), read once."""
    df = xdata.read_dataset(root)
    return {"df": df, "files": df["file"].tolist(), "labels": df["label"].tolist(),
            "datasets": df["dataset"].tolist()}


def _saliency_shares(model, x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Mean share of each method's absolute map in the lung box, border and corners, per true
    class, over every n-th test image, with the number of all-zero maps (their shares undefined)."""
    from . import saliency

    sub = np.arange(0, len(x), max(1, len(x) // SALIENCY_IMAGES))
    out = {}
    for method in SALIENCY_METHODS:
        shares = saliency.region_shares(saliency.compute(method, model, x[sub], y_pred[sub]))
        shares["class"] = y_true[sub]
        out[method] = {"images": len(sub), "empty_maps": int(shares["lung_share"].isna().sum()),
                       **{region: {str(c): round(float(part[f"{region}_share"].mean()), 4)
                                   for c, part in shares.groupby("class")}
                          | {"all": round(float(shares[f"{region}_share"].mean()), 4)}
                          for region in ("lung", "border", "corner")}}
    return out


def _needs(arm: Arm) -> set[str]:
    """The entries a network of `arm` carries in the record."""
    keys = {"arm", "seed", "run", "train_seconds", "epochs", "test", "external", "controls"}
    keys |= {"blanked_test", "saliency"} if arm.name == "protocol" else set()
    return keys | {"recalibrated_test"}  # every arm: a collapse may be the statistics' (batchnorm)


def _reusable(previous: dict | None, record: dict) -> dict[str, dict]:
    """The previous record's networks by run folder, where that record was made on the same test
    split and the same external and control films (so a rerun evaluates only new networks)."""
    same = previous is not None and all(previous.get(k) == record[k] for k in
                                        ("image_size", "test_index", "y_true", "folders"))
    return {n["run"]: n for n in previous["networks"]} if same else {}


def build_record(profile: Profile | str = "authors", data=None, external=None, controls=None,
                 log=print, arms: tuple[Arm, ...] = ARMS, previous: dict | None = None) -> dict:
    """Every stored network of the plan: its test predictions, its predictions on the external
    and control films (through the arm's own transform), and for the protocol's own networks the
    lungs-blanked test and the saliency shares. Trains nothing; a missing run (or an arm whose
    data are missing) is left out. A network found complete in `previous` (same splits and films)
    is taken from it. Every arm is evaluated on the same test films: an arm that changes the
    composition changes only training-part rows."""
    from .config import controls_dir, external_dir
    from .study import Study, stored_run
    from .train import predict_proba as model_predict

    base = _profile(profile)
    study = Study(base, data)
    comp, split = study.comp, study.initial_split
    folders = {"external": _folder(external_dir(external)), "controls": _folder(controls_dir(controls))}
    y = xdata.labels_of(comp)
    record = {"kind": "stress", "profile": base.as_dict(), "image_size": base.image_size,
              "test_index": split.test.tolist(), "y_true": y[split.test].tolist(),
              "folders": {k: {c: v[c] for c in ("files", "labels", "datasets")}
                          for k, v in folders.items()},
              "networks": []}
    reuse = _reusable(previous, record)
    comps = arm_compositions(arms, comp, split, log)
    images: dict = {}  # per transform: the test, external and control films (about 0.3 GB each)

    @functools.cache
    def train_x(arm_name: str) -> np.ndarray:
        """The arm's own training images (its rows, its transform): what its statistics see."""
        arm = next(a for a in arms if a.name == arm_name)
        return transformed_images(list(comps[arm_name]["path"].iloc[split.train]), base.image_size,
                                  arm.transform)
    for arm, seed in plan(arms):
        if arm.name not in comps:
            continue
        run = stored_run(arm.run_name, arm.profile(base, seed), comps[arm.name], split,
                         with_model=False)
        if run is None:
            continue
        known = reuse.get(run.path.name if run.path else "")
        if known is not None and _needs(arm) <= set(known) and (known["arm"], known["seed"]) == (arm.name, seed):
            log(f"kept {arm.name} / seed {seed} from the previous record")
            record["networks"].append({k: known[k] for k in sorted(_needs(arm))})
            continue
        run = stored_run(arm.run_name, arm.profile(base, seed), comps[arm.name], split)
        log(f"evaluating {arm.name} / seed {seed}")
        key = arm.transform
        if key not in images:
            test = transformed_images(list(comp["path"].iloc[split.test]), base.image_size, arm.transform)
            images[key] = {"test": test, **{
                name: transformed_images(list(f["df"]["path"]), base.image_size, arm.transform)
                for name, f in folders.items()}}
        x = images[key]
        net = {"arm": arm.name, "seed": seed, "run": run.path.name if run.path else "",
               "train_seconds": run.meta.get("train_seconds"), "epochs": len(run.history),
               "test": _rounded(run.y_prob),
               **{name: _rounded(model_predict(run.model, x[name])) for name in folders}}
        if arm.name == "protocol":
            blanked = transformed_images(list(comp["path"].iloc[split.test]), base.image_size,
                                         shortcuts.blank_lungs)
            net["blanked_test"] = _rounded(model_predict(run.model, blanked))
            net["saliency"] = _saliency_shares(run.model, x["test"], run.y_true, run.y_pred)
        from .batchnorm import recalibrated

        net["recalibrated_test"] = _rounded(model_predict(recalibrated(run.model, train_x(arm.name)), x["test"]))
        record["networks"].append(net)
    return record


def write_record(record: dict, out: str | Path) -> None:
    """The record as compact JSON with where and when it was made."""
    from .backend import versions
    from .provenance import commit, cpu_info

    record = {**record, "machine": {**cpu_info(), **versions()}, "commit": commit(),
              "written_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    Path(out).write_text(json.dumps(record, separators=(",", ":")))


def main(argv: list[str] | None = None) -> int:
    """`python -m xraylib.stress train|record`: train the plan's missing networks (resumable, with
    progress and time left), or write the record the book reads."""
    parser = argparse.ArgumentParser(prog="python -m xraylib.stress", description=main.__doc__)
    parser.add_argument("action", choices=("train", "record"))
    parser.add_argument("--profile", default="authors", choices=list(PROFILES))
    parser.add_argument("--limit", type=int, help="train at most this many networks this call")
    parser.add_argument("--seeds", type=int, help=f"seeds per arm (default: {len(SEEDS)} for the "
                        f"protocol, {len(ARM_SEEDS)} for each arm)")
    parser.add_argument("--data", help="main data folder")
    parser.add_argument("--out", help="record file (default: records/stress-<profile>.json)")
    parser.add_argument("--fresh", action="store_true",
                        help="evaluate every network again (default: keep those the record holds)")
    parser.add_argument("--workers", type=int, default=1,
                        help="train this many networks side by side, one process and one CPU "
                             "thread each (2 on a 2-core machine: see benchmarks/levers.json)")
    parser.add_argument("--job", help=argparse.SUPPRESS)  # ARM:SEED, one run (what --workers starts)
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    if args.action == "train" and args.workers > 1:
        counts = train_side_by_side(args.profile, args.data, args.limit, args.workers, args.seeds)
        print(counts, flush=True)
        return 1 if counts.get("failed") else 0
    if args.action == "train":
        only = (args.job.rsplit(":", 1)[0], int(args.job.rsplit(":", 1)[1])) if args.job else None
        print(train(args.profile, args.data, args.limit, arms=arms_with_seeds(args.seeds), only=only),
              flush=True)
    else:
        from .config import project_root

        out = args.out or project_root() / "records" / f"stress-{args.profile}.json"
        previous = json.loads(Path(out).read_text()) if Path(out).is_file() and not args.fresh else None
        record = build_record(args.profile, args.data, arms=arms_with_seeds(args.seeds),
                              previous=previous)
        write_record(record, out)
        print(f"{len(record['networks'])} networks -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
