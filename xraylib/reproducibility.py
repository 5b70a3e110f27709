"""What the Reproducibility chapter computes, section by section, from the committed measurements.

Why here: the chapter's numbers (which settings change trained weights, what they cost, how two
processors and two backends agree, how far seeds spread) come from benchmarks/*.json and
records/*.json; each section is one function that returns the values the prose glues and the table
it shows, columns keyed by ids and given their display names at the end. Loads without Keras.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import ladder_record, ladder_tables, record, wording
from .config import get_profile, project_root


def read_benchmark(name: str) -> dict:
    """benchmarks/<name> (a measurement the chapter reads); says which script writes it."""
    path = project_root() / "benchmarks" / name
    if not path.is_file():
        script = name.replace("-", "_").replace(".json", ".py")
        raise FileNotFoundError(f"no measurement at {path}: benchmarks/{script} writes it")
    return json.loads(path.read_text())


def extensions(names: list[str]) -> str:
    """CPU vector extensions as a reader knows them: 'AVX2, FMA, AVX512F'."""
    return ", ".join(x.upper().replace("_", "-") for x in names)


def determinism_header(det: dict) -> str:
    """Where and when the determinism variants were measured, and by what (two printed lines)."""
    m, prov = det["machine"], det["provenance"]
    return (f"determinism variants: measured {prov['measured_utc']} at commit {prov['commit']} on "
            f"{m['cpus']} cores of an {m['processor']} ({', '.join(m['vector_extensions'])}; "
            f"L1d {m['caches']['L1d']}, L2 {m['caches']['L2']}), TensorFlow {m['tensorflow']}, Keras {m['keras']}\n"
            f"by {prov['by']}")


def variants(det: dict) -> pd.DataFrame:
    """One row per variant: whether its weights equal those of the run it is compared against, and
    a letter per distinct set of weights."""
    v = pd.DataFrame(det["variants"]).set_index("key")
    hashes = v["weights_sha256"]
    v["identical"] = [bool(a) and hashes[a] == h for a, h in zip(v["against"], hashes)]
    v["weights"] = [chr(ord("A") + i) for i in pd.factorize(hashes)[0]]
    return v


VARIANT_COLUMNS = {"factor": "factor", "setting": "setting", "against": "against", "weights": "weights",
                   "bit_identical": "bit-identical", "accuracy": "epoch-1 accuracy (%)", "loss": "loss",
                   "val_accuracy": "validation accuracy (%)"}


def determinism_variants(det: dict) -> tuple[dict, pd.DataFrame]:
    """The variants' counts and provenance for the prose, and the table of every variant."""
    v, prov = variants(det), det["provenance"]
    values = {"n_variants": str(len(v)), "n_groups": str(v["weights_sha256"].nunique()),
              "det_train": str(v.loc["default", "train_images"]), "det_val": str(v.loc["default", "val_images"]),
              "det_date": prov["measured_utc"], "det_epochs": str(det["epochs"]), "det_commit": prov["commit"]}
    table = pd.DataFrame({
        "factor": v["factor"], "setting": v["setting"], "against": v["against"], "weights": v["weights"],
        "bit_identical": np.where(v["against"] == "", "", np.where(v["identical"], "yes", "no")),
        "accuracy": (100 * v["accuracy"]).round(1), "loss": v["loss"].round(3),
        "val_accuracy": (100 * v["val_accuracy"]).round(1)})
    return values, table.rename(columns=VARIANT_COLUMNS)


VERDICTS = {"v_repeat": ["default-2", "onednn-off-2", "kernel-2"], "v_isa_own": ["isa-avx512_core"],
            "v_isa_low": ["isa-avx2", "isa-avx", "isa-sse41"], "v_intra_other": ["intra-1", "intra-4"],
            "v_intra_2": ["intra-2"], "v_avx2_14": ["isa-avx2-intra-1", "isa-avx2-intra-4"],
            "v_avx2_3": ["isa-avx2-intra-3"], "v_irrelevant": ["inter-1", "inter-4", "omp-1", "hashseed-0", "kernel"],
            "v_off": ["onednn-off"], "v_off_isa": ["onednn-off-isa-avx2", "onednn-off-isa-avx", "onednn-off-isa-sse41"]}
"""The prose's claims, each over the variants it is about."""


