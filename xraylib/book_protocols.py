"""The protocols every summary page shows, with this build's own runs among them.

Why apart from xraylib.protocols: building a Study's runs needs the Keras backend; reading the
committed records (xraylib.protocols) does not.
"""
from __future__ import annotations

from . import baseline, protocols, record
from .study import Study


def for_book(study=None) -> tuple[dict[str, protocols.Protocol], record.Record]:
    """What every summary page shows: the two records, the quick preview (its pinned runs), this
    build's own runs when it built another profile, and the thumbnail baseline on the same splits.
    `study`: the book's Study (default: the profile $XRAYLIB_PROFILE names, on the default data)."""

    def one(s):
        return record.from_runs(s.profile.name, s.initial_run(), s.cross_validate().runs)

    built = study if isinstance(study, Study) else Study(study)
    out = protocols.recorded(one(built if built.profile.name == "quick" else Study("quick", built.data)))
    if built.profile.name != "quick":
        out["built"] = protocols.Protocol("built", f"this build ({built.profile.name} profile)", one(built),
                                          "TensorFlow, this machine", None, built.profile.name, "")
    thumbs = baseline.thumbnail_record(built.comp, built.initial_split, built.folds)
    return out, thumbs


def initial_runs(study=None) -> tuple:
    """What the Training chapter shows: this build's initial run, and the two records with the quick
    preview's initial run (its pinned run) and, when the build used another profile, this build's."""
    built = study if isinstance(study, Study) else Study(study)
    run = built.initial_run()
    quick = run if built.profile.name == "quick" else Study("quick", built.data).initial_run()
    out = protocols.recorded(record.from_runs("quick", quick, []))
    if built.profile.name != "quick":
        out["built"] = protocols.Protocol("built", f"this build ({built.profile.name} profile)",
                                          record.from_runs(built.profile.name, run, []), "this machine", None, "", "")
    return run, out
