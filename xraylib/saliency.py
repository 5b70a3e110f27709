"""Saliency maps (the paper's Figures 7-9), other attribution methods, and tests of the maps.

The paper showed vanilla-gradient maps ("all the positive values in the gradients"). Chapter 7
recomputes them, adds SmoothGrad, Integrated Gradients and Grad-CAM, checks them with the
model-randomisation test of Adebayo et al. (2018) and measures how much saliency falls on the
lungs versus the image border and corners (where text, markers and scanner edges sit).

Conventions: `x` is float32 (N, H, W, 3) in [0, 1]; `class_idx` is an int array (N,) or None for
the predicted class; every map is float32 (N, H, W) with the three channels summed, because they
are copies of one grey image (the sum is the derivative with respect to the grey value).
"""
from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import ConstantInputWarning, spearmanr

from . import regions
from .backend import class_logit_gradients, keras, to_numpy
from .config import CLASS_NAMES, CLASSES

SMOOTHGRAD_NOISE = 0.15
"""SmoothGrad noise std as a fraction of each image's value range (Smilkov et al. 2017: 10-20%)."""
SMOOTHGRAD_SAMPLES = 16
IG_STEPS = 32
BATCH = 32
"""Images per forward/backward pass: bounds memory at 200 px, whatever N is."""

def logit_model(model: keras.Model) -> keras.Model:
    """The model from its input to the `predictions` layer (pre-softmax scores).

    Saliency differentiates the logit, not the probability: the softmax gradient of one class
    also depends on the other classes' scores (a pixel can raise p(covid) by lowering another
    class) and it vanishes when the network is confident (p near 1 saturates), as Simonyan et al.
    (2014) argue. Chapter 7.
    """
    lmodel = _LOGIT_MODELS.get(model)
    if lmodel is None:  # one per model, so its traced gradient (backend) is reused across calls
        lmodel = _LOGIT_MODELS[model] = keras.Model(model.input, model.get_layer("predictions").output,
                                                    name=f"{model.name}_logits")
    return lmodel


_LOGIT_MODELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Each model's logit model; it holds the model's layers, not the model, so the entry goes with it."""


def _check_images(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"x has shape {x.shape}: expected a batch of images (N, H, W, C); "
                         f"use x[None] for a single image")
    return x


def _logits(lmodel: keras.Model, x: np.ndarray) -> np.ndarray:
    """Logits in batches, inference mode (batch normalisation statistics, no dropout)."""
    out = [to_numpy(lmodel(x[i:i + BATCH], training=False)) for i in range(0, len(x), BATCH)]
    return np.concatenate(out) if out else np.zeros((0, lmodel.output.shape[-1]), np.float32)


def _classes(lmodel: keras.Model, x: np.ndarray, class_idx) -> np.ndarray:
    """The requested classes as an int array (N,), or the predicted ones when None."""
    if class_idx is None:
        return _logits(lmodel, x).argmax(1)
    idx = np.asarray(class_idx, dtype=np.int64)
    if idx.ndim == 0:
        idx = np.full(len(x), int(idx))
    if idx.shape != (len(x),):
        raise ValueError(f"class_idx has shape {idx.shape}: expected one class per image, "
                         f"({len(x)},), or None for the predicted classes")
    n_classes = lmodel.output.shape[-1]
    if len(idx) and (idx.min() < 0 or idx.max() >= n_classes):
        raise ValueError(f"class_idx {idx.tolist()} out of range: the model has {n_classes} "
                         f"classes (0..{n_classes - 1})")
    return idx


def _gradients(lmodel: keras.Model, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """d logit[idx[i]] / d x[i] for every image, (N, H, W, C), computed in batches."""
    # Images do not interact in inference mode, so the gradient of the sum is per image.
    grads = [class_logit_gradients(lmodel, x[i:i + BATCH], idx[i:i + BATCH]) for i in range(0, len(x), BATCH)]
    return np.concatenate(grads) if grads else np.zeros_like(x)


def _summed_gradients(lmodel: keras.Model, x: np.ndarray, idx: np.ndarray, copies: int,
                      make: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Per image, the sum of gradients over `copies` variants make(images, copy numbers) of it.

    The N * copies variants are made and differentiated BATCH at a time, so a few images with
    many noise samples or path steps still fill each pass, and memory stays bounded.
    """
    total = np.zeros(x.shape, np.float64)
    flat = np.arange(len(x) * copies)
    for start in range(0, len(flat), BATCH):
        image, copy = np.divmod(flat[start:start + BATCH], copies)
        batch = make(image, copy).astype(np.float32)
        grads = _gradients(lmodel, batch, idx[image])
        for i in np.unique(image):
            total[i] += grads[image == i].sum(axis=0)
    return total


