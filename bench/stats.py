"""Small statistics the suites share."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile: the smallest value at or above p% of the values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of y over x."""
    if len(points) < 2:
        return math.nan
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
