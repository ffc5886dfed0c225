"""The lines that describe a machine in ``descend bench`` (and in the
repository's benchmarks/harness): CPU, usable cores, OpenMP threads, BLAS."""
from __future__ import annotations

import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f
                     if line.startswith("model name")]
        if names:
            return names[0]
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def openmp_threads():
    """The threads descend's kernels use with n_jobs=None: what OpenMP
    offers (OMP_NUM_THREADS, threadpoolctl limits), else the usable CPUs."""
    from threadpoolctl import threadpool_info

    counts = [info["num_threads"] for info in threadpool_info()
              if info.get("user_api") == "openmp"]
    return max(counts) if counts else usable_cpus()


def blas_description():
    from threadpoolctl import threadpool_info

    blas = [f"{info.get('prefix')} {info.get('version')} ({info.get('architecture', '?')}, "
            f"{info.get('num_threads')} threads)"
            for info in threadpool_info() if info.get("user_api") == "blas"]
    return "; ".join(blas) or "none found by threadpoolctl"
