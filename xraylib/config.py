"""One configuration object with named profiles, and the one place that resolves folders.

Every chapter and command reads its settings from here: one configuration object, named profiles.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

CLASSES: tuple[str, ...] = ("covid", "viral_pneumonia", "normal")
"""Label order used everywhere: model outputs, confusion matrices, tables."""

CLASS_NAMES: dict[str, str] = {"covid": "COVID-19", "viral_pneumonia": "viral pneumonia",
                               "normal": "normal"}
"""How a reader sees each label in tables and figures."""

PROFILE_ENV = "XRAYLIB_PROFILE"
DATA_ENV = "XRAYLIB_DATA"
EXTERNAL_ENV = "XRAYLIB_EXTERNAL"
CONTROLS_ENV = "XRAYLIB_CONTROLS"
ADULTS_ENV = "XRAYLIB_ADULTS"
CACHE_ENV = "XRAYLIB_CACHE"

DATA_SETS: tuple[str, ...] = ("covid-xray", "external", "adult-normals")
"""The imported data folders' names: the main set, the external-validation set, and the adult
normal films the stress test's age arm trains on (README "Data")."""

# Documented defaults (README "Data"): a `data/` folder inside the checkout (where `xraylib data
# import` writes), then the shared folder that sits beside the checkout on the project's machines.
DEFAULT_DATA_CANDIDATES = ("data/covid-xray", "../shared/data/covid-xray")
DEFAULT_EXTERNAL_CANDIDATES = ("data/external", "../shared/data/external")
DEFAULT_CONTROLS_CANDIDATES = ("data/controls", "../shared/data/controls")
DEFAULT_ADULTS_CANDIDATES = ("data/adult-normals", "../shared/data/adult-normals")


@dataclass(frozen=True)
class Augmentation:
    """ImageDataGenerator's ranges (Keras 2), the generator both the paper and the authors' code used.

    Rotation and shear are angles in degrees, each drawn uniformly from +-range; zoom draws the x and
    y scales independently from [1 - zoom, 1 + zoom]; shifts are fractions of the side; a flip is
    left-right with probability 0.5. The paper names the kinds but gives no ranges: the defaults are
    this project's assumption (shear 5.7 degrees is the 0.1 shear factor assumed earlier).
    """

    rotation_deg: float = 10.0
    shear_deg: float = 5.7
    zoom: float = 0.1
    width_shift: float = 0.1
    height_shift: float = 0.1
    horizontal_flip: bool = False


