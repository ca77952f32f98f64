"""The logistic regression the fitted models share (covered-or-not, same subject), in numpy.

Classes weighted to balance, an L2 penalty on standardised weights, and projected gradient descent
that keeps each weight on the side its sign allows (+1: may only help, -1: may only hurt, 0: free),
so that a feature cannot learn an accident of the tune cases against its meaning.
"""

from __future__ import annotations

import numpy as np

STEPS, RATE = 3000, 0.1


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales (1 where a column is constant)."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    return mean, np.where(scale > 1e-9, scale, 1.0)


def fit(x: np.ndarray, y: np.ndarray, signs: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Weights and bias over standardised `x` for labels `y` (0/1)."""
    w, b = np.zeros(x.shape[1]), 0.0
    weight = np.where(y == 1, len(y) / (2 * max(y.sum(), 1)), len(y) / (2 * max((1 - y).sum(), 1)))
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = weight * (p - y)
        w -= RATE * (x.T @ g / len(y) + l2 * w / len(y))
        w = np.where(signs * w < 0, 0.0, w)
        b -= RATE * g.mean()
    return w, b


def probabilities(x: np.ndarray, w: np.ndarray, b: float, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The model's probability for each row of raw (unstandardised) `x`."""
    return 1 / (1 + np.exp(-(((x - mean) / scale) @ w + b)))


def stored(features: tuple[str, ...], w: np.ndarray, mean: np.ndarray, scale: np.ndarray,
           b: float | None = None) -> dict:
    """A fitted linear model's fields as its JSON keeps them (6 decimals), by feature name."""
    out: dict = {"features": list(features), "weights": {f: round(float(v), 6) for f, v in zip(features, w)}}
    if b is not None:
        out["bias"] = round(float(b), 6)
    out["mean"] = {f: round(float(v), 6) for f, v in zip(features, mean)}
    out["scale"] = {f: round(float(v), 6) for f, v in zip(features, scale)}
    return out
