"""xraylib.model_card: the card's values from a network's predictions and the stored records."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from xraylib import metrics, model_card, paper


def _run(right: int, n: int = 10):
    y = np.arange(n) % 3
    pred = np.where(np.arange(n) < right, y, (y + 1) % 3)
    return SimpleNamespace(y_true=y, y_prob=np.eye(3)[pred] * 0.9 + 0.1 / 3,
                           meta={"n_train": 7, "n_val": 2, "n_test": n})


def test_card_values_quote_the_network_the_paper_and_the_protocols_seeds():
    values = model_card.card_values(_run(8))
    assert values["card_acc"] == metrics.accuracy(np.arange(10) % 3, _run(8).y_prob).text(unit="%")
    assert values["card_acc"].startswith("80.0%")
    assert (values["card_n_train"], values["card_n_val"], values["card_n_test"]) == ("7", "2", "10")
    assert values["paper_init"] == f"{paper.INITIAL_ACCURACY:g}%"
    assert values["card_seeds"].startswith("below the range of the five GPU seeds")  # 80% < all


def test_shortcut_rows_put_the_network_first_then_blanked_then_each_cue():
    run = _run(9)
    cues = {"border only (32x32 frame)": metrics.accuracy(run.y_true, _run(6).y_prob),
            "JPEG block statistics": metrics.accuracy(run.y_true, _run(3).y_prob)}
    values, table = model_card.shortcut_rows(run, _run(4).y_prob, cues)
    assert values["card_blank"].startswith("40.0%") and values["card_jpeg"].startswith("30.0%")
    assert list(table.index) == ["this network, internal test", "this network, lung box blanked",
                                 *model_card.CUE_ROWS.values()]
    assert table.iloc[0, 0].startswith("90.0 (")
