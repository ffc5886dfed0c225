"""Early stopping on a held-out validation set, keeping the best epoch.

A mini-batch logistic regression on the digits data with a deliberately
large constant step, so that its validation accuracy is noisy from epoch
to epoch. ``early_stopping=True`` holds out ``validation_fraction`` of the
training rows (stratified by class) and stops once the validation accuracy
has not improved for ``n_iter_no_change`` epochs; ``keep_best=True``
reports the coefficients of the best epoch instead of the last ones. The
score of each epoch is in ``history_["validation_score"]``.

    python examples/early_stopping.py
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from descend import LogisticRegression

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

common = dict(batch_size=16, eta0=0.5, alpha=1e-4, max_iter=200, early_stopping=True,
              validation_fraction=0.2, n_iter_no_change=8, random_state=0)
last = LogisticRegression(keep_best=False, **common).fit(X_train, y_train)
best = LogisticRegression(keep_best=True, **common).fit(X_train, y_train)

scores = last.history_["validation_score"]  # the same fit: same seed, same split
best_epoch = int(np.argmax(scores)) + 1
print("validation accuracy per epoch:", " ".join(f"{v:.3f}" for v in scores))
print(f"stopped after {last.n_iter_} epochs (stop_reason "
      f"{last.history_.stop_reason!r}): no improvement for "
      f"{common['n_iter_no_change']} epochs after epoch {best_epoch}")
print(f"keep_best=False reports epoch {last.n_iter_} (validation {scores[-1]:.3f}): "
      f"test accuracy {last.score(X_test, y_test):.3f}")
print(f"keep_best=True  reports epoch {best_epoch} (validation {scores.max():.3f}): "
      f"test accuracy {best.score(X_test, y_test):.3f}")
print(f"the two models disagree on {np.sum(last.predict(X_test) != best.predict(X_test))} "
      f"of {len(X_test)} test rows")
