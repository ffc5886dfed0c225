"""Independent NumPy/SciPy references the tests compare descend against."""
import numpy as np
from scipy.special import logsumexp


def binary_objective(X, y, coef, intercept, alpha, sample_weight=None):
    """Mean log loss + alpha/2 ||coef||^2, written independently in NumPy."""
    z = X @ np.ravel(coef) + np.ravel(intercept)[0]
    loss = np.logaddexp(0.0, z) - y * z
    sw = np.ones(len(y)) if sample_weight is None else sample_weight
    return np.sum(sw * loss) / np.sum(sw) + 0.5 * alpha * np.sum(np.square(coef))


def multinomial_objective(X, y_index, coef, intercept, alpha):
    Z = X @ coef.T + intercept
    loss = logsumexp(Z, axis=1) - Z[np.arange(len(y_index)), y_index]
    return np.mean(loss) + 0.5 * alpha * np.sum(np.square(coef))


def squared_objective(X, y, coef, intercept, alpha):
    r = X @ coef + intercept - y
    return 0.5 * np.mean(r * r) + 0.5 * alpha * np.sum(np.square(coef))


def loss_and_derivative(loss, Z, y, epsilon=0.1):
    """Per-row loss and d loss / d z of descend's losses (written here
    independently); Z is (n, K), y as descend trains on it (0/1 for log
    loss, +-1 for the margin losses, class indices for multinomial)."""
    if loss == "multinomial":
        lse = logsumexp(Z, axis=1)
        P = np.exp(Z - lse[:, None])
        onehot = np.eye(Z.shape[1])[y.astype(int)]
        return lse - Z[np.arange(len(y)), y.astype(int)], P - onehot
    z = Z[:, 0]
    if loss == "squared_error":
        r = z - y
        return 0.5 * r * r, r[:, None]
    if loss == "log_loss":
        p = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))
        return np.logaddexp(0.0, z) - y * z, (p - y)[:, None]
    if loss == "huber":
        r = z - y
        small = np.abs(r) <= epsilon
        value = np.where(small, 0.5 * r * r, epsilon * np.abs(r) - 0.5 * epsilon ** 2)
        return value, np.where(small, r, epsilon * np.sign(r))[:, None]
    if loss == "squared_hinge":
        a = np.maximum(0.0, 1 - y * z)
        return a * a, (-2 * y * a)[:, None]
    if loss == "modified_huber":
        m = y * z
        value = np.where(m >= 1, 0.0, np.where(m >= -1, (1 - m) ** 2, -4 * m))
        d = np.where(m >= 1, 0.0, np.where(m >= -1, -2 * (1 - m) * y, -4 * y))
        return value, d[:, None]
    raise ValueError(loss)


def reference_optimum(X, y, loss, alpha, l1_ratio=0.0, fit_intercept=True,
                      sample_weight=None, n_outputs=1, epsilon=0.1):
    """The minimum of mean loss + alpha (l1_ratio |W|_1 + (1-l1_ratio)/2 |W|^2)
    by SciPy's L-BFGS-B to 1e-14 (the L1 part through W = P - N, P, N >= 0):
    an optimizer descend does not share.  Returns (objective, W, b)."""
    from scipy.optimize import minimize

    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    n, p = X.shape
    k = n_outputs
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    sw = sw / sw.sum()
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    split = l1 > 0

    def unpack(theta):
        if split:
            P, N = theta[:k * p].reshape(k, p), theta[k * p:2 * k * p].reshape(k, p)
            W, b = P - N, theta[2 * k * p:]
        else:
            W, b = theta[:k * p].reshape(k, p), theta[k * p:]
        return W, (b if fit_intercept else np.zeros(k))

    def fg(theta):
        W, b = unpack(theta)
        value, D = loss_and_derivative(loss, X @ W.T + b, y, epsilon)
        f = sw @ value + 0.5 * l2 * np.sum(W * W)
        GW = (sw[:, None] * D).T @ X + l2 * W
        gb = sw @ D if fit_intercept else np.zeros(k)
        if split:
            f += l1 * np.sum(theta[:2 * k * p])
            return f, np.concatenate([(GW + l1).ravel(), (-GW + l1).ravel(), gb])
        return f, np.concatenate([GW.ravel(), gb])

    size = (2 if split else 1) * k * p + k
    bounds = [(0, None)] * (2 * k * p) + [(None, None)] * k if split else None
    theta = np.zeros(size)
    for _ in range(3):  # restarts polish the last digits
        res = minimize(fg, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                       options=dict(maxiter=100_000, maxfun=200_000, ftol=1e-16, gtol=1e-13,
                                    maxcor=30))
        theta = res.x
    W, b = unpack(theta)
    return float(res.fun), W, b


def objective_of(X, y, loss, alpha, W, b, l1_ratio=0.0, sample_weight=None, epsilon=0.1):
    """descend's objective at (W, b), computed independently."""
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    W = np.atleast_2d(np.asarray(W, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    value, _ = loss_and_derivative(loss, X @ W.T + b, y, epsilon)
    return float(sw @ value / sw.sum() + alpha * (l1_ratio * np.abs(W).sum()
                                                 + 0.5 * (1 - l1_ratio) * np.sum(W * W)))
