"""Mode "local_sgd": local SGD with periodic averaging.

Every round, each chunk runs ``average_every`` epochs of descend's own
solver over its rows (the estimator's optimizer, batch size, schedule and
penalty; in-memory kernels, where the chunk lives), starting from the
averaged model.  The replicas (coefficients, the running average, the
optimizer's buffers and counters) are then averaged, weighted by each
chunk's sample-weight sum, in the same tree reduction as a pass, and the
client sends the average back out: O(K p) numbers each way per chunk and
round.  With ``stopping="gap"`` one certificate pass per round (an exact
pass, as in mode "exact") measures the averaged model's objective and
duality gap; with "no_improvement" the kernels' rule runs on the chunks'
own epoch records.

Each round is a pure function of the chunk and the averaged state, so a
chunk lost with its worker is recomputed and the round repeated: no
replica state lives on the workers between rounds.  Which worker runs a
chunk changes nothing (the shuffling seed is the chunk's, not the
worker's).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .._engine import _codes
from .._fullbatch import converged
from .._problem import DivergenceError
from .._solver import Result
from ._chunks import Plan, Replica, local_epochs
from ._exact import objective, scaling_of
from ._record import LOCAL, Monitor
from ._rounds import STOPS, stop_reason

SC = _codes.Scalar


@dataclasses.dataclass
class LocalState:
    """Where local SGD stands between rounds (and partial_fit calls): the
    averaged replica, scaling and step size of each problem (a step of
    None until the first round has chosen eta0="auto"), the step the fit
    reports, epochs and rounds so far."""

    replicas: list
    scalings: list
    eta0: list
    reported_eta0: float
    n_epochs: int = 0
    n_rounds: int = 0
    #: each problem's History, continued by partial_fit
    histories: list | None = None


def start(settings, n_features, moments, coefs, intercepts):
    """The LocalState of a new fit from raw coefficients (one pair per problem)."""
    replicas, scalings = [], []
    eta0 = None if settings.eta0 == "auto" else float(settings.eta0)
    for m, W, b in zip(moments, coefs, intercepts):
        scaling = scaling_of(m, n_features, settings.scale_features)
        Wp, bp = scaling.to_scaled(W, b) if settings.scale_features else (W, b)
        k, p = Wp.shape
        state = np.zeros((_codes.StateRow.N_STATE_ROWS, k * p + k))
        scalars = np.zeros(SC.N_SCALARS)
        scalars[SC.SC_BEST] = np.inf
        scalars[SC.SC_MIN_OBJECTIVE] = np.nan  # each chunk's zero model in round 1
        scalars[SC.SC_ETA_ADAPTIVE] = np.nan if eta0 is None else eta0
        replicas.append(Replica(Wp.copy(), bp.copy(), state, scalars, Wp.copy(), bp.copy()))
        scalings.append(scaling)
    return LocalState(replicas, scalings, [eta0] * len(replicas),
                      np.nan if eta0 is None else eta0)


def run(session, settings, specs, moments, state, max_epochs, average_every, seed,
        recorders, rounds):
    """Rounds of local epochs until the stopping rule, ``max_epochs``
    epochs, the callback, an interrupt or a failed round; returns (Results,
    stop reason, the exception that stopped it or None).
    ``specs`` are (loss, n_outputs) per problem; ``rounds`` the Recorder
    that logs the local rounds (which serve every problem at once).  A
    DivergenceError carries ``results`` at the last finite average."""
    n_features = state.replicas[0].W.shape[1]
    gap_rule = settings.stopping == "gap" and settings.tol is not None
    certifiers = [objective(session, c, settings, loss, n_outputs, n_features, moments[c],
                            recorders[c], precondition=False)
                  for c, (loss, n_outputs) in enumerate(specs)] if gap_rule else None
    monitors = [Monitor(settings, loss, n_outputs, n_features,
                        np.nan if eta0 is None else eta0)
                for (loss, n_outputs), eta0 in zip(specs, state.eta0)]
    start_norms = [None] * len(specs)
    if gap_rule and settings.l1 == 0 and settings.l2 == 0:  # the gradient test's start
        start_norms = [float(np.linalg.norm(_certify(obj, rep).grad))
                       for obj, rep in zip(certifiers, state.replicas)]
    certified = [False] * len(specs)
    best = [(np.inf, None)] * len(specs)  # keep_best: (objective, replica)
    done, reason, error = 0, "max_iter", None
    try:
        while done < max_epochs:
            epochs = min(average_every, max_epochs - done)
            plan = Plan(start=state.replicas, epochs=epochs, scaling=state.scalings,
                        eta0=state.eta0, epochs_before=state.n_epochs, seed=seed,
                        round=state.n_rounds)
            try:
                total, stats = session.round(local_epochs, range(len(session.chunks)),
                                             plan=plan)
            except DivergenceError as exc:
                raise _diverged(exc, state, settings, recorders, specs) from None
            done += epochs
            state.n_epochs += epochs
            state.n_rounds += 1
            rounds.round(stats, LOCAL, epoch=state.n_epochs, problem=-1)
            stops, callback = [], False
            for c, weighted in enumerate(total):
                replica, mean_objective, learning_rate = weighted.mean()
                replica.scalars[SC.SC_MIN_OBJECTIVE] = weighted.min_objective
                if state.eta0[c] is None:  # round 1 used each chunk's own eta0="auto"
                    state.eta0[c] = weighted.eta0  # from now on the smallest of them
                    monitors[c].set_eta(weighted.eta0)
                state.replicas[c] = replica
                state.reported_eta0 = weighted.reported_eta0
                record = dict(objective=mean_objective, learning_rate=learning_rate,
                              updates=replica.scalars[SC.SC_T])
                if gap_rule:
                    point = _certify(certifiers[c], replica)
                    record.update(objective=point.objective, grad_norm=point.grad_norm,
                                  gap=point.certificate.relative)
                    certified[c] = converged(certifiers[c], point, start_norms[c],
                                             settings.tol)
                callback |= recorders[c].add(epoch=state.n_epochs, **record)
                if settings.keep_best and record["objective"] < best[c][0]:
                    best[c] = (record["objective"], replica)
                stops.append(monitors[c].stop(record["objective"]))
                # the "adaptive" schedule's step, as the rule left it
                replica.scalars[SC.SC_ETA_ADAPTIVE] = monitors[c].eta_adaptive
            if callback:
                reason = "callback"
                break
            if gap_rule and all(certified):
                reason = "tol"
                break
            if all(stops):
                reason = "no_improvement"
                break
    except STOPS as exc:
        reason, error = stop_reason(exc), exc
    for recorder in recorders:
        recorder.history.stop_reason = reason
    if settings.keep_best:  # report the best round's model (and continue from it)
        state.replicas = [kept or last for (_, kept), last in zip(best, state.replicas)]
    return results(state, settings, recorders, certified), reason, error


def _certify(obj, replica):
    """The certificate pass at a replica's reported coefficients."""
    return obj.evaluate(obj.from_problem(replica.coef, replica.intercept))


def results(state, settings, recorders, certified):
    """One Result per problem: the averaged model's reported coefficients,
    in X's space."""
    out = []
    for replica, scaling, recorder, ok in zip(state.replicas, state.scalings, recorders,
                                              certified):
        W, b = replica.coef, replica.intercept
        if settings.scale_features:
            W, b = scaling.to_raw(W, b)
        out.append(Result(coef=W, intercept=b, history=recorder.history,
                          n_iter=state.n_epochs, n_updates=int(replica.scalars[SC.SC_T]),
                          converged=ok, eta0=state.reported_eta0))
    return out


def _diverged(exc, state, settings, recorders, specs):
    """The DivergenceError of a round whose local epochs diverged on a chunk,
    carrying the results at the last finite average."""
    error = DivergenceError(
        f"Local SGD diverged in round {state.n_rounds + 1} (after {state.n_epochs} "
        f"epochs): on one chunk, {exc} The coefficients of the last average were kept.")
    for recorder in recorders:
        recorder.history.stop_reason = "diverged"
    error.results = results(state, settings, recorders, [False] * len(specs))
    return error
