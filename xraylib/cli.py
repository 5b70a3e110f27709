"""The `xraylib` command (also `python -m xraylib`): data checks, splits, training, cross-validation."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path

from .config import CLASSES, DATA_SETS, PROFILES, get_profile


def _check_out_file(path: str) -> Path:
    """Fail before the work, not after it, when `--out` cannot be written (a folder, a place
    without write access), so no result is computed only to be lost."""
    out = Path(path)
    if out.is_dir():
        raise IsADirectoryError(f"--out {out} is a folder: name the file to write, e.g. "
                                f"{out / 'record.json'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"):
            pass
    except OSError as exc:
        raise type(exc)(f"--out {out}: cannot write there ({exc.strerror or exc}); name a file "
                        f"in a folder you can write to") from None
    return out


def _write_out(out: Path, text: str) -> None:
    """Write a result file atomically; if that still fails, keep the result in a temporary file
    and name it in the error, so it is never thrown away."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        tmp.write_text(text)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        fd, kept = tempfile.mkstemp(prefix=f"xraylib-{out.stem}-", suffix=out.suffix or ".json")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        raise type(exc)(f"--out {out}: not written ({exc.strerror or exc}); the result is kept "
                        f"in {kept}") from None


def _data_verify(args) -> int:
    from . import data
    from .config import data_dir

    root = data_dir(args.data)
    df = data.load_manifest(root)
    problems = data.validate_manifest(df, check_sha256=not args.no_sha256, decode=True,
                                      progress=True)
    if not args.json:
        print(f"data folder: {root}")
        print(f"{len(df)} images")
        print(df.groupby("label").size().reindex(CLASSES, fill_value=0).to_string())
        if df["dataset"].any():
            print(df.groupby(["dataset", "label"]).size().to_string())
    for p in problems:
        print(f"ERROR {p}", file=sys.stderr)
    if args.json:
        print(json.dumps({"root": str(root), "images": len(df),
                          "by_label": df.groupby("label").size().to_dict(),
                          "by_dataset": df.groupby("dataset").size().to_dict(),
                          "problems": problems}, indent=2))
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    if not args.json:
        print(f"OK: manifest and {len(df)} files verified (each decodes as an image"
              + ("" if args.no_sha256 else ", sha256 verified") + ")")
    return 0


def _data_import(args) -> int:
    from . import importer
    from .config import project_root

    out = Path(args.out) if args.out else project_root() / "data"
    sets = (args.only,) if args.only else DATA_SETS
    report = importer.import_data(args.sources, out, sets=sets,
                                  progress=args.progress or sys.stderr.isatty(), workers=args.workers)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(importer.format_report(report))
        if report.complete and args.only == "adult-normals":
            print("OK: the stress test's age arm trains on it"
                  + (f" (export XRAYLIB_ADULTS={out / 'adult-normals'})" if args.out else ""))
        elif report.complete and not args.out:
            print("OK: next, `make book` (it finds data/covid-xray and data/external)")
        elif report.complete:
            print(f"OK: next, export XRAYLIB_DATA={out / 'covid-xray'} "
                  f"XRAYLIB_EXTERNAL={out / 'external'}, then `make book`")
    return 0 if report.complete else 1


def _data_where(args) -> int:
    from .config import data_dir, external_dir

    found = True
    for what, where in (("covid-xray", data_dir), ("external", external_dir)):
        try:
            print(f"{what}: {where()}")
        except FileNotFoundError as exc:
            print(f"{what}: not found: {exc}")
            found = False
    return 0 if found else 1


def _splits(args) -> int:
    from . import splits
    from .study import Study

    study = Study(args.profile, args.data)
    comp = study.comp
    table = splits.split_sizes(comp, [study.initial_split, *study.folds])
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(f"composition: {len(comp)} images "
              + ", ".join(f"{c} {n}" for c, n in comp['label'].value_counts().reindex(CLASSES).items()))
        print(table.to_string(index=False))
    return 0


def _train(args) -> int:
    from . import metrics, runs
    from .study import Study

    study = Study(args.profile, args.data)
    profile = study.profile
    run = study.initial_run(force=args.force)
    runs.mark_latest(run.path)  # what `predict` and `evaluate` use from now on (warns if read-only)
    summary = metrics.summary(run.y_true, run.y_prob)
    if args.json:
        print(json.dumps({"profile": profile.name, "loaded_from_store": run.loaded, **summary},
                         indent=2))
    else:
        print(profile.describe())
        print(("loaded stored run" if run.loaded else "trained") + f": test set of {len(run.y_true)}")
        print(metrics.format_summary(summary))
    return 0


