"""Reproduce and test Ahmed et al. (2020): data, model, training, evaluation, saliency."""
__version__ = "0.1.0"