def vanilla_gradients(model: keras.Model, x: np.ndarray, class_idx=None) -> np.ndarray:
    """The paper's maps: d logit / d input, channels summed, positive part (Figures 7-9)."""
    x = _check_images(x)
    lmodel = logit_model(model)
    grads = _gradients(lmodel, x, _classes(lmodel, x, class_idx)).sum(-1)
    return np.maximum(grads, 0).astype(np.float32)


def smoothgrad(model: keras.Model, x: np.ndarray, class_idx=None, noise: float = SMOOTHGRAD_NOISE,
               samples: int = SMOOTHGRAD_SAMPLES, seed: int = 0) -> np.ndarray:
    """Vanilla gradients averaged over noisy copies (Smilkov et al. 2017), which removes the
    pixel-scale speckle of single gradients; positive part, as the paper's maps. Chapter 7.

    Noise is Gaussian with std `noise` x (max - min) of each image, not clipped to [0, 1].
    """
    x = _check_images(x)
    lmodel = logit_model(model)
    idx = _classes(lmodel, x, class_idx)  # the class of the clean image, fixed for every copy
    spread = (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3))) * noise
    rng = np.random.default_rng(seed)

    def noisy(image: np.ndarray, _copy: np.ndarray) -> np.ndarray:
        draw = rng.normal(size=(len(image),) + x.shape[1:])
        return x[image] + draw * spread[image, None, None, None]

    total = _summed_gradients(lmodel, x, idx, samples, noisy).sum(-1)
    return np.maximum(total / samples, 0).astype(np.float32)


def integrated_gradients(model: keras.Model, x: np.ndarray, class_idx=None, steps: int = IG_STEPS,
                         baseline=None) -> np.ndarray:
    """Integrated Gradients (Sundararajan et al. 2017) from a black image, signed, channels summed.

    `baseline` (None = zeros, black) may be any array broadcastable to x. The path integral is
    the midpoint rule over `steps` intervals. Attributions keep their sign (negative = the pixel,
    relative to the baseline, lowers the class score) and add up to logit(x) - logit(baseline)
    per image (completeness), which tests check. Chapter 7.
    """
    x = _check_images(x)
    base = np.zeros_like(x) if baseline is None else np.broadcast_to(
        np.asarray(baseline, np.float32), x.shape)
    lmodel = logit_model(model)
    idx = _classes(lmodel, x, class_idx)
    alphas = (np.arange(steps) + 0.5) / steps

    def on_path(image: np.ndarray, step: np.ndarray) -> np.ndarray:
        a = alphas[step][:, None, None, None]
        return base[image] + a * (x[image] - base[image])

    total = _summed_gradients(lmodel, x, idx, steps, on_path)
    return ((x - base) * total / steps).sum(-1).astype(np.float32)


def last_conv_layer(model: keras.Model) -> str:
    """Name of the model's last convolution: Grad-CAM's default layer (conv5 in the paper net)."""
    convs = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        raise ValueError(f"model {model.name!r} has no Conv2D layer for Grad-CAM: pass layer=...")
    return convs[-1]


