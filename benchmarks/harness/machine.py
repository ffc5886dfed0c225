"""What a run's numbers depend on: the machine (CPU, BLAS, threads), the
load other processes put on it, and its read bandwidth.

The CPU, thread and BLAS lines are the ones ``descend bench`` prints."""
from __future__ import annotations

import contextlib
import datetime
import gc
import os
import platform
import time

import numpy as np

import descend
from descend.cli._machine import blas_description, cpu_model, openmp_threads, usable_cpus

from .timing import best_time

__all__ = ["OtherLoad", "blas_description", "blas_threads", "cpu_model",
           "machine_description", "measure_read_bandwidth", "openmp_threads",
           "try_import_torch", "usable_cpus"]


def blas_threads(n):
    """Context limiting BLAS to n threads (a no-op without threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def try_import_torch():
    try:
        import torch
    except Exception:
        return None
    return torch


def _busy_ticks():
    """Machine-wide busy CPU ticks (USER_HZ) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    return sum(fields[:3]) + sum(fields[5:8])


class OtherLoad:
    """The CPU time other processes used from the moment this is made."""

    def __init__(self):
        self.ticks, self.times, self.start = _busy_ticks(), os.times(), time.perf_counter()

    def describe(self):
        """'N cores on average over the S s run (...)', or None where
        /proc/stat cannot be read."""
        ticks, times, wall = _busy_ticks(), os.times(), time.perf_counter() - self.start
        if self.ticks is None or ticks is None:
            return None
        own = (times.user + times.system) - (self.times.user + self.times.system)
        other = max(0.0, (ticks - self.ticks) / os.sysconf("SC_CLK_TCK") - own)
        return (f"{other / wall:.2f} cores on average over the {wall:.0f} s run "
                f"(machine-wide /proc/stat minus this process)")


def machine_description(threads, torch=None):
    """What the run's numbers depend on: CPU, versions, BLAS, threads, load."""
    import sklearn

    return {
        "CPU": f"{cpu_model()} ({os.cpu_count()} logical CPUs, {usable_cpus()} usable)",
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__ if torch is not None else "not installed",
        "descend": descend.__version__,
        "BLAS (threadpoolctl)": blas_description(),
        "Threads used": f"{threads} (descend n_jobs, BLAS, torch.set_num_threads)",
        "OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE":
            f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')} / "
            f"{os.environ.get('OPENBLAS_L2_SIZE', 'unset')}",
        "Load average before the run": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "Date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def measure_read_bandwidth(n_bytes, repeats):
    """(bytes, GB/s) of numpy.dot(a, a) over a float64 array of n_bytes
    (bytes read once per call / best time)."""
    a = np.ones(n_bytes // 8)
    a.dot(a)  # fault the pages in, warm the BLAS threads
    seconds = best_time(lambda: np.dot(a, a), repeats)
    nbytes = a.nbytes
    del a
    gc.collect()
    return nbytes, nbytes / seconds / 1e9