@dataclass(frozen=True)
class Profile:
    """Everything that decides a result: change a field and the run store trains anew."""

    name: str
    image_size: int
    epochs: int
    batch_size: int
    learning_rate: float = 1e-4
    lr_factor: float = 0.5
    lr_patience: int = 2
    conv_dropout: float = 0.2
    dense_dropout: float = 0.5
    bn_momentum: float = 0.99  # Keras' default, which the paper's Keras used
    folds: int = 5
    seed: int = 2020  # decides the composition, the splits and (unless train_seed) the training
    train_seed: int | None = None  # another training seed on the same data and splits (ladder)
    augmentation: Augmentation = field(default_factory=Augmentation)
    composition: tuple[tuple[str, int], ...] = (
        ("covid", 289), ("viral_pneumonia", 550), ("normal", 550))
    initial_train: tuple[tuple[str, int], ...] = (
        ("covid", 200), ("viral_pneumonia", 250), ("normal", 250))
    validation_fraction: float = 0.2
    restore_best: bool = False  # keep the epoch with the best validation accuracy, not the last
    min_lr: float = 0.0  # ReduceLROnPlateau's floor (the paper states none)
    reduce_lr: bool = True  # ReduceLROnPlateau on validation accuracy at all
    early_stopping: int = 0  # patience of EarlyStopping on validation loss, 0 = none

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line a chapter prints at its top, so the reader sees the settings it ran with."""
        a = self.augmentation
        return (f"profile '{self.name}': {self.image_size}x{self.image_size} px, "
                f"{self.epochs} epochs, batch {self.batch_size}, RMSprop lr {self.learning_rate:g}, "
                f"{self._schedule()}, "
                f"dropout {self.conv_dropout:g} (conv) / {self.dense_dropout:g} (dense), "
                f"BN momentum {self.bn_momentum:g}, "
                f"weights of the {'best-validation' if self.restore_best else 'last'} epoch, "
                f"augmentation rot {a.rotation_deg:g} deg, shear {a.shear_deg:g} deg, zoom {a.zoom:g}, "
                f"shift {a.width_shift:g}/{a.height_shift:g}{', h-flip' if a.horizontal_flip else ''}, "
                f"{self.folds} folds, seed {self.seed}"
                + (f", training seed {self.train_seed}" if self.train_seed is not None else ""))

    def _schedule(self) -> str:
        if not self.reduce_lr:
            text = "constant rate"
        else:
            text = f"ReduceLROnPlateau x{self.lr_factor:g}/patience {self.lr_patience}"
            text += f" (floor {self.min_lr:g})" if self.min_lr else ""
        if self.early_stopping:
            text += f", early stopping (patience {self.early_stopping}, validation loss)"
        return text


_AUTHORS = Profile(name="authors", image_size=200, epochs=25, batch_size=5, learning_rate=1e-3,
                   min_lr=1e-5, conv_dropout=0.25, early_stopping=10,
                   augmentation=Augmentation(rotation_deg=15.0, shear_deg=0.1, zoom=0.2,
                                             width_shift=0.1, height_shift=0.1, horizontal_flip=True))

PROFILES: dict[str, Profile] = {
    # The paper's protocol exactly (Section 3).
    "paper": Profile(name="paper", image_size=200, epochs=25, batch_size=5),
    # The protocol recovered from the authors' repository (faizancodes/COVID-19-X-Ray-Classification,
    # ../shared/paper/authors-code.md): the saved model's dropout 0.25 after each conv block; the
    # notebooks' 'rmsprop' string (Keras' default rate 1e-3), ReduceLROnPlateau with min_lr 1e-5,
    # EarlyStopping(patience=10) on validation loss, and ImageDataGenerator(rotation_range=15,
    # shear_range=0.1, zoom_range=0.2, width/height_shift_range=0.1, horizontal_flip=True).
    "authors": _AUTHORS,
    # The preview (CI, drafts, `make book`): the authors' protocol unchanged but for the input, 96 px,
    # near the smallest (94 px) that survives the five conv blocks: a fifth of the arithmetic per
    # image, so a training takes minutes on a CPU and behaves like the 200 px protocol (its seeds'
    # spread: records/quick-seeds.json, the Reproducibility page).
    "quick": dataclasses.replace(_AUTHORS, name="quick", image_size=96),
}


def get_profile(name: str | None = None) -> Profile:
    """The named profile, else $XRAYLIB_PROFILE, else 'paper'."""
    name = name or os.environ.get(PROFILE_ENV) or "paper"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}: choose one of {', '.join(PROFILES)} "
                         f"(--profile, PROFILE=... for make, or ${PROFILE_ENV})")
    return PROFILES[name]


def project_root() -> Path:
    """The checkout this package lives in (holds _toc.yml), else the current folder."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "_toc.yml").exists() else Path.cwd()


def _resolve(env: str, candidates: tuple[str, ...], what: str, explicit: str | Path | None) -> Path:
    if explicit is not None:
        tried = [Path(explicit)]
    elif os.environ.get(env):
        tried = [Path(os.environ[env])]
    else:
        tried = [project_root() / c for c in candidates]
    for path in tried:
        if path.is_dir():
            return path.resolve()
    if explicit is not None and Path(explicit).exists():
        raise NotADirectoryError(f"{what} data folder {explicit} is a file, not a folder: pass the "
                                 f"folder that holds manifest.csv or images/<label>/")
    looked = ", ".join(str(p) for p in tried)
    raise FileNotFoundError(
        f"no {what} data folder found (looked in: {looked}). Download the archives README.md "
        f"'Data' lists and run `xraylib data import ARCHIVE...` (it writes data/ in the checkout), "
        f"or set ${env}=/path/to/folder or pass --data.")


