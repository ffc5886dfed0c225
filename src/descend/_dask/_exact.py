"""Mode "exact": data-parallel full batch.

The in-memory default, unchanged: ``_fullbatch.Objective`` in standardised
coordinates, driven by ``_fullbatch.minimize`` (Newton's method, L-BFGS /
OWL-QN, AGD, or the line search) and stopped by ``_fullbatch.converged``.
The only difference is where a pass runs: the Objective's ``sums(W, b)``
is a round on the cluster, in which every chunk runs descend's fused
certificate kernel where it lives and the Sums are tree-reduced on the
workers.  Only the coefficients (out) and the Sums, O(K p) (back), travel.
The result is the in-memory fit's, certificate included, up to the
rounding of the order in which the chunks' sums are added.

Newton's method (``ClusterCurvature``): the same round also returns the
Gram matrix of the Hessian's rows at the trial point (every stride-th row
of each chunk, the in-memory sub-sample's size), O(d^2) back, so an
iteration is one round, as an L-BFGS iteration is, and takes far fewer of
them.  The curvature bound that certifies its last points (tighter than
the duality gap) takes a maximum over the same rows: a round of its own,
run only when the bound could certify.
"""
from __future__ import annotations

import numpy as np

from .. import _fullbatch, _newton
from .._fitstate import Scaling
from .._rules import loss_by_code
from .._solver import PRECONDITIONED, Result
from ._chunks import certificate_pass, newton_pass, row_quadratic_max
from ._record import PASS, Monitor
from ._rounds import STOPS, stop_reason


def scaling_of(moments, n_features, enabled=True):
    """A Scaling (means and 1/std of the features) from merged Moments;
    the identity when not ``enabled``."""
    scaling = Scaling(np.empty((0, n_features)), None, None, False)
    if enabled:
        sigma = np.sqrt(moments.m2 / moments.weight)
        scaling.mu, scaling.sigma = moments.mean.copy(), sigma
        # Scaling's own rule for constant columns: left unscaled
        scaling.inv_sigma = np.where(sigma > 0, 1.0 / np.where(sigma > 0, sigma, 1.0), 1.0)
    return scaling


def objective(session, index, settings, loss, n_outputs, n_features, moments, recorder,
              precondition, at_zero=None, newton=None):
    """The Objective of problem ``index`` over the cluster's chunks.  z is
    standardised as in memory: by the problem's own scaling with
    scale_features, else by a preconditioner (or not at all).  ``at_zero``:
    the Sums of a pass at the all-zero model already made (used once).
    ``newton``: a one-item list a ClusterCurvature puts itself in, after
    which every pass is its round (the pass and the Gram matrix at once)."""
    if settings.scale_features or not precondition:
        std = scaling_of(moments, n_features, settings.scale_features)
    else:
        std = _fullbatch.preconditioner(scaling_of(moments, n_features), settings,
                                        loss_by_code(loss).curvature)

    prefetched = [at_zero]
    curvature = newton if newton is not None else [None]

    def sums(W, b):
        if prefetched[0] is not None and not (W.any() or b.any()):
            total, prefetched[0] = prefetched[0], None
            return total
        if curvature[0] is not None:
            return curvature[0].pass_and_gram(W, b)
        total, stats = session.round(certificate_pass, index=index, coefficients=(W, b))
        recorder.round(stats, PASS)
        return total

    return _fullbatch.Objective(settings, n_outputs, n_features, moments.weight, std, sums)


