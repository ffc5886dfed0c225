"""descend: fast gradient-descent training of linear models.

Estimators are scikit-learn compatible; their epochs run in compiled,
OpenMP-parallel Cython kernels.
"""
from ._history import History
from ._linear import LinearRegression
from ._logistic import LogisticRegression
from ._persist import load_model, save_model
from ._plotting import plot_histories
from ._sgd import SGDClassifier, SGDRegressor
from ._solver import DivergenceError

__version__ = "0.1.0"

__all__ = ["DivergenceError", "History", "LinearRegression", "LogisticRegression",
           "SGDClassifier", "SGDRegressor", "__version__", "load_model",
           "plot_histories", "save_model"]