def _cv(args) -> int:
    from . import paper
    from .study import Study, side_by_side

    study = Study(args.profile, args.data)
    if args.train_seed is not None and args.train_seed != study.profile.seed:
        study = Study(dataclasses.replace(study.profile, train_seed=args.train_seed), args.data)
    profile = study.profile
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1, not {args.workers}")
    if args.fold is not None:
        run = study.fold_run(args.fold, force=args.force)
        print(f"fold {args.fold} ({profile.name}): {'loaded' if run.loaded else 'trained'}, "
              f"accuracy {100 * (run.y_prob.argmax(1) == run.y_true).mean():.1f}% on {len(run.y_true)} test images")
        return 0
    if args.workers > 1:
        todo = list(range(1, len(study.folds) + 1)) if args.force else study.missing_folds()
        command = [sys.executable, "-m", "xraylib", "cv", "--profile", profile.name]
        command += ["--data", str(args.data)] if args.data else []
        command += ["--force"] if args.force else []
        command += ["--train-seed", str(args.train_seed)] if args.train_seed is not None else []
        failed = side_by_side({f"fold {k}": [*command, "--fold", str(k)] for k in todo}, args.workers,
                              log=lambda line: print(line, file=sys.stderr, flush=True))
        if failed:
            print(f"not trained: {', '.join(failed)} (see the lines above); run again to resume",
                  file=sys.stderr)
            return 1
    result = study.cross_validate()
    table = result.table()
    if args.json:
        print(json.dumps({"profile": profile.name, "table2": table.to_dict(orient="index"),
                          "paper_table2": paper.TABLE2.to_dict(orient="index")}, indent=2))
    else:
        print(profile.describe())
        print("Table 2 (percent, macro averages): ours")
        print(table.to_string())
        print(f"paper: mean accuracy {paper.CV_MEAN_ACCURACY}%, mean F1 {paper.CV_MEAN_F1}%")
    return 0


def _record(args) -> int:
    from . import pinning, record

    out = _check_out_file(args.out)
    raw = pinning.build_record(get_profile(args.profile), args.data, note=args.note)
    _write_out(out, json.dumps(raw, indent=1) + "\n")
    print(f"wrote {args.out}")
    print(record.format_record(record.read_record(args.out)))
    return 0


def _pin(args) -> int:
    from . import pinning

    for path in pinning.pin_book_runs(get_profile(args.profile), args.data):
        print(f"pinned {path}")
    return 0


def _evaluate(args) -> int:
    from . import predict

    net = predict.network(args.profile)
    result = predict.evaluate_folder(args.data, net.model, net.profile)
    report = result.report()
    if args.json:
        print(json.dumps({**report, "network": net.as_dict()}, indent=2))
    else:
        print(net.text())
        print(predict.format_report(report))
    for f in result.unreadable:
        print(f"ERROR unreadable: {f}", file=sys.stderr)
    return 1 if result.unreadable else 0


def _predict(args) -> int:
    from . import predict

    if args.out:
        predict.check_out_dir(args.out)  # before the model loads: nothing computed is lost
    net = predict.network(args.profile)
    table, errors = predict.predict_files(args.images, net.model, net.profile, args.out)
    if args.json:
        print(json.dumps({"profile": net.profile.name, "network": net.as_dict(),
                          "predictions": table.to_dict(orient="records"), "errors": errors},
                         indent=2))
    else:
        print(net.text())
        if len(table):
            print(table.to_string(index=False))
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    return 1 if errors else 0


def _bench(args) -> int:
    from . import bench

    out = _check_out_file(args.out) if args.out else None
    result = bench.run_bench(get_profile(args.profile), short=args.short, data=args.data)
    print(json.dumps(result, indent=2) if args.json else bench.format_bench(result))
    if out:
        _write_out(out, json.dumps(result, indent=2) + "\n")
    return 0


