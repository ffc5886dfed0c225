"""Type aliases of the public API (one home for all estimators)."""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

#: the dtypes the kernels train in (X's, when it is one of them)
FLOAT_DTYPES = (np.float64, np.float32)
#: X: an array-like, a pandas/polars DataFrame, or a scipy.sparse matrix/array
MatrixLike = Any
#: None, an int, or a numpy RandomState/Generator
RandomState = Any

__all__ = ["ArrayLike", "FLOAT_DTYPES", "MatrixLike", "RandomState"]