def verdict(v: pd.DataFrame, keys: list[str]) -> str:
    """Whether these variants left the weights bit-identical to the runs they are compared against."""
    changed = int((~v.loc[keys, "identical"]).sum())
    if changed == 0:
        return "left the weights bit-identical"
    if changed == len(keys):
        return "changed the weights"
    return f"changed the weights in {wording.seeds_phrase(changed, len(keys))} cases"


def determinism_verdicts(det: dict) -> dict:
    """The cores, the epoch-1 accuracy range, and a verdict per claim (VERDICTS)."""
    v = variants(det)
    acc = 100 * v["accuracy"]
    return {"cpus": str(det["machine"]["cpus"]), "acc_lo": f"{acc.min():.1f}%", "acc_hi": f"{acc.max():.1f}%",
            **{key: verdict(v, keys) for key, keys in VERDICTS.items()}}


SPEED_COLUMNS = {"setting": "setting", "fit_s": "fit seconds per round", "median_s": "median (s)",
                 "x_default_median": "x default (median)", "min_s": "fastest (s)",
                 "x_default_min": "x default (fastest)", "final": "final validation accuracy (%)"}


def speed(det: dict) -> tuple[dict, pd.DataFrame]:
    """What the deterministic settings cost in training time, and the table of every setting."""
    sp = pd.DataFrame(det["speed"]["configs"]).set_index("key")
    final = 100 * sp["final_val_accuracy"].map(np.median)
    ratio = lambda key, col: f"{sp.loc[key, col]:.2f}"  # noqa: E731
    values = {"speed_rounds": str(det["speed"]["rounds"]), "speed_epochs": str(det["speed"]["epochs"]),
              "off_median": ratio("onednn-off", "x_default_median"), "off_min": ratio("onednn-off", "x_default_min"),
              "avx2_min": ratio("isa-avx2", "x_default_min"), "avx2_median": ratio("isa-avx2", "x_default_median"),
              "pin_min": ratio("isa-avx2-intra-1", "x_default_min"),
              "pin_median": ratio("isa-avx2-intra-1", "x_default_median"),
              "final_lo": f"{final.min():.1f}%", "final_hi": f"{final.max():.1f}%",
              "final_repeat": "the same in every round" if all(len(set(f)) == 1 for f in sp["final_val_accuracy"])
              else "not the same in every round"}
    table = pd.DataFrame({"setting": sp["setting"],
                          "fit_s": sp["fit_s"].map(lambda t: ", ".join(f"{s:.1f}" for s in t)),
                          "median_s": sp["median_s"], "x_default_median": sp["x_default_median"],
                          "min_s": sp["min_s"], "x_default_min": sp["x_default_min"], "final": final.round(1)})
    return values, table.rename(columns=SPEED_COLUMNS)


def _cache_size(size: str) -> str:
    """'1024K' as '1 MiB', '32K' as '32 KiB'."""
    kib = int(size[:-1])
    return f"{kib // 1024} MiB" if kib >= 1024 else f"{kib} KiB"


def earlier_host(det: dict) -> dict:
    """The earlier host against this one: vector extensions, caches, and how many variants
    reproduce its stored first epoch."""
    v, m, old = variants(det), det["machine"], det["earlier_host"]
    first = old["stored_epoch1"]
    matches = int(((v["accuracy"].round(3) == first["accuracy"]) & (v["loss"].round(3) == first["loss"])).sum())
    return {"old_ext": extensions(old["machine"]["vector_extensions"]) + " (no AVX-512)",
            "new_ext": extensions(m["vector_extensions"]), "l1d": _cache_size(m["caches"]["L1d"]),
            "l2": _cache_size(m["caches"]["L2"]), "old_match": wording.seeds_phrase(matches, len(v)),
            **{key: f"{value:.3f}" for key, value in (
                ("old_acc", first["accuracy"]), ("old_loss", first["loss"]),
                ("avx2_acc", v.loc["isa-avx2", "accuracy"]), ("avx2_loss", v.loc["isa-avx2", "loss"]))}}


FIT_NAMES = {"old": "float32, lbfgs tolerance 1e-4 (before)", "current": "float64, tolerance 1e-8 (now)"}