def _ladder(args) -> int:
    from . import ladder_record, ladder_tables
    from .config import project_root

    say = sys.stderr if args.json else sys.stdout  # with --json, stdout is the JSON alone
    if args.out:
        _check_out_file(args.out)
    if args.train_cpu is not None:
        from . import ladder_train  # trains: loads the Keras backend only when asked to

        counts = ladder_train.train_on_cpu(args.train_cpu, args.data,
                                           log=lambda s: print(s, file=sys.stderr, flush=True),
                                           plan=args.plan)
        print(f"ladder runs stored: {counts['stored']}, trained now: {counts['trained']}, "
              f"left: {counts['left']}", file=say)
    if args.import_grid or args.from_store:
        if not args.out:
            raise ValueError("--import and --from-store write a record: name it with --out FILE")
        if args.import_grid:
            raw = ladder_record.read_grid(args.import_grid)
        else:
            from . import ladder_train

            raw = ladder_train.record_from_store(args.data, args.plan)
        _write_out(Path(args.out), ladder_record.as_json(raw, note=args.note))
        print(f"wrote {args.out}", file=say)
    record = ladder_record.read_ladder(args.out or args.record or project_root() / "records" / "ladder.json")
    rungs, cv_sum = ladder_tables.rung_table(record), ladder_tables.cv_summary(record)
    if args.json:
        print(json.dumps({"machine": record.machine, "initial": rungs.round(2).to_dict(orient="index"),
                          "cv": cv_sum.round(2).to_dict(orient="index")}, indent=2))
    else:
        if len(rungs):
            print("initial procedure, test accuracy (%) over seeds:")
            print(rungs.drop(columns="change").round(1).to_string())
        if len(cv_sum):
            print("five-fold cross-validation over seeds:")
            print(cv_sum.round(1).to_string())
    return 0


def ladder_plans() -> tuple[str, ...]:
    from .ladder import PLANS
    return PLANS


