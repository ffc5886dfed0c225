"""Batch, stochastic and mini-batch gradient descent on the breast-cancer data.

One logistic regression trained the three ways (``batch_size`` None, 1 and
32), each with its default step size and stopping rule: epochs until the
``tol`` rule stopped it, parameter updates, fit time, the exact training
objective at the end (log loss + alpha/2 ||coef||^2, computed here with
scikit-learn), its gap to the optimum, and the held-out accuracy. The
optimum f* comes from a tightly converged full-batch line-search fit.

    python examples/gradient_descent_kinds.py
"""
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from descend import LogisticRegression

ALPHA = 1e-3
X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

def objective(model):
    return (log_loss(y_train, model.predict_proba(X_train))
            + ALPHA / 2 * np.sum(model.coef_ ** 2))


reference = LogisticRegression(alpha=ALPHA, learning_rate="line_search", tol=1e-9,
                               max_iter=5000).fit(X_train, y_train)
f_star = objective(reference)
print(f"optimum f* = {f_star:.6f} ({reference.n_iter_} line-search epochs)\n")

KINDS = {
    "batch (batch_size=None)": None,
    "stochastic (batch_size=1)": 1,
    "mini-batch (batch_size=32)": 32,
}

print(f"{'kind':<28} {'epochs':>6} {'updates':>8} {'ms':>6} {'objective':>10} "
      f"{'gap':>8} {'accuracy':>8}")
for name, batch_size in KINDS.items():
    model = LogisticRegression(batch_size=batch_size, alpha=ALPHA, max_iter=1000,
                               random_state=0)
    model.fit(X_train, y_train)
    value = objective(model)
    last = model.history_[-1]
    print(f"{name:<28} {model.n_iter_:>6} {last['updates']:>8} "
          f"{1000 * last['seconds']:>6.1f} {value:>10.5f} {value - f_star:>8.5f} "
          f"{model.score(X_test, y_test):>8.3f}")