def cross_machine(xm: dict) -> tuple[dict, pd.DataFrame]:
    """Two processors: the examined network's predictions, the baseline's fits, the suites from
    fresh clones; and the table of the baseline's accuracy per fit and kernel set."""
    net = xm["examined_network"]
    pinned = net["pinned"]["machine"]
    core = pinned["family_model"].split("(")[-1].rstrip(")")  # provenance.cpu_info's 'family/model (core)'
    fits = pd.DataFrame(xm["baseline_fits"]).pivot(index="fit", columns="kernels", values="accuracy")
    suites = pd.DataFrame(xm["suites_from_fresh_clones"])
    values = {
        "xm_a": f"{net['record']['machine']['processor']} (Zen 4)", "xm_b": f"{pinned['processor']} ({core})",
        "xm_same": f"{net['same_prediction']} of {net['images']}",
        "xm_diff": f"{net['max_abs_probability_difference']:.0e}",
        "xm_ta": f"{net['record']['train_seconds'] / 60:.0f} min",
        "xm_tb": f"{net['pinned']['train_seconds'] / 60:.0f} min",
        "xm_old_here": f"{fits.loc['old', 'default']:.2f}%",
        "xm_old_there": f"{xm['baseline_fit_stored_elsewhere']['accuracy']:.2f}%",
        "xm_new": f"{fits.loc['current', 'default']:.2f}%",
        "xm_new_same": "the same" if fits.loc["current"].nunique() == 1 else "not the same",
        "xm_suites": "; ".join(f"{r.variant}, {'passed' if r.exit_code == 0 else 'failed'} in {r.seconds / 60:.0f} min"
                               for r in suites.itertuples())}
    return values, fits.rename(index=FIT_NAMES).rename_axis(None, axis=1)


def seed_record_line(qs: ladder_record.LadderRecord) -> str:
    """How many trainings a seed record holds and the machine that trained them."""
    qm = qs.machine
    return (f"{len(qs.members)} trainings, recorded on {qm.get('processor', qm.get('device'))} "
            f"({', '.join(qm.get('vector_extensions', []))}), Keras {qm['keras']} on {qm['backend']}")


SPREAD_ROWS = {"initial_accuracy": "initial procedure, test accuracy", "initial_f1": "initial procedure, macro F1",
               "cv_mean": "cross-validation, mean of the folds' accuracies",
               "cv_f1": "cross-validation, pooled macro F1"}


def _stats(s: pd.Series) -> dict:
    return {"seeds": len(s), "mean": s.mean(), "SD": s.std(ddof=1), "min": s.min(), "max": s.max()}


def seed_spread(qs: ladder_record.LadderRecord, pinned_env: str) -> tuple[dict, pd.DataFrame]:
    """The preview over seeds: the spread the seed-spread test allows (its tolerance on the initial
    procedure, and whether a one-class network would pass it), the seeds' numbers, and the table of
    their spread (cross-validation rows for the seeds whose five folds are recorded).
    `pinned_env`: the variable that turns the pinned runs off (runs.PINNED_ENV), named in the prose."""
    init = qs.members[qs.members["procedure"] == "initial"]
    cvt = ladder_tables.cv_table(qs)
    columns = {"initial_accuracy": _stats(init["accuracy"]), "initial_f1": _stats(init["macro_f1"])}
    if len(cvt):
        columns |= {"cv_mean": _stats(cvt["mean of folds"]), "cv_f1": _stats(cvt["pooled macro F1"])}
    spread = pd.DataFrame(columns).T
    spread["seeds"] = spread["seeds"].astype(int)
    acc = init["accuracy"]
    y_test = ladder_tables.true_labels(qs)
    tol = ladder_tables.spread_tolerance(acc, len(y_test))
    majority = 100 * np.bincount(y_test).max() / len(y_test)
    collapsed = int(qs.members["collapsed"].sum())
    values = {
        "tol_verdict": f"a network that always answers the most common class ({majority:.1f}%) would fail it"
        if acc.mean() - tol > majority else
        f"so wide that a network always answering the most common class ({majority:.1f}%) would pass: the "
        f"test catches a training that crashes or falls below {acc.mean() - tol:.1f}%, not one that merely got worse",
        "qs_n": wording.count_word(init["seed"].nunique()), "qs_seeds": ", ".join(map(str, sorted(init["seed"]))),
        "qs_mean": f"{acc.mean():.1f}%", "qs_sd": f"{acc.std(ddof=1):.1f}",
        "qs_range": f"{acc.min():.1f}-{acc.max():.1f}%", "qs_n_test": str(len(y_test)),
        "qs_cv_n": wording.count_word(len(cvt)), "qs_cv_seeds": ", ".join(map(str, sorted(cvt["seed"]))),
        "qs_cv_range": f"{cvt['mean of folds'].min():.1f}-{cvt['mean of folds'].max():.1f}%" if len(cvt) else "n/a",
        "qs_cv_sd": f"{cvt['mean of folds'].std(ddof=1):.1f}" if len(cvt) > 1 else "n/a",
        "tol_band": f"{acc.mean():.1f} ± {tol:.1f}%",
        "tol_factor": f"{ladder_tables.spread_factor(len(acc)):.2f}", "pinned_env": pinned_env,
        "qs_collapsed": f"{collapsed or 'None'} of the {len(qs.members)} trainings",
        "collapse": f"{100 * ladder_record.COLLAPSE_RECALL:.0f}%"}
    return values, spread.rename(index=SPREAD_ROWS)


