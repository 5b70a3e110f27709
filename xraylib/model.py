"""The paper's five-block CNN (Table 1, Figure 2), its parameter table and its FLOPs."""
from __future__ import annotations

import pandas as pd

from . import paper
from .backend import BatchNormalization, keras
from .config import CLASSES, Profile

FILTERS = (32, 64, 128, 64, 32)



def build_model(profile: Profile, size: int | None = None) -> keras.Model:
    """The paper's network; the last Dense gives logits and a separate softmax layer gives
    probabilities, so saliency can read the pre-softmax score (chapter 7)."""
    size = size or profile.image_size
    inputs = keras.Input((size, size, 3), name="image")
    x = inputs
    for i, filters in enumerate(FILTERS, 1):
        x = keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = BatchNormalization(momentum=profile.bn_momentum, name=f"bn{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = keras.layers.Dropout(profile.conv_dropout, name=f"drop{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(512, activation="relu", name="dense")(x)
    x = BatchNormalization(momentum=profile.bn_momentum, name="bn_dense")(x)
    x = keras.layers.Dropout(profile.dense_dropout, name="drop_dense")(x)
    logits = keras.layers.Dense(len(CLASSES), name="predictions")(x)
    probs = keras.layers.Activation("softmax", name="softmax")(logits)
    return keras.Model(inputs, probs, name="ahmed2020_cnn")


_TYPE_NAMES = {"Conv2D": "Conv2D", "BatchNormalization": "Batch Normalization",
               "MaxPooling2D": "MaxPooling2D", "Dropout": "Dropout", "Flatten": "Flatten",
               "Dense": "Dense"}


def layer_table(model: keras.Model) -> pd.DataFrame:
    """Table 1 rebuilt from a model: one row per layer (the softmax is folded into Predictions)."""
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("InputLayer", "Activation"):
            continue
        name = "Predictions (Dense)" if layer.name == "predictions" else _TYPE_NAMES.get(kind, kind)
        shape = "(None, " + ", ".join(str(d) for d in layer.output.shape[1:]) + ")"
        rows.append({"layer": name, "output shape": shape, "parameters": layer.count_params()})
    return pd.DataFrame(rows)


def compare_table1(model: keras.Model) -> pd.DataFrame:
    """Ours beside the paper's Table 1, with a column saying whether each row matches."""
    ours = layer_table(model)
    theirs = pd.DataFrame(paper.TABLE1, columns=["paper layer", "paper shape", "paper params"])
    table = pd.concat([theirs, ours], axis=1)
    same_kind = table["paper layer"].str.replace(" ", "") == table["layer"].str.replace(" ", "")
    table["match"] = same_kind & (table["paper shape"] == table["output shape"]) & (
        table["paper params"] == table["parameters"])
    return table


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations for one forward pass (a multiply-add counts as 2)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        out = layer.output.shape[1:]
        n_out = 1
        for d in out:
            n_out *= d
        if kind == "Conv2D":
            k_h, k_w, c_in, _ = layer.kernel.shape
            total += 2 * n_out * k_h * k_w * c_in + n_out  # MACs + bias
        elif kind == "Dense":
            total += 2 * layer.kernel.shape[0] * n_out + n_out
        elif kind in ("BatchNormalization", "Activation") or kind == "MaxPooling2D":
            total += n_out * (2 if kind == "BatchNormalization" else 4 if kind == "MaxPooling2D" else 5)
        if kind == "Conv2D" or (kind == "Dense" and layer.name == "dense"):
            total += n_out  # ReLU
    return int(total)


def table1_values(model: keras.Model, table: pd.DataFrame) -> dict[str, str]:
    """What the Architecture chapter quotes of a compare_table1 table (ids -> text)."""
    return {"n_params": f"{model.count_params():,}", "n_rows_match": f"{int(table['match'].sum())} of {len(table)}"}


def cost_section(paper_net: keras.Model, quick_net: keras.Model) -> tuple[dict[str, str], str]:
    """Parameters and GFLOPs per forward pass of the paper's and the quick profile's networks: the
    values the chapter quotes (ids -> text) and one printed line per network."""
    nets = {"paper (200x200)": paper_net, "quick (96x96)": quick_net}
    lines = "\n".join(f"{name}: {net.count_params():,} parameters, "
                      f"{forward_flops(net) / 1e9:.3f} GFLOPs per forward pass" for name, net in nets.items())
    values = {"gflops_paper": f"{forward_flops(paper_net) / 1e9:.2f}",
              "gflops_quick": f"{forward_flops(quick_net) / 1e9:.2f}",
              "quick_flat": f"{quick_net.get_layer('flatten').output.shape[-1]}",
              "quick_params": f"{quick_net.count_params():,}"}
    return values, lines
