"""How ``descend train`` runs a fit: warnings become one-line notes, a fit
that diverged or blew up is a CLIError (no garbage model is saved), and
the per-epoch line format, for fits whose own lines would interleave."""
from __future__ import annotations

import sys
import warnings

import numpy as np

from ._args import CLIError

#: what to do when the 'optimal' schedule (the SGD models' default) blows up
OPTIMAL_STEPS = ("--learning-rate optimal ignores --eta0 (its steps are "
                 "1/(alpha*(t0+t))): for smaller steps use --learning-rate invscaling "
                 "or constant with a small --eta0")
#: a finite objective this many times above the all-zero model's is a blow-up
BLOW_UP = 1e10


def fit(model, X, y, progress):
    """model.fit(X, y), then close the progress bar; ConvergenceWarnings
    are printed as one line each."""
    from .. import DivergenceError

    with warnings.catch_warnings(record=True) as caught:
        try:
            model.fit(X, y)
        except DivergenceError as exc:
            message = " ".join(str(exc).split())
            if model.learning_rate == "optimal":
                message += f" Note: {OPTIMAL_STEPS}."
            raise CLIError(message) from None
        finally:
            if progress is not None:
                progress.close()
    _check_blow_up(model, y)
    for warning in caught:
        print(f"descend train: warning: {' '.join(str(warning.message).split())}",
              file=sys.stderr)


def _step_fix(model):
    if model.learning_rate == "optimal":
        return f"the steps are too large; {OPTIMAL_STEPS}"
    return f"the step size {model.eta0_:.3g} is too large; lower --eta0 (or leave it 'auto')"


def _zero_model_bound(model, y):
    """An upper bound of the all-zero model's objective (where every fit
    starts) under any of descend's losses: at most 1 per binary problem, or
    log(classes), for classification; at most 1 + mean(y^2) for regression."""
    from sklearn.base import is_classifier

    if is_classifier(model):
        return float(len(model.classes_))
    y = np.asarray(y, dtype=np.float64)
    return 1.0 + float(np.mean(y * y))


def _check_blow_up(model, y):
    """The SGD estimators keep scikit-learn's semantics and return a fit
    whose objective blew up to a huge finite value; for the command that
    is a divergence.  A fit that certified its start records no epoch:
    nothing blew up."""
    objective = model.history_["objective"]
    if not len(objective):
        return
    final = float(objective[-1])
    bound = _zero_model_bound(model, y)
    if np.isfinite(final) and final > BLOW_UP * bound:
        raise CLIError(f"the fit diverged: its objective ended at {final:.3g}, more than "
                       f"{BLOW_UP:.0e} times the all-zero model's (at most {bound:.3g}); "
                       f"{_step_fix(model)}")


def warn_if_grew(model):
    """A fit whose objective ended above where it started (not one that
    started at zero loss: the perceptron's, at w = 0)."""
    objective = model.history_["objective"]
    if len(objective) > 1 and objective[-1] > objective[0] > 0:
        print(f"descend train: warning: the objective grew from {objective[0]:.6g} to "
              f"{objective[-1]:.6g}: {_step_fix(model)}", file=sys.stderr)


def format_record(record):
    """One history record as a line, in the format of the estimators'
    ``verbose=1`` lines."""
    line = (f"epoch {record['epoch']:5d}  objective {record['objective']:.8f}  "
            f"lr {record['learning_rate']:.4g}")
    if np.isfinite(record["grad_norm"]):
        line += f"  grad_norm {record['grad_norm']:.3e}"
    if np.isfinite(record["validation_score"]):
        line += f"  validation {record['validation_score']:.5f}"
    return line + f"  seconds {record['seconds']:.3f}"
