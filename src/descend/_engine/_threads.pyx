"""OpenMP facts the Python layer needs to resolve ``n_jobs``."""
cimport openmp


def max_threads():
    """``omp_get_max_threads()``: honours OMP_NUM_THREADS and threadpoolctl."""
    return openmp.omp_get_max_threads()