class _UsageError(Exception):
    """A command line argparse refuses; main prints it (and, with --json, a JSON error too)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors raised to main instead of exiting, for `--json`."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        raise _UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xraylib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="import, find or check the data folders")
    data_sub = data.add_subparsers(dest="action", required=True)
    imp = data_sub.add_parser(
        "import", help="build data/covid-xray and data/external from the public archives you "
        "downloaded (README 'Data'): the project's selection, processed as SOURCES.md describes")
    imp.add_argument("sources", nargs="+", metavar="ARCHIVE_OR_FOLDER",
                     help="zip archives as downloaded, or their extracted folders")
    imp.add_argument("--out", help="folder to write covid-xray/ and external/ into "
                     "(default: data/ in the checkout, where the book looks)")
    imp.add_argument("--only", choices=DATA_SETS, help="import one of the folders")
    imp.add_argument("--progress", action="store_true",
                     help="progress bar on stderr even when it is not a terminal")
    imp.add_argument("--workers", type=int, help="images processed in parallel (default: CPUs, 8 at most)")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=_data_import)
    where = data_sub.add_parser("where", help="the data folders the commands use; exit 1 if one "
                                "is missing")
    where.set_defaults(func=_data_where)
    verify = data_sub.add_parser("verify", help="check the manifest (labels, duplicates), "
                                 "decode every image, check sha256")
    verify.add_argument("--data", help="data folder (default: $XRAYLIB_DATA or the documented defaults)")
    verify.add_argument("--no-sha256", action="store_true", help="skip the (slower) hash check")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=_data_verify)

    def with_profile(p):
        p.add_argument("--profile", choices=list(PROFILES), help="default: $XRAYLIB_PROFILE or paper")
        p.add_argument("--data", help="main data folder")
        p.add_argument("--json", action="store_true")
        return p

    with_profile(sub.add_parser("splits", help="sizes per class of every split")).set_defaults(func=_splits)
    tr = with_profile(sub.add_parser("train", help="train (or load) the initial-procedure run"))
    tr.add_argument("--force", action="store_true", help="retrain even if a stored run exists")
    tr.set_defaults(func=_train)
    cvp = with_profile(sub.add_parser("cv", help="run or resume 5-fold cross-validation; print Table 2"))
    cvp.add_argument("--force", action="store_true", help="retrain every fold")
    cvp.add_argument("--fold", type=int, metavar="K", help="train (or load) fold K only")
    cvp.add_argument("--train-seed", type=int, metavar="S",
                     help="another training seed on the same folds (the ladder's seeds: 2021, 2022)")
    cvp.add_argument("--workers", type=int, default=1, metavar="N",
                     help="train the missing folds N at a time, one CPU thread each (2 suits 2 cores)")
    cvp.set_defaults(func=_cv)
    rec = sub.add_parser("record", help="write a profile's stored runs (predictions, histories, "
                         "wall times) to a JSON file the book shows")
    rec.add_argument("--profile", choices=list(PROFILES), help="default: $XRAYLIB_PROFILE or paper")
    rec.add_argument("--data", help="main data folder")
    rec.add_argument("--out", required=True, help="the JSON file to write, e.g. records/paper-profile.json")
    rec.add_argument("--note", default="", help="what a reader should know about these runs")
    rec.set_defaults(func=_record)
    pin = sub.add_parser("pin", help="train (or load) every run the chapters read and keep them "
                         "in records/runs, so every machine prints the same book")
    pin.add_argument("--profile", choices=list(PROFILES), help="default: $XRAYLIB_PROFILE or paper")
    pin.add_argument("--data", help="main data folder")
    pin.set_defaults(func=_pin)
    ev = sub.add_parser("evaluate", help="run the stored initial-procedure model on a folder")
    ev.add_argument("--data", required=True, help="folder with manifest.csv or images/<label>/")
    ev.add_argument("--profile", choices=list(PROFILES), help="the latest cached run of this "
                    "profile (default: $XRAYLIB_PROFILE or authors); without one, the network "
                    "the repository ships (authors, 200 px)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=_evaluate)
    pr = sub.add_parser("predict", help="class probabilities and a heat map for X-ray image files")
    pr.add_argument("images", nargs="+", help="PNG or JPEG files, any size, bit depth or channels")
    pr.add_argument("--profile", choices=list(PROFILES), help="the latest cached run of this "
                    "profile (default: $XRAYLIB_PROFILE or authors); without one, the network "
                    "the repository ships (authors, 200 px)")
    pr.add_argument("--out", help="folder for the heat-map overlay PNGs")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=_predict)
    be = sub.add_parser("bench", help="training images/s: naive loader vs ours vs compute limit")
    be.add_argument("--profile", choices=list(PROFILES), help="default: $XRAYLIB_PROFILE or paper")
    be.add_argument("--short", action="store_true", help="2 epochs on 42 images, 14 per class (CI)")
    be.add_argument("--data", help="main data folder")
    be.add_argument("--out", help="also write the result as JSON to this file")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=_bench)
    la = sub.add_parser("ladder", help="the ablation ladder paper -> authors: print, import, or "
                        "train it on the CPU a few runs at a time")
    la.add_argument("--record", help="the ladder record to print (default records/ladder.json "
                    "in the checkout)")
    la.add_argument("--import", dest="import_grid", metavar="GRID_JSON",
                    help="turn a grid.json from `python -m xraylib.gpu_grid run` into a record (--out)")
    la.add_argument("--train-cpu", type=int, metavar="N",
                    help="train at most N missing runs with TensorFlow here (resumes; hours each)")
    la.add_argument("--from-store", action="store_true",
                    help="write the stored CPU runs as a record (--out)")
    la.add_argument("--plan", choices=ladder_plans(), default="ladder",
                    help="with --train-cpu / --from-store: the ladder, or the quick profile over "
                         "five seeds (quick-seeds)")
    la.add_argument("--out", help="the record file to write")
    la.add_argument("--note", default="", help="what a reader should know about the record")
    la.add_argument("--data", help="main data folder")
    la.add_argument("--json", action="store_true")
    la.set_defaults(func=_ladder)
    return parser


def _json_error(message: str, kind: str) -> None:
    """With --json, an error is a JSON object on stdout too, so a caller never parses nothing."""
    print(json.dumps({"error": message, "kind": kind}, indent=2))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        if "--json" in argv:
            _json_error(str(exc), "usage")
        raise SystemExit(2) from None
    as_json = getattr(args, "json", False)
    try:
        return args.func(args)
    except (OSError, ValueError) as exc:  # bad data (DataError), missing or damaged runs, I/O
        print(f"error: {exc}", file=sys.stderr)
        if as_json:
            _json_error(str(exc), type(exc).__name__)
        return 2
    except Exception as exc:
        if as_json:  # a bug: the traceback still follows on stderr
            _json_error(f"internal error: {type(exc).__name__}: {exc}", "internal")
        raise


if __name__ == "__main__":
    sys.exit(main())
