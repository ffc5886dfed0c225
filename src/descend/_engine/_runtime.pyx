"""Run-time facts the Python layer needs: OpenMP threads, CPU features."""
cimport openmp


cdef extern from "descend/cpu.h" nogil:
    int descend_cpu_has_avx2_fma()


def max_threads():
    """``omp_get_max_threads()``: honours OMP_NUM_THREADS and threadpoolctl."""
    return openmp.omp_get_max_threads()


def cpu_has_avx2_fma():
    """Whether this CPU (and OS) runs the AVX2+FMA build of the kernels."""
    return bool(descend_cpu_has_avx2_fma())
