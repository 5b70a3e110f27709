"""Every number the paper reports (Ahmed, Bukhari & Keshtkar 2020), and the authors' logged run.

One home, so chapters, tests and the CLI quote the same values: nothing here is computed.
"""
from __future__ import annotations

import pandas as pd

TABLE1 = [
    ("Conv2D", "(None, 198, 198, 32)", 896), ("Batch Normalization", "(None, 198, 198, 32)", 128),
    ("MaxPooling2D", "(None, 99, 99, 32)", 0), ("Dropout", "(None, 99, 99, 32)", 0),
    ("Conv2D", "(None, 97, 97, 64)", 18496), ("Batch Normalization", "(None, 97, 97, 64)", 256),
    ("MaxPooling2D", "(None, 48, 48, 64)", 0), ("Dropout", "(None, 48, 48, 64)", 0),
    ("Conv2D", "(None, 46, 46, 128)", 73856), ("Batch Normalization", "(None, 46, 46, 128)", 512),
    ("MaxPooling2D", "(None, 23, 23, 128)", 0), ("Dropout", "(None, 23, 23, 128)", 0),
    ("Conv2D", "(None, 21, 21, 64)", 73792), ("Batch Normalization", "(None, 21, 21, 64)", 256),
    ("MaxPooling2D", "(None, 10, 10, 64)", 0), ("Dropout", "(None, 10, 10, 64)", 0),
    ("Conv2D", "(None, 8, 8, 32)", 18464), ("Batch Normalization", "(None, 8, 8, 32)", 128),
    ("Max Pooling2D", "(None, 4, 4, 32)", 0), ("Dropout", "(None, 4, 4, 32)", 0),
    ("Flatten", "(None, 512)", 0), ("Dense", "(None, 512)", 262656),
    ("Batch Normalization", "(None, 512)", 2048), ("Dropout", "(None, 512)", 0),
    ("Predictions (Dense)", "(None, 3)", 1539),
]
"""Table 1 verbatim: layer type, output shape, parameters."""

PARAMS = 453_027
"""Parameters of the network (Section 3)."""

COMPOSITION = {"covid": 289, "viral_pneumonia": 550, "normal": 550}
"""Images per class in the whole data set (Section 2): 1,389."""

INITIAL_TRAIN_POOL = {"covid": 200, "viral_pneumonia": 250, "normal": 250}
"""The initial procedure's training pool (Section 3), split 80/20 into 560 train and 140 validation."""

INITIAL_SIZES = {"train": 560, "validation": 140}

INITIAL_TEST_STATED = {"covid": 89, "viral_pneumonia": 250, "normal": 250}
"""The initial test set as the text states it; it adds up to 589, not the 689 left over. The
authors' notebooks test on 89 / 300 / 300 = 689, the remainder of the 1,389."""

CV_SIZES = {"train": 889, "validation": 223, "test": 277}
"""Images per fold of the five-fold cross-validation (Section 3)."""

INITIAL_ACCURACY = 93.0
INITIAL_F1 = 93.0
"""The initial procedure's test accuracy and F1 (%), Section 4."""

TABLE2 = pd.DataFrame(
    {"precision": [91, 92, 94, 92, 91], "recall": [91, 88, 89, 87, 90],
     "f1": [91, 89, 91, 88, 90], "accuracy": [91.37, 89.57, 91.73, 90.29, 90.25]},
    index=[f"fold-{i}" for i in range(1, 6)])
"""Table 2 (%): macro precision, recall, F1 and accuracy of each fold."""

CV_MEAN_ACCURACY = 90.64
CV_MEAN_F1 = 89.88
"""Cross-validation means (%) as the text gives them (Sections 4 and 8)."""

CV_MEAN_F1_TABLE = 89.8
"""The same mean F1 as Table 2's 'Average' row prints it (the text says 89.88)."""

AUTHORS_LOGGED_ACCURACY = 92.74
"""Test accuracy (%) logged by the authors' notebooks (versions 6-8, a three-block variant of the
network) on the 689-image test set: 639 of 689 (../shared/paper/authors-code.md)."""

AUTHORS_LOGGED_CONFUSION = pd.DataFrame(
    [[286, 2, 12], [0, 80, 9], [24, 3, 273]],
    index=["normal", "covid", "viral_pneumonia"], columns=["normal", "covid", "viral_pneumonia"])
"""The logged run's confusion matrix (rows true, columns predicted), in the notebooks' class order."""

OTHER_SYSTEMS = (
    ("COVID-Net", "Wang et al. 2020", "COVIDx, 3 classes (normal / pneumonia / COVID-19)", 93.3),
    ("DarkCovidNet", "Ozturk et al. 2020", "3 classes, 5-fold cross-validation", 87.02),
    ("CoroNet", "Khan et al. 2020", "3 classes", 95.0),
    ("Chowdhury et al.", "Chowdhury et al. 2020", "COVID-19 Radiography Database, 3 classes", 97.9),
    ("the paper", "Ahmed et al. 2020", "1,389 images, 3 classes, 5-fold cross-validation", CV_MEAN_ACCURACY),
)
"""Published accuracies (%) of well-known COVID-19 X-ray classifiers as their authors report them:
system, source, data, accuracy. Landmarks for the Results chapter, not a league table."""
