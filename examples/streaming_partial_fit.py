"""Online learning with partial_fit: the digits data streamed in chunks.

The training rows arrive in chunks of 100 (as from a file or a queue too
big to hold at once); each ``partial_fit`` call runs one pass over its
chunk, continuing the coefficients, the optimizer state and the history.
``classes`` must list every label on the first call. After each pass over
the stream the held-out accuracy is printed, then compared with a plain
``fit`` on all rows.

    python examples/streaming_partial_fit.py
"""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from descend import LogisticRegression

CHUNK = 100
X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel intensities 0..16 -> 0..1, known without seeing the data
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0)


def chunks(X, y, size, seed):
    """The stream: rows in a random order, ``size`` at a time."""
    order = np.random.default_rng(seed).permutation(len(X))
    for start in range(0, len(X), size):
        rows = order[start:start + size]
        yield X[rows], y[rows]


model = LogisticRegression(batch_size=10, optimizer="adam", eta0=0.01, random_state=0)
classes = np.unique(y)  # every label the stream can contain
calls = 0
for n_pass in range(1, 6):
    for X_chunk, y_chunk in chunks(X_train, y_train, CHUNK, seed=n_pass):
        model.partial_fit(X_chunk, y_chunk, classes=classes)
        calls += 1
    print(f"pass {n_pass}: {calls:>3} partial_fit calls, "
          f"{model.t_ - 1:>5} updates, held-out accuracy "
          f"{model.score(X_test, y_test):.3f}")

full = LogisticRegression(batch_size=10, optimizer="adam", eta0=0.01,
                          random_state=0).fit(X_train, y_train)
print(f"fit on all rows at once ({full.n_iter_} epochs): held-out accuracy "
      f"{full.score(X_test, y_test):.3f}")
