"""Compiled epoch kernels (private).

The dense kernels are compiled twice from one source: ``_dense`` for
baseline x86-64 (or any other CPU) and, on x86-64, ``_dense_avx2`` with
AVX2+FMA.  ``dense`` is the build this CPU runs; DESCEND_KERNELS=baseline
forces the portable one (e.g. to compare, or to rule it out when debugging).
"""
import os

from . import _dense, _runtime

ISA = "baseline"
dense = _dense
if os.environ.get("DESCEND_KERNELS", "auto") != "baseline" and _runtime.cpu_has_avx2_fma():
    try:
        from . import _dense_avx2
    except ImportError:  # built without the variant (non-x86 or old compiler)
        pass
    else:
        dense, ISA = _dense_avx2, "avx2"

__all__ = ["ISA", "dense"]
