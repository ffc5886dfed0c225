"""scikit-learn's own estimator checks, and use inside its tools."""
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from descend import LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor

ALL = (LinearRegression, LogisticRegression, SGDClassifier, SGDRegressor)


def expected_failed_checks(estimator):
    """The checks SGD estimators fail by design, with why."""
    if not isinstance(estimator, (SGDClassifier, SGDRegressor)):
        return {}
    failures = {
        "check_sample_weight_equivalence_on_dense_data":
            "per-sample SGD visits a repeated row twice, in shuffled order; a weight "
            "of 2 is one larger step (scikit-learn's SGD fails this check too)",
        "check_sample_weight_equivalence_on_sparse_data":
            "as on dense data",
    }
    return failures


@parametrize_with_checks([cls() for cls in ALL], expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    # the checks use unscaled toy data and default max_iter: an unconverged
    # fit is expected there and not what they test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_pipeline_grid_search_and_clone():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    search = GridSearchCV(pipe, {"logisticregression__alpha": [1e-1, 1e-3],
                                 "logisticregression__batch_size": [None, 32]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.95
    assert search.best_estimator_.score(X, y) > 0.95
    model = LogisticRegression(alpha=0.5, batch_size=8)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    assert not hasattr(copy, "coef_")
    model.set_params(alpha=0.1)
    assert model.alpha == 0.1


def test_docstrings_document_every_parameter():
    import inspect
    import re

    for cls in ALL:
        documented = set(re.findall(r"^    (\w+) : ", cls.__doc__, flags=re.M))
        params = set(inspect.signature(cls).parameters)
        assert params <= documented, params - documented
        for method in ("fit", "predict"):
            doc = getattr(cls, method).__doc__
            for name in inspect.signature(getattr(cls, method)).parameters:
                if name != "self":
                    assert re.search(rf"^\s+{name} : ", doc, flags=re.M), (cls, method, name)
    # the table and the documentation agree on every default
    for cls in ALL:
        for name, param in inspect.signature(cls).parameters.items():
            shown = f'"{param.default}"' if isinstance(param.default, str) else repr(param.default)
            header = re.search(rf"^    {name} : .*, default=(.*)$", cls.__doc__, flags=re.M)
            assert header and header.group(1) == shown, (cls, name)