def grad_cam(model: keras.Model, x: np.ndarray, class_idx=None, layer: str | None = None
             ) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) on a convolution layer (default the last one: conv5),
    resized to the input, in [0, 1].

    Channel weights are the spatial mean of d logit / d activation; the map is the ReLU of the
    weighted channel sum, bilinearly resized to (H, W) and divided by its per-image maximum (an
    all-zero map stays zero). The map is only as fine as the layer: in the paper's network conv5
    is 8x8 at 200 px input and 2x2 at 96 px (the quick profile), so use an earlier layer
    (conv3/conv4) when finer maps are wanted. Chapter 7.
    """
    x = _check_images(x)
    lmodel = logit_model(model)
    idx = _classes(lmodel, x, class_idx)
    layer = layer or last_conv_layer(model)
    acts_model = keras.Model(model.input, model.get_layer(layer).output)
    head = keras.Model(model.get_layer(layer).output, lmodel.output)
    cams = []
    for i in range(0, len(x), BATCH):
        acts = to_numpy(acts_model(x[i:i + BATCH], training=False))
        grads = class_logit_gradients(head, acts, idx[i:i + BATCH])
        weights = grads.mean(axis=(1, 2), keepdims=True)
        cam = np.maximum((weights * acts).sum(axis=-1, keepdims=True), 0)
        cams.append(to_numpy(keras.ops.image.resize(cam, x.shape[1:3], interpolation="bilinear"))[..., 0])
    cam = np.concatenate(cams) if cams else np.zeros(x.shape[:3], np.float32)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0).astype(np.float32)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "vanilla": vanilla_gradients, "smoothgrad": smoothgrad,
    "integrated_gradients": integrated_gradients, "gradcam": grad_cam}


METHOD_NAMES = {"vanilla": "vanilla gradient", "smoothgrad": "SmoothGrad",
                "integrated_gradients": "Integrated Gradients", "gradcam": "Grad-CAM"}
"""How a reader sees each method's name."""

SANITY_LIMIT = 0.5
"""A method passes the randomisation test when, with every layer re-initialised, the absolute rank
correlation of its maps with the trained network's stays below this: an inverted copy of a map is
not an independent map, so the sign does not count."""


def compute(method: str, model: keras.Model, x: np.ndarray, class_idx=None, **options
            ) -> np.ndarray:
    """Maps of one method by name, with its defaults unless `options` (e.g. steps=64) say
    otherwise (chapter 7 loops over METHODS)."""
    if method not in METHODS:
        raise ValueError(f"unknown saliency method {method!r}: choose one of {', '.join(METHODS)}")
    return METHODS[method](model, x, class_idx, **options)


def _weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Layers with a kernel (convolutions, dense), top first; batch normalisation is not listed."""
    return [layer for layer in reversed(model.layers) if getattr(layer, "kernel", None) is not None]


def _fresh_kernel(layer: keras.layers.Layer, seed: int) -> np.ndarray:
    """A new kernel from the layer's own initializer, seeded; a seedless (constant) initializer
    is replaced by a normal of the trained kernel's scale."""
    shape = tuple(layer.kernel.shape)
    init = layer.kernel_initializer
    config = init.get_config()
    if "seed" in config:
        fresh = type(init).from_config({**config, "seed": seed})
        return keras.ops.convert_to_numpy(fresh(shape, dtype="float32"))
    scale = float(np.std(to_numpy(layer.kernel))) or 0.05
    return np.random.default_rng(seed).normal(0, scale, shape).astype(np.float32)


