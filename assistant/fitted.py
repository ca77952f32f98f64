"""A fitted logistic model as the product reads it: weights over standardised features, and a bias.

The covered-or-not model (`assistant.covered`) and the draft check's same-subject model
(`assistant.check.subject`) are both this, with their own operating points; they are fitted by
eval/logistic.py and stored as JSON beside their modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_LIMIT = 30.0  # exp() of a larger score overflows nothing but says nothing more either


@dataclass
class LogisticModel:
    weights: dict[str, float]
    bias: float
    mean: dict[str, float]
    scale: dict[str, float]

    def probability(self, x: dict[str, float]) -> float:
        z = self.bias + sum(w * (x[k] - self.mean[k]) / self.scale[k] for k, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-max(-Z_LIMIT, min(Z_LIMIT, z))))
