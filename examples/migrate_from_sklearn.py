"""Moving from scikit-learn to descend: the same models, side by side.

Fits scikit-learn's Ridge, LogisticRegression, SGDClassifier and
SGDRegressor and their descend counterparts on bundled data sets (diabetes,
breast cancer: no download), with the parameter mapping of
docs/migration.md, prints how far apart they are, and fails (exit status 1)
if any pair disagrees beyond its tolerance:

- Ridge(alpha=a)                   -> LinearRegression(alpha=a / n_samples)
- Ridge on a 2-D target            -> LinearRegression on the same 2-D target
- LogisticRegression(C=C)          -> LogisticRegression(alpha=1 / (C * n_samples))
- SGDClassifier / SGDRegressor     -> the same class and parameters (stochastic:
                                      compared by their scores, not coefficients)

    python examples/migrate_from_sklearn.py
"""
import sys

import numpy as np
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

import descend

failures = []


def report(name, difference, tolerance, what):
    agree = difference <= tolerance
    print(f"{name:38s} {what} differ by {difference:.2e} (tolerance {tolerance:.0e}): "
          f"{'agree' if agree else 'DISAGREE'}")
    if not agree:
        failures.append(name)


# regression: diabetes, standardised
X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)
n = X.shape[0]

ridge = sk.Ridge(alpha=1.0).fit(X, y)
ours = descend.LinearRegression(alpha=1.0 / n, tol=1e-10).fit(X, y)
report("Ridge -> LinearRegression", np.abs(ours.coef_ - ridge.coef_).max()
       / np.abs(ridge.coef_).max(), 1e-6, "coefficients (relative)")

Y = np.column_stack([y, np.log(y)])  # two targets at once, as Ridge fits them
ridge2 = sk.Ridge(alpha=1.0).fit(X, Y)
ours2 = descend.LinearRegression(alpha=1.0 / n, tol=1e-10).fit(X, Y)
report("Ridge (2 targets) -> LinearRegression", np.abs(ours2.predict(X)
       - ridge2.predict(X)).max() / np.abs(Y).max(), 1e-6, "predictions (relative)")

sgd_reg = sk.SGDRegressor(random_state=0).fit(X, y)
our_sgd_reg = descend.SGDRegressor(random_state=0).fit(X, y)
report("SGDRegressor -> SGDRegressor", abs(our_sgd_reg.score(X, y) - sgd_reg.score(X, y)),
       0.02, "R^2")

# classification: breast cancer, standardised
X, y = load_breast_cancer(return_X_y=True)
X = StandardScaler().fit_transform(X)
n = X.shape[0]

logistic = sk.LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(X, y)
ours = descend.LogisticRegression(alpha=1.0 / (1.0 * n), tol=1e-10).fit(X, y)
report("LogisticRegression(C) -> alpha", np.abs(ours.predict_proba(X)
       - logistic.predict_proba(X)).max(), 1e-5, "probabilities")

sgd = sk.SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
our_sgd = descend.SGDClassifier(loss="log_loss", random_state=0).fit(X, y)
report("SGDClassifier -> SGDClassifier", abs(our_sgd.score(X, y) - sgd.score(X, y)),
       0.02, "accuracy")
report("SGDClassifier predictions", float(np.mean(our_sgd.predict(X) != sgd.predict(X))),
       0.05, "labels (fraction)")

if failures:
    print(f"disagreement: {', '.join(failures)}")
    sys.exit(1)
print("descend and scikit-learn agree on every model")
