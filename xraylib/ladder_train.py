"""The ladder's plans trained on a CPU, through the run store, where no GPU is lent.

Each training is one stored run (xraylib.runs): a call trains at most `limit` of them, and the next
resumes at the first one missing. `record_from_store` writes what is stored as a ladder record.
"""
from __future__ import annotations

import dataclasses

from . import data as xdata
from . import ladder, ladder_record
from .backend import versions
from .config import PROFILES, Profile
from .provenance import cpu_info
from .study import Study, stored_run, train_split


def _cpu_plan(data: str | None = None, plan: str = "ladder"):
    """A plan's trainings with the paper composition and splits, for the default backend's run store."""
    if plan not in ladder.PLANS:
        raise ValueError(f"unknown plan {plan!r}: choose one of {', '.join(ladder.PLANS)}")
    base = PROFILES["quick" if plan == "quick-seeds" else "paper"]
    chosen = Study(base, data)
    comp = chosen.comp
    splits = {s.name: s for s in [chosen.initial_split, *chosen.folds]}
    arrays = {n: {"train": s.train, "val": s.val, "test": s.test} for n, s in splits.items()}
    groups = {"ladder": ladder.plan, "paper-cv": ladder.paper_cv_plan}.get(plan)
    return comp, splits, groups(arrays) if groups else ladder.seed_plan(base, arrays)


def _store_name(member: ladder.Member) -> tuple[str, Profile]:
    """The run store's name and profile of a member (its seed kept only where it is not the profile's)."""
    name = "initial" if member.procedure == "initial" else f"cv-{member.procedure}"
    seed = None if member.seed == member.profile.seed else member.seed  # the profile's own run
    return name, dataclasses.replace(member.profile, train_seed=seed)


def train_on_cpu(limit: int | None = None, data: str | None = None, log=print,
                 plan: str = "ladder") -> dict:
    """Train the ladder's missing runs with the default backend, through the run store.

    Where no GPU is lent: each call trains at most `limit` runs, in the plan's order, and a later
    call resumes at the first run not stored. Returns how many are stored and how many are left.
    """
    comp, splits, groups = _cpu_plan(data, plan)
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


def record_from_store(data: str | None = None, plan: str = "ladder") -> dict:
    """A plan's stored CPU runs as a ladder record (ladder_record's format; stored runs only)."""
    comp, splits, groups = _cpu_plan(data, plan)
    raw = ladder_record.new_record(plan, {**cpu_info(), **versions()}, xdata.labels_of(comp),
                                   {n: s.test for n, s in splits.items()})
    for group, members in groups:
        seconds, images, stored = 0.0, 0, 0
        for m in members:
            name, profile = _store_name(m)
            run = stored_run(name, profile, comp, splits[m.procedure])
            if run is None:
                continue
            h = run.history
            seconds += float(run.meta.get("train_seconds") or 0)
            images += len(splits[m.procedure].train) * len(h)  # the epochs it ran (early stopping)
            stored += 1
            ladder_record.add_member(raw, m, group, {k: h[k].tolist() for k in ladder_record.HISTORY},
                                     run.y_prob, len(h) if len(h) < profile.epochs else None)
        if seconds:  # the stored members only: a plan stopped part-way records what it trained
            raw["groups"][group] = {"members": stored, "steps_per_epoch": None,
                                    "first_epoch_s": None, "train_s": round(seconds, 1),
                                    "total_s": round(seconds, 1), "train_images": images,
                                    "images_per_s": round(images / seconds, 1)}
    if not raw["members"]:
        raise FileNotFoundError("no stored ladder run: train some with `xraylib ladder --train-cpu N`")
    return raw
