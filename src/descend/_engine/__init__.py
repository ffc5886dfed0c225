"""Compiled epoch kernels (private).

The dense and sparse kernels are compiled twice from one source each:
``_dense``/``_sparse`` for baseline x86-64 (or any other CPU) and, on
x86-64, ``_dense_avx2``/``_sparse_avx2`` with AVX2+FMA.  ``dense`` and
``sparse`` are the builds this CPU runs; DESCEND_KERNELS=baseline forces the
portable ones (e.g. to compare, or to rule them out when debugging).
"""
import os

from . import _dense, _runtime, _sparse

ISA = "baseline"
dense, sparse = _dense, _sparse
if os.environ.get("DESCEND_KERNELS", "auto") != "baseline" and _runtime.cpu_has_avx2_fma():
    try:
        from . import _dense_avx2, _sparse_avx2
    except ImportError:  # built without the variants (non-x86 or old compiler)
        pass
    else:
        dense, sparse, ISA = _dense_avx2, _sparse_avx2, "avx2"

__all__ = ["ISA", "dense", "sparse"]
