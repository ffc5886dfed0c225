"""The rules descend trains with, one row each: losses, optimizers, schedules.

The math of each rule is one C function in ``csrc/descend/`` (``loss.h``,
``optim.h``, ``schedule.h``) with one row in ``codes.h``, which gives it its
code; a rule's code here is read from the compiled headers
(``descend._engine._codes``), never written by hand.  What Python needs to
know about a rule (its public name, curvature bound, whether it gives
probabilities, its default step, its documentation line) is its row below.
Parameter constraints, docstrings, the command line's choices and the
estimators' name maps read these tables.  docs/architecture.md walks
through adding a loss and an optimizer.
"""
from __future__ import annotations

from dataclasses import dataclass

from ._engine import _codes


@dataclass(frozen=True)
class Loss:
    """A loss of one sample with margin z."""

    name: str
    #: its C function: descend_loss_<kernel> in loss.h
    kernel: str
    #: upper bound of d^2 loss / dz^2, the loss part of the gradient's
    #: Lipschitz constant; for losses that are not smooth (hinge,
    #: perceptron, epsilon-insensitive) the scale eta0="auto" uses
    curvature: float
    #: real-valued targets (R^2 validation score, unstratified split)
    regression: bool
    #: predict_proba is available
    proba: bool
    doc: str
    #: c with |loss'''| <= c loss'' everywhere (loss'' is loss.h's
    #: descend_loss_curvature): Newton's method and the curvature
    #: certificate apply (_newton.py); None: no second derivative
    concordance: float | None = None

    @property
    def code(self) -> int:
        return _codes.LOSS_NAMES.index(self.kernel)


@dataclass(frozen=True)
class Optimizer:
    """An update rule of the coefficients."""

    name: str
    #: its C function: descend_opt_<kernel> in optim.h; None for the
    #: full-batch methods run in Python over kernel passes (_fullbatch.py)
    kernel: str | None
    #: eta0="auto": a fixed default step (PyTorch's), or None to derive it
    #: from the Lipschitz constant of the gradient
    auto_eta: float | None
    #: eta0="auto" multiplies the derived step by (1 - momentum)
    momentum_scaled: bool
    doc: str

    @property
    def code(self) -> int:
        return 0 if self.kernel is None else _codes.OPTIMIZER_NAMES.index(self.kernel)


@dataclass(frozen=True)
class Schedule:
    """A step-size schedule over updates t and epochs e."""

    name: str
    #: its C function: descend_eta_<kernel> in schedule.h; None for rules
    #: run in Python around the kernels
    kernel: str | None
    doc: str

    @property
    def code(self) -> int:
        return 0 if self.kernel is None else _codes.SCHEDULE_NAMES.index(self.kernel)


def _table(*rows):
    return {row.name: row for row in rows}


LOSSES = _table(
    Loss("squared_error", "squared", 1.0, True, False,
         "(z - y)^2 / 2 (least squares)", concordance=0.0),
    Loss("log_loss", "log", 0.25, False, True,
         "log(1 + exp(-y z)) (logistic regression)", concordance=1.0),
    Loss("multinomial", "multinomial", 0.5, False, True,
         "cross-entropy of the softmax of K margins (Bohning's curvature bound 1/2)"),
    Loss("hinge", "hinge", 1.0, False, False, "max(0, 1 - y z) (a linear SVM)"),
    Loss("perceptron", "perceptron", 1.0, False, False, "max(0, -y z)"),
    Loss("squared_hinge", "squared_hinge", 2.0, False, False, "max(0, 1 - y z)^2"),
    Loss("modified_huber", "modified_huber", 2.0, False, True,
         "(1 - y z)^2 for y z >= -1, else -4 y z; 0 from y z >= 1"),
    Loss("huber", "huber", 1.0, True, False,
         "squared within epsilon, linear beyond (robust to outliers)"),
    Loss("epsilon_insensitive", "epsilon_insensitive", 1.0, True, False,
         "max(0, |z - y| - epsilon) (a linear SVR)"),
    Loss("squared_epsilon_insensitive", "squared_epsilon_insensitive", 2.0, True, False,
         "max(0, |z - y| - epsilon)^2"),
)

OPTIMIZERS = _table(
    Optimizer("auto", None, None, False,
              "when no step size is asked for (eta0 and learning_rate at their "
              "defaults): for batch_size=None newton where it applies and its Hessian "
              "is cheap beside a pass, else lbfgs; saga for batch_size=1 where it "
              "applies; else sgd"),
    Optimizer("lbfgs", None, None, False,
              "L-BFGS (OWL-QN with an L1 penalty) over exact full passes, in "
              "standardised coordinates, with a backtracking line search (batch_size=None)"),
    Optimizer("newton", None, None, False,
              "Newton's method with a Hessian from a subset of rows and a backtracking "
              "line search over exact full passes; certifies with the curvature bound "
              "(batch_size=None; dense X, log or squared loss, L2 or no penalty, at most "
              "256 coefficients)"),
    Optimizer("agd", None, None, False,
              "accelerated proximal gradient with backtracking and adaptive restart "
              "(batch_size=None)"),
    Optimizer("sgd", "sgd", None, False, "w -= eta*g"),
    Optimizer("momentum", "momentum", None, True,
              "buf = momentum*buf + g (buf = g at the first step), w -= eta*buf"),
    Optimizer("nesterov", "nesterov", None, True, "w -= eta*(g + momentum*buf)"),
    Optimizer("adagrad", "adagrad", 0.01, False, "S += g^2, w -= eta*g/(sqrt(S) + eps)"),
    Optimizer("rmsprop", "rmsprop", 0.01, False,
              "V = rho*V + (1-rho)*g^2, w -= eta*g/(sqrt(V) + eps)"),
    Optimizer("adam", "adam", 0.001, False, "bias-corrected moments (beta_1, beta_2, eps)"),
    Optimizer("adamw", "adamw", 0.001, False,
              "Adam with decoupled weight decay (w *= 1 - eta*l2 before the step)"),
    Optimizer("saga", "saga", None, False,
              "SAGA (Defazio et al. 2014; batch_size=1): the step of row i is along its "
              "gradient now minus the one stored at its last visit plus the mean of the "
              "stored ones, a variance-reduced estimate that converges linearly with a "
              "constant step (eta0='auto': 1/(3 L_max)); lazy O(nnz) updates on CSR"),
)

SCHEDULES = _table(
    Schedule("constant", "constant", "eta0"),
    Schedule("invscaling", "invscaling", "eta0 / t**power_t"),
    Schedule("optimal", "optimal",
             "scikit-learn's 1 / (alpha * (t0 + t - 1)) (needs alpha > 0)"),
    Schedule("adaptive", "adaptive",
             "scikit-learn's: eta0, divided by 5 each time n_iter_no_change epochs pass "
             "without improvement, stopping below 1e-6"),
    Schedule("exponential", "exponential", "eta0 * decay_rate**(e-1)"),
    Schedule("step", "step", "eta0 * decay_rate**((e-1) // decay_steps)"),
    Schedule("cosine", "cosine", "eta0 * (1 + cos(pi * (e-1) / max_iter)) / 2"),
    Schedule("line_search", None,
             "batch_size=None only: backtracking (Armijo) on the full objective, trying "
             "1.25x the last accepted step each epoch and halving until sufficient "
             "decrease"),
)


def loss_by_code(code: int) -> Loss:
    """The row of a loss code."""
    kernel = _codes.LOSS_NAMES[code]
    return next(row for row in LOSSES.values() if row.kernel == kernel)