BESIDE_COLUMNS = {"seeds": "seeds", "mean": "mean (%)", "SD": "SD (points)", "min": "lowest (%)",
                  "max": "highest (%)"}

PREVIEW_MAX_SD, PREVIEW_MAX_GAP = 3.0, 5.0
"""What the preview is held to (issue 22): its seeds' SD on the initial test set, and how far (points)
its mean may lie from the 200 px protocol's seeds."""


def preview_beside_protocol(qs: ladder_record.LadderRecord, lad: ladder_record.LadderRecord,
                            protocol_cpu: pd.Series | None = None) -> tuple[dict, pd.DataFrame]:
    """The preview's seeds on the initial test set beside the authors' protocol at 200 px (its GPU
    seeds in the ladder, and its CPU seeds from the stress record, given as accuracies in %): is the
    preview's spread as narrow, and its mean as high, as the protocol it stands in for?"""
    preview = qs.members.query("procedure == 'initial'")["accuracy"]
    rows = {"preview (96 px), TensorFlow on a CPU": _stats(preview),
            "authors' protocol (200 px), Keras on JAX, GPU": _stats(_gpu_initial(lad, "authors"))}
    if protocol_cpu is not None and len(protocol_cpu):
        rows["authors' protocol (200 px), TensorFlow on a CPU"] = _stats(pd.Series(protocol_cpu))
    table = pd.DataFrame(rows).T
    table["seeds"] = table["seeds"].astype(int)
    full = pd.concat([_gpu_initial(lad, "authors"), pd.Series(protocol_cpu, dtype=float)])
    gap = preview.mean() - full.mean()
    inside = preview.std(ddof=1) <= PREVIEW_MAX_SD and abs(gap) <= PREVIEW_MAX_GAP
    values = {"pv_sd": f"{preview.std(ddof=1):.1f}", "pv_mean": f"{preview.mean():.1f}%",
              "pv_full_mean": f"{full.mean():.1f}%", "pv_full_n": wording.count_word(len(full)),
              "pv_gap": f"{abs(gap):.1f} points {'above' if gap > 0 else 'below'}",
              "pv_verdict": f"{'within' if inside else 'outside'} the bounds the preview is held to (SD at "
                            f"most {PREVIEW_MAX_SD:g} points, mean within {PREVIEW_MAX_GAP:g} points of the "
                            f"200 px protocol's)"}
    return values, table.rename(columns=BESIDE_COLUMNS)


def seed_strip(qs: ladder_record.LadderRecord) -> tuple[pd.DataFrame, list[str]]:
    """Every training's accuracy by procedure, then each seed's mean of folds (plots.ladder_strip's
    input: rows 'rung', 'accuracy', 'collapsed'), and the order of the rows."""
    cvt = ladder_tables.cv_table(qs)
    strip = pd.concat([qs.members[["procedure", "accuracy", "collapsed"]].rename(columns={"procedure": "rung"}),
                       cvt.assign(rung="mean of folds", accuracy=cvt["mean of folds"],
                                  collapsed=cvt["folds collapsed"] > 0)[["rung", "accuracy", "collapsed"]]])
    folds = sorted(p for p in set(qs.members["procedure"]) if p.startswith("fold-"))
    return strip, ["initial", *folds, "mean of folds"]


def _gpu_initial(lad: ladder_record.LadderRecord, rung: str) -> pd.Series:
    return lad.members.query("rung == @rung and procedure == 'initial'")["accuracy"]


def _cpu_records(folder: Path) -> tuple[dict[str, record.Record], list[str]]:
    out, notes = {}, []
    for name in ("paper", "authors"):
        file = folder / f"{name}-profile.json"
        if file.is_file():
            out[name] = record.read_record(file)
        else:
            notes.append(f"no CPU record of the {name} profile yet ({file.name}): its rows are left out")
    return out, notes


