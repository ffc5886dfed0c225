"""Best-of timings, descend's per-epoch times, and how times and ratios
are printed."""
from __future__ import annotations

import math
import time

import numpy as np


def best_time(fn, repeats):
    """Smallest wall time of ``repeats`` calls of fn()."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def median_epoch(model):
    """Median per-epoch seconds of a fitted descend model (kernel time,
    from ``history_["seconds"]``)."""
    return float(np.median(np.diff(model.history_["seconds"], prepend=0.0)))


def fmt_time(seconds):
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_ratio(ratio):
    return f"{ratio:.3g}x" if ratio < 100 else f"{ratio:,.0f}x"