def randomized_copies(model: keras.Model, seed: int = 0) -> Iterator[tuple[str, keras.Model]]:
    """Cascading model randomisation (Adebayo et al. 2018): copies with the top 1, 2, ... layers
    re-initialised, yielded as (name of the last layer randomised, copy). Chapter 7.

    Order: predictions, dense, conv5, ..., conv1 (every layer with a kernel, top down). Kernels are
    redrawn from the layer's own initializer (Glorot uniform here, seeded), biases set to zero.
    Batch normalisation layers keep their trained statistics: they rescale channels but carry no
    spatial pattern, and Adebayo et al. randomise the weight layers. Each copy is independent
    (keras.models.clone_model + set_weights); the original model is never modified.
    """
    layers = _weighted_layers(model)
    weights = model.get_weights()
    fresh: dict[str, np.ndarray] = {}
    for step, layer in enumerate(layers):
        fresh[layer.name] = _fresh_kernel(layer, seed + step)
        copy = keras.models.clone_model(model)
        copy.set_weights(weights)
        for name, kernel in fresh.items():
            target = copy.get_layer(name)
            target.kernel.assign(kernel)
            if getattr(target, "bias", None) is not None:
                target.bias.assign(np.zeros(tuple(target.bias.shape), np.float32))
        yield layer.name, copy


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation per image between two map batches (N,), on absolute values.

    Absolute values make signed Integrated Gradients comparable (a strong negative attribution
    is as salient as a strong positive one, as in Adebayo et al.); for the non-negative maps of
    the other methods they change nothing. A constant map (e.g. an all-zero Grad-CAM) has no
    ranks: its correlation is NaN. Chapter 7.
    """
    a, b = np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(b, np.float64))
    if a.shape != b.shape:
        raise ValueError(f"map batches differ in shape: {a.shape} vs {b.shape}")
    out = np.full(len(a), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        for i in range(len(a)):
            out[i] = spearmanr(a[i].ravel(), b[i].ravel()).statistic
    return out


def sanity_check(model: keras.Model, x: np.ndarray, class_idx=None, methods=tuple(METHODS),
                 seed: int = 0) -> pd.DataFrame:
    """Rank correlation of each method's maps between the trained model and its cascading
    randomisations: maps that stay similar do not depend on what the network learned. Chapter 7.

    Columns: method, layers_randomized (0 = the trained model), layer (the last layer
    randomised), spearman (mean over images, ignoring NaN) and n_undefined (images whose map
    was constant, so had no correlation). The class is fixed to the trained model's prediction.
    """
    x = _check_images(x)
    idx = _classes(logit_model(model), x, class_idx)
    originals = {m: compute(m, model, x, idx) for m in methods}
    rows: dict[str, list[dict]] = {m: [] for m in methods}

    def add(method, k, layer, rho):
        rows[method].append({"method": method, "layers_randomized": k, "layer": layer,
                             "spearman": float(np.nanmean(rho)) if np.isfinite(rho).any()
                             else np.nan, "n_undefined": int(np.isnan(rho).sum())})

    for m in methods:
        add(m, 0, "none", rank_correlation(originals[m], originals[m]))
    for k, (layer, copy) in enumerate(randomized_copies(model, seed), 1):
        for m in methods:
            add(m, k, layer, rank_correlation(originals[m], compute(m, copy, x, idx)))
    return pd.DataFrame([row for m in methods for row in rows[m]])


def region_shares(maps: np.ndarray) -> pd.DataFrame:
    """Per image, the share of total absolute saliency in the lung box, the border frame and the
    corners (xraylib.regions), beside each region's area fraction (what a uniform map would give).

    A map concentrated on the lungs has lung_share well above lung_area; border or corner shares
    above their areas point at labels, markers or film edges. Regions may overlap (corners lie in
    the frame), so shares need not add to 1. An all-zero map has NaN shares.
    """
    maps = np.abs(np.asarray(maps, np.float64))
    if maps.ndim != 3:
        raise ValueError(f"maps has shape {maps.shape}: expected (N, H, W)")
    masks = regions.masks(maps.shape[1:])
    total = maps.sum(axis=(1, 2))
    safe = np.where(total > 0, total, np.nan)
    table = pd.DataFrame({"image": np.arange(len(maps))})
    for name, mask in masks.items():
        table[f"{name}_share"] = maps[:, mask].sum(axis=1) / safe
    for name, mask in masks.items():
        table[f"{name}_area"] = float(mask.mean())
    return table


def overlay(gray: np.ndarray, saliency_map: np.ndarray, cmap: str = "inferno",
            alpha: float = 0.5) -> np.ndarray:
    """An RGB uint8 image: the map (absolute value, scaled to its maximum) in a colormap, blended
    with the grey X-ray (uint8 0-255 or float 0-1, (H, W) or (H, W, 3)), for chapter 7's figures."""
    import matplotlib

    gray = np.asarray(gray)
    gray = gray / 255.0 if np.issubdtype(gray.dtype, np.integer) else gray.astype(np.float64)
    if gray.ndim == 3:
        gray = gray[..., 0]
    heat = np.abs(np.asarray(saliency_map, np.float64))
    if heat.shape != gray.shape:
        raise ValueError(f"map shape {heat.shape} differs from image shape {gray.shape}")
    peak = heat.max()
    heat = heat / peak if peak > 0 else heat
    colored = matplotlib.colormaps[cmap](heat)[..., :3]
    rgb = (1 - alpha) * np.repeat(gray[..., None], 3, axis=-1) + alpha * colored
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