class ClusterCurvature(_newton.Curvature):
    """Newton's Hessian (``_newton.Curvature``: the direction and the
    certified test are its own) from the chunks' Gram matrices, each
    computed in the round of the pass at the same point."""

    def __init__(self, obj, session, index, loss, moments, recorder, slot):
        self._model(obj, loss)
        self.stride = max(1, moments.rows // _newton.hessian_rows(moments.rows, self.d))
        self.scale = 1.0
        self.session, self.index, self.recorder, self.std = session, index, recorder, obj.std
        self._last = None  # (z, A, scale) of the last round's Gram matrix
        slot[0] = self  # the Objective's passes bring back the Gram matrix from now on

    def _round(self, W, b, z, with_pass):
        total, stats = self.session.round(
            newton_pass, index=self.index, coefficients=(W, b),
            design=(z, self.mu, self.inv_sigma, self.intercept), stride=self.stride,
            with_pass=with_pass)
        self.recorder.round(stats, PASS)
        A = total.gram / self.total
        self._last = (z, A, self.total / max(total.weight, 1e-300))
        return total.sums

    def pass_and_gram(self, W, b):
        """The Objective's pass at the raw (W, b), the Gram matrix at the
        same point kept for ``at``."""
        u, c = self.std.to_scaled(W, b)
        z = np.ascontiguousarray(np.concatenate([u.ravel(), c])[:self.d], dtype=np.float64)
        return self._round(W, b, z, True)

    def at(self, z, fresh=False):
        """(A, A) at z: the Gram matrix the pass at z brought back, or a
        round for it alone (the start)."""
        zd = self._z(z)
        # (the pass's point comes back through the raw model: equal to
        # rounding, which does not matter to a Hessian)
        if self._last is None or not np.allclose(self._last[0], zd, rtol=1e-12, atol=1e-300):
            W, b = self.std.to_raw(zd[:self.p].reshape(1, -1),
                                   zd[self.p:] if self.intercept else np.zeros(1))
            self._round(W, b, zd, False)
        _, A, self.scale = self._last
        return A, A

    def _max_norm(self, upper):
        """max over the Hessian's rows of |x_r @ upper|^2: a round (only
        when the curvature bound could certify tol: _newton.Curvature.bound)."""
        total, stats = self.session.round(
            row_quadratic_max, index=self.index,
            design=(None, self.mu, self.inv_sigma, self.intercept), stride=self.stride,
            upper=np.ascontiguousarray(upper))
        self.recorder.round(stats, PASS)
        return _newton.ROUNDING_MARGIN * total.value


def line_search_step(settings, loss, moments):
    """eta0="auto" of ``learning_rate="line_search"`` without the in-memory
    power iteration (a round per iteration here): the inverse of the
    largest diagonal entry of the gradient's Lipschitz bound, c * max_j
    E[x_j^2] + l2 (1 for the intercept; scaled features have E = 1).  It
    is at least 1/L, and the first line search halves it down to a step
    that decreases the objective."""
    c = loss_by_code(loss).curvature
    second = (np.ones_like(moments.mean) if settings.scale_features
              else moments.m2 / moments.weight + moments.mean ** 2)
    top = max(float(second.max(initial=0.0)), 1.0 if settings.fit_intercept else 0.0)
    return 1.0 / (c * top + settings.l2) if c * top + settings.l2 > 0 else 1.0


def solve(session, index, settings, method, loss, n_outputs, moments, coef, intercept,
          recorder, at_zero=None):
    """Problem ``index`` from the raw model (coef, intercept) by ``method``
    ("newton", "lbfgs", "agd" or "line_search") over exact passes on the cluster;
    returns (Result, stop reason, the exception that stopped it or None).
    An interrupt from the client or a failed round ends it with the last
    point's coefficients (reason "interrupted" or "failed").
    ``at_zero``: the Sums of the setup round's pass at the all-zero model."""
    n_features = coef.shape[1]
    newton = [None]
    obj = objective(session, index, settings, loss, n_outputs, n_features, moments,
                    recorder, method in PRECONDITIONED, at_zero, newton)
    steps = None
    fit_scaling = scaling_of(moments, n_features, settings.scale_features)
    monitor = Monitor(settings, loss, n_outputs, n_features)
    gap_rule = settings.stopping == "gap" and settings.tol is not None
    eta0 = 1.0  # as in memory: the unit step L-BFGS and AGD start from
    if method == "line_search":
        eta0 = (line_search_step(settings, loss, moments) if settings.eta0 == "auto"
                else float(settings.eta0))
    state = {"point": None, "certified": False, "passes": 0}

    def on_iteration(point, step, passes, seconds):
        state["passes"] += passes
        if not (np.isfinite(point.objective) and np.all(np.isfinite(point.z))):
            return "diverged"
        state["point"] = point
        if recorder.add(objective=point.objective, grad_norm=point.grad_norm,
                        learning_rate=step, updates=state["passes"],
                        gap=point.certificate.relative):
            return "callback"
        if gap_rule and _fullbatch.converged(obj, point, start, settings.tol):
            state["certified"] = True
            return "tol"
        if monitor.stop(point.objective):
            return "no_improvement"
        return None

    Wp, bp = (fit_scaling.to_scaled(coef, intercept) if settings.scale_features
              else (coef, intercept))
    reason, error = "tol", None
    try:
        first = obj.evaluate(obj.from_problem(Wp, bp))
        state["point"] = first
        start = float(np.linalg.norm(first.grad))
        if gap_rule and _fullbatch.converged(obj, first, start, settings.tol):
            state["certified"] = True
        else:
            if method == "newton":
                steps = _newton.newton_steps(obj, first, ClusterCurvature(
                    obj, session, index, loss, moments, recorder, newton))
            _, reason = _fullbatch.minimize(obj, first, method, settings.max_iter,
                                            on_iteration, eta0=eta0, steps=steps)
    except STOPS as exc:
        reason, error = stop_reason(exc), exc
    point = state["point"]
    if point is None:  # interrupted before the first pass completed
        W, b = np.asarray(coef, dtype=np.float64), np.asarray(intercept, dtype=np.float64)
    else:
        W, b = obj.to_problem(point.z)
        if settings.scale_features:
            W, b = fit_scaling.to_raw(W, b)
    recorder.history.stop_reason = reason
    result = Result(coef=W, intercept=b, history=recorder.history, n_iter=recorder.epoch,
                    n_updates=state["passes"], converged=state["certified"], eta0=eta0)
    return result, reason, error
