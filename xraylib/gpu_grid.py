"""The ablation ladder (xraylib.ladder) on a borrowed GPU, every group in one compiled, vmapped step.

Why: on the project's 2-core CPUs one paper-scale training takes 9-38 minutes, and the ladder is
about a hundred of them. The GPU machine has JAX but no TensorFlow, Keras or data, so Keras and its
two missing dependencies travel as wheels and the paper composition travels as one compressed file.

    python -m xraylib.gpu_grid prep .gpu/composition.npz   # here: decode 1,389 images, all splits
    KERAS_BACKEND=jax python -m xraylib.gpu_grid run .gpu/composition.npz OUT [--deadline S] [--done F]

`run` trains the groups of `ladder.plan` in order, writes OUT/grid.json after each group (so a run
cut short keeps what finished), skips a group whose projected time would pass the deadline, and with
--done skips the groups already in an earlier grid.json (resume). `xraylib ladder --import` turns
the file into records/ladder.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from . import ladder, ladder_record
from .config import get_profile
from .splits import cv_splits, initial_split

SIDES = ("train", "val", "test")


def prep(path: str) -> None:
    """Decode the paper composition at 200 px (8-bit gray) and store every split's indices."""
    from . import data as xdata  # decoding needs Pillow, which the GPU machine running `run` lacks

    profile = get_profile("paper")
    comp = xdata.composition(profile)
    gray = xdata.load_images(comp, profile.image_size)[..., 0]
    arrays = {"x": np.round(gray * 255).astype(np.uint8), "y": xdata.labels_of(comp),
              "files": np.array(comp["file"].tolist())}
    for split in [initial_split(comp, profile), *cv_splits(comp, profile)]:
        for side in SIDES:
            arrays[f"{split.name}.{side}"] = getattr(split, side)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    print(f"{path}: {Path(path).stat().st_size / 2**20:.1f} MiB, {len(comp)} images")


def _smoke(members: list[ladder.Member]) -> list[ladder.Member]:
    """Two members, one epoch, 20 training images: checks the whole path quickly."""
    return [dataclasses.replace(m, profile=dataclasses.replace(m.profile, epochs=1),
                                train=m.train[:2 * m.profile.batch_size], val=m.val[:10])
            for m in members[:2]]


def _images(members: list[ladder.Member]) -> int:
    """Training images a group will see (each member's full epochs)."""
    return sum(m.profile.epochs * (len(m.train) // m.profile.batch_size) * m.profile.batch_size
               for m in members)


def _print_accuracies(name: str, outcomes: list, y: np.ndarray, timing: dict) -> None:
    accs: dict[tuple, list[float]] = {}
    for o in outcomes:
        acc = float(np.mean(o.y_prob.argmax(1) == y[o.member.test]))
        accs.setdefault((o.member.label, o.member.procedure[:4]), []).append(acc)
    for (label, proc), a in accs.items():
        print(f"  {label:18s} {proc}: acc {100 * np.mean(a):5.1f} "
              f"[{' '.join(f'{100 * v:.0f}' for v in a)}]", flush=True)
    print(f"  {name} took {timing['total_s']} s (first epoch {timing['first_epoch_s']} s), "
          f"{timing['images_per_s']} images/s", flush=True)


def run(npz: str, out: str, deadline: float, done: str | None, only: list[str],
        smoke: bool = False) -> None:
    """Train the ladder's groups on the JAX backend, writing OUT/grid.json after each group."""
    from .backend import versions  # the grid's modules need KERAS_BACKEND=jax, set before this call
    from .grid import TooSlow, train_group

    start = time.time()
    z = np.load(npz)
    x, y = z["x"], z["y"]
    names = sorted({k.split(".")[0] for k in z.files if "." in k})
    splits = {n: {s: z[f"{n}.{s}"] for s in SIDES} for n in names}
    result = ladder_record.new_record("ladder", versions(), y, {n: splits[n]["test"] for n in names})
    if done and Path(done).exists():
        prior = json.loads(Path(done).read_text())
        result.update(groups=prior["groups"], members=prior["members"], rungs=prior["rungs"])
    out_file = Path(out) / "grid.json"
    rate = None  # images/s measured on the groups so far
    for name, members in ladder.plan(splits):
        members = _smoke(members) if smoke else members
        if name in result["groups"] or (only and name not in only):
            continue
        images, left = _images(members), deadline - (time.time() - start)
        if rate and images / rate * 1.15 + 30 > left:
            print(f"skip {name}: {len(members)} trainings, projected {images / rate:.0f} s, "
                  f"{left:.0f} s left", flush=True)
            continue
        print(f"{name}: {len(members)} trainings ({images} images)", flush=True)
        try:
            outcomes, timing = train_group(members, x, y, log=lambda s: print(s, flush=True),
                                           deadline=start + deadline)
        except TooSlow as err:
            print(f"  stopped {name}: {err}", flush=True)
            result.setdefault("too_slow", {})[name] = str(err)
            out_file.write_text(json.dumps(result))
            continue
        rate = timing["train_images"] / timing["train_s"]
        result["groups"][name] = timing
        for o in outcomes:
            ladder_record.add_member(result, o.member, name, o.history, o.y_prob, o.stopped_epoch)
        result["seconds"] = round(time.time() - start, 1)
        out_file.write_text(json.dumps(result))
        _print_accuracies(name, outcomes, y, timing)
    print(f"done in {time.time() - start:.0f} s; groups: {', '.join(result['groups'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xraylib.gpu_grid", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prep", help="decode the paper composition and its splits into one .npz")
    p.add_argument("npz")
    r = sub.add_parser("run", help="train the ladder's groups (KERAS_BACKEND=jax)")
    r.add_argument("npz")
    r.add_argument("out")
    r.add_argument("--deadline", type=float, default=480.0, help="seconds this run may take")
    r.add_argument("--done", help="an earlier grid.json: its groups are kept, not retrained")
    r.add_argument("--only", nargs="*", default=[], help="train only these groups")
    r.add_argument("--smoke", action="store_true", help="1 epoch, 2 members a group, 20 images")
    args = parser.parse_args(argv)
    if args.cmd == "prep":
        prep(args.npz)
    else:
        run(args.npz, args.out, args.deadline, args.done, args.only, args.smoke)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