REGION_COLUMNS = {"lung_share": "lung box (%)", "border_share": "border (%)", "corner_share": "corners (%)"}


def region_table(model: keras.Model, x: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray,
                 images: int = 60) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Where each method puts its weight, per true class, on about `images` test images (every
    n-th), beside a map spread evenly; the regions' bounds and shares the prose quotes; and the
    per-image shares behind them (for share_summary)."""
    sub = np.arange(0, len(x), max(1, len(x) // images))
    parts = []
    for name in METHODS:
        shares = region_shares(compute(name, model, x[sub], y_pred[sub]))
        shares["class"] = [CLASS_NAMES[CLASSES[k]] for k in y_true[sub]]
        shares["method"] = METHOD_NAMES[name]
        parts.append(shares)
    shares = pd.concat(parts)
    area = region_shares(np.ones((1,) + x.shape[1:3], np.float32)).iloc[0]
    table = (100 * shares.groupby(["method", "class"], sort=False)[list(REGION_COLUMNS)].mean()).round(1)
    table.loc[("a map spread evenly", ""), :] = [round(100 * area[f"{r}_area"], 1)
                                                 for r in ("lung", "border", "corner")]
    mean = lambda method, col: f"{100 * shares[shares['method'] == METHOD_NAMES[method]][col].mean():.0f}%"  # noqa: E731
    t, b, left, right = regions.LUNG_BOX
    values = {"box_rows": f"{100 * t:.0f}-{100 * b:.0f}%", "box_cols": f"{100 * left:.0f}-{100 * right:.0f}%",
              "border_pct": f"{100 * regions.BORDER:.0f}%", "lung_area": f"{100 * area['lung_area']:.0f}%",
              "vanilla_lung": mean("vanilla", "lung_share"), "vanilla_border": mean("vanilla", "border_share"),
              "border_area": f"{100 * area['border_area']:.0f}%", "cam_lung": mean("gradcam", "lung_share")}
    return values, table.rename(columns=REGION_COLUMNS), shares
def share_summary(shares: pd.DataFrame, by: list[str], region: str = "lung") -> pd.DataFrame:
    """Per group, the maps counted, the all-zero maps among them, and the mean share of one region
    over the maps that have any mass. An all-zero map (Grad-CAM's when no cell of the last
    convolution supports the class) has no share of anything: it is left out of every mean and
    counted here, so a mean over groups is the mean weighted by the maps with mass."""
    column = f"{region}_share"
    if column not in shares:
        raise KeyError(f"no column '{column}' in the shares table: expected region_shares() output")
    empty = shares[column].isna()
    out = shares.assign(empty=empty).groupby(by, sort=False).agg(
        maps=(column, "size"), all_zero=("empty", "sum"), share=(column, "mean"))
    out["maps with mass"] = out["maps"] - out["all_zero"]
    return out.rename(columns={"all_zero": "all-zero maps", "share": f"mean {region} share"})


# --- What chapter Saliency shows, as values and tables ------------------------------------------


@dataclass
class Examples:
    """The films chapter Saliency draws (Figures 7-9 and beyond): per class two right and one wrong
    prediction of the examined network, every method's map of the predicted class, their titles."""

    picked: np.ndarray  # positions in the test set
    gray: np.ndarray  # (n, H, W) uint8
    maps: dict[str, np.ndarray]  # method -> (n, H, W)
    titles: list[str]
    y_true: np.ndarray
    y_pred: np.ndarray  # the class every map explains

    def of_class(self, label: str) -> np.ndarray:
        """Positions of the films whose true class is `label`."""
        return np.flatnonzero(self.y_true == CLASSES.index(label))