M2M_COLUMNS = {"seeds": "GPU seeds", "mean": "GPU mean", "sd": "GPU SD", "min": "GPU min", "max": "GPU max",
               "cpu": "CPU, one run", "where": "CPU against the GPU seeds"}


def machine_to_machine(lad: ladder_record.LadderRecord, folder: Path | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Each profile's one CPU run beside its GPU seeds (initial test, pooled and fold-mean
    cross-validation), and a note per profile with no CPU record (its rows left out)."""
    gpu_cv = ladder_tables.cv_table(lad)
    records, notes = _cpu_records(folder or project_root() / "records")
    rows = []

    def beside(protocol: str, measure: str, gpu: pd.Series, cpu: float) -> None:
        rows.append({"protocol": protocol, "measure": measure, "seeds": len(gpu), "mean": gpu.mean(),
                     "sd": gpu.std(ddof=1), "min": gpu.min(), "max": gpu.max(), "cpu": cpu,
                     "where": wording.position(cpu, gpu)})

    for name, rec in records.items():
        s, g_cv = rec.summary(), gpu_cv.query("rung == @name")
        if s["initial"] is not None:
            beside(name, "initial procedure, test accuracy", _gpu_initial(lad, name), 100 * s["initial"]["accuracy"])
        if s["cv"] is not None and len(rec.folds) == rec.meta["settings"]["folds"]:
            beside(name, "cross-validation, pooled accuracy", g_cv["pooled accuracy"], 100 * s["cv"]["accuracy"])
            fold_acc = [100 * float((f.y_prob.argmax(1) == f.y_true).mean()) for f in rec.folds]
            beside(name, "cross-validation, mean of the folds", g_cv["mean of folds"], float(np.mean(fold_acc)))
    table = pd.DataFrame(rows, columns=["protocol", "measure", *M2M_COLUMNS]).set_index(["protocol", "measure"])
    return table.rename(columns=M2M_COLUMNS), notes


def _where(value: float, seeds: pd.Series) -> str:
    gap = max(seeds.min() - value, value - seeds.max(), 0)
    return wording.beside_seeds(value, seeds) + (f", {gap:.1f} points beyond the nearest seed" if gap else "")


def machine_to_machine_values(lad: ladder_record.LadderRecord, folder: Path | None = None) -> dict:
    """The prose's numbers for the CPU record against the GPU seeds, the paper profile's settings,
    and a sentence on the authors' profile (its CPU run, or that it has none)."""
    folder = folder or project_root() / "records"
    cpu = record.read_record(folder / "paper-profile.json")
    cpu_sum = cpu.summary()
    p_init = _gpu_initial(lad, "paper")
    p_cv = ladder_tables.cv_table(lad).query("rung == 'paper'")["pooled accuracy"]
    paper = get_profile("paper")
    values = {"cpu_ext": extensions(cpu.meta["machine"]["vector_extensions"]), "gpu_device": lad.machine["device"],
              "m2m_init": f"{100 * cpu_sum['initial']['accuracy']:.1f}%",
              "m2m_init_where": _where(100 * cpu_sum["initial"]["accuracy"], p_init),
              "m2m_init_sd": f"{p_init.std(ddof=1):.1f}",
              "m2m_cv": f"{100 * cpu_sum['cv']['accuracy']:.1f}%",
              "m2m_cv_where": _where(100 * cpu_sum["cv"]["accuracy"], p_cv),
              "paper_settings": f"{paper.image_size}x{paper.image_size} pixels, batch {paper.batch_size}, "
                                f"{paper.epochs} epochs"}
    authors_file = folder / "authors-profile.json"
    arec = record.read_record(authors_file) if authors_file.is_file() else None
    if arec is not None and arec.initial is not None:
        a_acc = 100 * arec.summary()["initial"]["accuracy"]
        values["m2m_authors"] = (
            f"The authors' profile was trained once on the CPU too ({authors_file.name}, commit "
            f"{arec.meta['commit']}, on the current host with "
            f"{extensions(arec.meta['machine']['vector_extensions'])}): "
            f"{a_acc:.1f}% on the initial test set, {_where(a_acc, _gpu_initial(lad, 'authors'))}.")
    else:
        values["m2m_authors"] = ("The authors' profile has no CPU record yet (xraylib record --profile authors "
                                 "adds its row).")
    return values
