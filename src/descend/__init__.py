"""descend: fast gradient-descent training of linear models.

Estimators are scikit-learn compatible; their epochs run in compiled,
OpenMP-parallel Cython kernels.
"""
from ._history import STOP_REASONS, History
from ._linear import LinearRegression
from ._logistic import LogisticRegression
from ._persist import load_model, save_model
from ._plotting import plot_histories
from ._problem import BlowUpWarning, DivergenceError
from ._sgd import SGDClassifier, SGDRegressor

__version__ = "0.1.0"

__all__ = ["BlowUpWarning", "DivergenceError", "History", "LinearRegression",
           "LogisticRegression", "SGDClassifier", "SGDRegressor", "STOP_REASONS",
           "__version__", "load_model", "plot_histories", "save_model"]