def examples(model: keras.Model, gray: np.ndarray, x: np.ndarray, y_true: np.ndarray,
             y_prob: np.ndarray, methods=tuple(METHODS)) -> Examples:
    """Every method's maps for the examples metrics.pick_examples chooses from a test set."""
    from .metrics import pick_examples

    y_pred = y_prob.argmax(1)
    picked = np.asarray(pick_examples(y_true, y_pred, correct=2, wrong=1), int)
    titles = [f"true {CLASS_NAMES[CLASSES[t]]}\npredicted {CLASS_NAMES[CLASSES[p]]} ({q:.2f})"
              for t, p, q in zip(y_true[picked], y_pred[picked], y_prob[picked].max(1))]
    maps = {m: compute(m, model, x[picked], y_pred[picked]) for m in methods}
    return Examples(picked, np.asarray(gray)[picked], maps, titles, np.asarray(y_true)[picked],
                    y_pred[picked])


def method_values(model: keras.Model) -> dict[str, str]:
    """The methods' settings the chapter quotes: SmoothGrad's samples and noise, Integrated
    Gradients' steps and the Grad-CAM grid (the last convolution's output size)."""
    grid = model.get_layer(last_conv_layer(model)).output.shape[1:3]
    return {"sg_n": str(SMOOTHGRAD_SAMPLES), "sg_noise": f"{SMOOTHGRAD_NOISE:.0%}",
            "ig_steps": str(IG_STEPS), "cam_size": "x".join(str(d) for d in grid)}


def sanity_verdicts(sanity: pd.DataFrame) -> tuple[dict[str, str], pd.DataFrame]:
    """Which methods pass the randomisation test (|rank correlation| with every layer randomised
    below SANITY_LIMIT): the glued names and the final correlation per method."""
    final = sanity.groupby("method", sort=False)["spearman"].last()
    passed = [METHOD_NAMES[m] for m, r in final.items() if abs(r) < SANITY_LIMIT]
    failed = [METHOD_NAMES[m] for m, r in final.items() if abs(r) >= SANITY_LIMIT]
    values = {"sanity_limit": f"{SANITY_LIMIT:g}", "sanity_pass": ", ".join(passed) or "none",
              "sanity_fail": ", ".join(failed) or "none"}
    if "integrated_gradients" in final:
        values["ig_final"] = f"{final['integrated_gradients']:.2f}"
    table = final.rename(index=METHOD_NAMES).round(3).to_frame("Spearman with every layer randomised")
    return values, table


def empty_maps(shares: pd.DataFrame) -> tuple[dict[str, str], pd.DataFrame]:
    """Grad-CAM's all-zero maps (no share of anything, left out of every mean): how many, the
    maps with mass per class and their mean lung share; and the count per method."""
    summary = share_summary(shares, ["method"])
    cam = summary.loc[METHOD_NAMES["gradcam"]]
    by_class = share_summary(shares[shares["method"] == METHOD_NAMES["gradcam"]], ["class"])
    values = {"cam_empty": f"{int(cam['all-zero maps'])} of {int(cam['maps'])}",
              "cam_counted": str(int(cam["maps with mass"])),
              "cam_by_class": "; ".join(f"{c}: {int(r['maps with mass'])} maps, "
                                        f"{100 * r['mean lung share']:.1f}%" for c, r in by_class.iterrows())}
    return values, summary[["maps", "all-zero maps", "maps with mass"]].rename_axis(None)
