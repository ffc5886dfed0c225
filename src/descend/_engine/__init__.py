"""Compiled epoch kernels (private).

``_kernels.pyx`` is compiled twice: ``_kernels`` for baseline x86-64 (or
any other CPU) and, on x86-64, ``_kernels_avx2`` with AVX2+FMA.
``kernels`` is the build this CPU runs; DESCEND_KERNELS=baseline forces the
portable one (to compare, or to rule it out when debugging).  ``_codes``
holds the codes shared with the C headers and the typed kernel
configuration.
"""
import os

from . import _kernels, _runtime

ISA = "baseline"
kernels = _kernels
if os.environ.get("DESCEND_KERNELS", "auto") != "baseline" and _runtime.cpu_has_avx2_fma():
    try:
        from . import _kernels_avx2
    except ImportError:  # built without the variant (non-x86 or old compiler)
        pass
    else:
        kernels, ISA = _kernels_avx2, "avx2"

__all__ = ["ISA", "kernels"]