def data_dir(explicit: str | Path | None = None) -> Path:
    """The main data set folder: an explicit path, else $XRAYLIB_DATA, else the documented defaults."""
    return _resolve(DATA_ENV, DEFAULT_DATA_CANDIDATES, "main (covid-xray)", explicit)


def external_dir(explicit: str | Path | None = None) -> Path:
    """The external-validation folder: explicit, else $XRAYLIB_EXTERNAL, else the defaults."""
    return _resolve(EXTERNAL_ENV, DEFAULT_EXTERNAL_CANDIDATES, "external", explicit)


def controls_dir(explicit: str | Path | None = None) -> Path:
    """The control films (evaluation only): explicit, else $XRAYLIB_CONTROLS, else the defaults."""
    return _resolve(CONTROLS_ENV, DEFAULT_CONTROLS_CANDIDATES, "controls", explicit)


def adults_dir(explicit: str | Path | None = None) -> Path:
    """The age arm's adult normal films (xraylib.adults): explicit, else $XRAYLIB_ADULTS, else
    the defaults."""
    return _resolve(ADULTS_ENV, DEFAULT_ADULTS_CANDIDATES, "adult-normals", explicit)


def cache_dir() -> Path:
    """The one ignored folder for decoded images and stored runs ($XRAYLIB_CACHE or .cache/)."""
    path = Path(os.environ.get(CACHE_ENV) or project_root() / ".cache")
    if path.is_dir():  # nothing written when it exists: a read-only cache serves every load
        return path
    if path.exists() or path.is_symlink():
        raise NotADirectoryError(f"cache folder {path} is not a folder: point ${CACHE_ENV} at a "
                                 f"folder (it is created if missing)")
    try:
        path.mkdir(parents=True)
    except FileExistsError:  # made meanwhile by another process
        pass
    except OSError as exc:
        raise type(exc)(f"cannot create the cache folder {path} ({exc.strerror or exc}): "
                        f"point ${CACHE_ENV} at a folder you can write to") from None
    return path


ASSUMPTIONS = (
    ("dropout after each convolution block", "a common choice for small CNNs"),
    ("dropout after the dense layer", "the usual rate before a classifier head"),
    ("batch normalisation momentum", "Keras' default, which the paper's Keras used"),
    ("augmentation: rotation", "moderate; an X-ray is never upside down"),
    ("augmentation: shear, zoom", "moderate"),
    ("augmentation: width / height shift", "moderate"),
    ("augmentation: fill of new pixels", "the ImageDataGenerator default"),
    ("weights kept", "the paper mentions no checkpointing: the last epoch's weights"),
    ("input", "the first convolution has 896 = 3x3x3x32 + 32 parameters"),
)
"""The settings the paper leaves out, and why the `paper` profile assumes what it does."""


def _assumed(p: Profile) -> list[str]:
    """A profile's value of each ASSUMPTIONS setting, as the Architecture chapter's table shows it."""
    a = p.augmentation
    return [f"{p.conv_dropout:g}", f"{p.dense_dropout:g}", f"{p.bn_momentum:g}",
            f"up to {a.rotation_deg:g} degrees", f"{a.shear_deg:g} degrees, scale 1 +- {a.zoom:g}",
            f"{a.width_shift:g} / {a.height_shift:g} of the size", "nearest",
            "of the best validation epoch" if p.restore_best else "after the last epoch"]


def assumptions_table() -> tuple[dict[str, str], pd.DataFrame]:
    """The paper's unstated settings as the `paper` profile assumes them beside the authors' code's,
    and the two conv dropout rates the chapter quotes (ids -> text)."""
    paper, authors = get_profile("paper"), get_profile("authors")
    input_text = "grey image copied to 3 channels, scaled to [0, 1]"
    table = pd.DataFrame({"setting": [s for s, _ in ASSUMPTIONS],
                          "assumed for the paper's text": _assumed(paper) + [input_text],
                          "the authors' code": _assumed(authors) + ["the same"],
                          "why the assumption": [why for _, why in ASSUMPTIONS]})
    values = {"conv_dropout_ours": f"{paper.conv_dropout:g}", "conv_dropout_authors": f"{authors.conv_dropout:g}"}
    return values, table
