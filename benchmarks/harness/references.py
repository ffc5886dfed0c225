"""The problem's training in other tools, timed: a NumPy full-batch
epoch, scikit-learn's SGDClassifier, a PyTorch mini-batch loop and a pure
Python per-sample loop. Each uses the same step sizes and penalty as the
descend fits of dense.py."""
from __future__ import annotations

import math
import random
import time
import warnings

import numpy as np
from scipy.special import expit

from .machine import blas_threads
from .problem import ALPHA, ETA_FULL, ETA_MINI, ETA_SAMPLE, MINI_BATCH
from .timing import best_time


def numpy_full_batch(X, y, epochs, threads):
    """Gradient descent epochs in NumPy; returns (best epoch time, w, b)."""
    n, p = X.shape
    w = np.zeros(p)
    b = 0.0
    times = []
    with blas_threads(threads):
        for _ in range(epochs):
            start = time.perf_counter()
            z = X @ w + b
            r = expit(z) - y
            g = X.T @ r / n + ALPHA * w
            gb = r.mean()
            w -= ETA_FULL * g
            b -= ETA_FULL * gb
            times.append(time.perf_counter() - start)
    return min(times), w, b


def sklearn_sgd(X, y, repeats):
    """(best seconds, fitted model) of scikit-learn's SGDClassifier fit for
    one epoch with the problem's constant step."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    def fit():
        clf = SGDClassifier(loss="log_loss", alpha=ALPHA, max_iter=1, tol=None,
                            learning_rate="constant", eta0=ETA_SAMPLE,
                            shuffle=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        return clf

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        clf = fit()
        times.append(time.perf_counter() - start)
    return min(times), clf


def torch_minibatch(torch, X, y, rows, threads, repeats):
    """Seconds of one shuffled mini-batch SGD epoch over the first ``rows``
    rows with torch.optim.SGD (best of ``repeats``); returns (seconds, last
    loss)."""
    torch.set_num_threads(threads)
    Xt = torch.from_numpy(X[:rows])          # no copy; float64 like descend
    yt = torch.from_numpy(y[:rows])
    p = X.shape[1]
    gen = torch.Generator().manual_seed(0)
    best = math.inf
    last = math.nan
    for rep in range(repeats + 1):           # the first run is a warm-up
        torch.manual_seed(0)
        model = torch.nn.Linear(p, 1, dtype=torch.float64)
        torch.nn.init.zeros_(model.weight)
        torch.nn.init.zeros_(model.bias)
        # L2 on the weights only: descend never penalises the intercept
        opt = torch.optim.SGD([
            {"params": [model.weight], "weight_decay": ALPHA},
            {"params": [model.bias], "weight_decay": 0.0},
        ], lr=ETA_MINI)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        n_rows = rows if rep else min(rows, 20 * MINI_BATCH)
        start = time.perf_counter()
        perm = torch.randperm(n_rows, generator=gen)
        for s in range(0, n_rows, MINI_BATCH):
            idx = perm[s:s + MINI_BATCH]
            xb = Xt.index_select(0, idx)
            yb = yt.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb).squeeze(1), yb)
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        if rep:
            best = min(best, seconds)
            last = float(loss.detach())
    return best, last


def python_per_sample(X, y, rows, repeats):
    """Seconds of one shuffled per-sample SGD epoch over ``rows`` rows in
    plain Python (lists, floats, math.exp)."""
    X_list = X[:rows].tolist()
    y_list = y[:rows].tolist()
    p = len(X_list[0])

    def epoch():
        w = [0.0] * p
        b = 0.0
        decay = 1.0 - ETA_SAMPLE * ALPHA
        order = list(range(rows))
        random.Random(0).shuffle(order)
        for i in order:
            x = X_list[i]
            z = b
            for xj, wj in zip(x, w):
                z += xj * wj
            if z >= 0.0:
                sig = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                sig = e / (1.0 + e)
            step = ETA_SAMPLE * (sig - y_list[i])
            w = [decay * wj - step * xj for wj, xj in zip(w, x)]
            b -= step
        return w, b

    return best_time(epoch, repeats)
