"""What the estimators of ``descend.dask`` share: the Dask parameters, the
dispatch on the input's type, and the fit, partial_fit and predictions on
Dask collections.

A class of ``descend.dask`` subclasses the descend estimator of the same
name and this mixin; in-memory input goes to the parent unchanged.  The
problems a chunk of rows becomes (targets, weights, one-vs-rest) are the
parent's own (``_chunk_problems`` calls its ``_problem``/``_problems`` on
the chunk, on the worker); which loss and how many outputs they have is
read back from the chunks, never restated here.
"""
from __future__ import annotations

import dataclasses
import inspect
import numbers
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

from .. import _solver
from .._classes import check_partial_fit_classes, partial_fit_labels
from .._params import store_parameters
from .._problem import warn_not_converged
from .._validation import NONE, Interval, Options
from . import _exact, _local
from ._chunks import setup
from ._collection import blocks, is_dask, labels, prepare_chunks
from ._predict import lazy_predictions
from ._record import SETUP, Recorder, Rounds
from ._rounds import Interrupted, Session, run_interruptibly

#: the parameters every descend.dask estimator adds, with their defaults
DASK_DEFAULTS = {"mode": "exact", "average_every": 1, "round_timeout": None}

DASK_CONSTRAINTS = {
    "mode": [Options("exact", "local_sgd")],
    "average_every": [Interval(numbers.Integral, 1, None, closed="left")],
    "round_timeout": [NONE, Interval(numbers.Real, 0, None, closed="neither")],
}

DASK_PARAMETER_DOCS = """mode : {"exact", "local_sgd"}, default="exact"
    How a fit on Dask input trains (in-memory input ignores it).
    "exact": data-parallel full batch. Every iteration each chunk computes
    its loss, gradient and certificate sums with descend's fused kernel
    where it lives; the sums are tree-reduced on the workers and the
    client takes the step of the in-memory full-batch method (Newton's
    method where "auto" picks it in memory, the Gram matrix of its
    Hessian's rows coming back in the same round; else L-BFGS, or OWL-QN
    with L1; ``optimizer="agd"`` or ``learning_rate="line_search"`` choose
    those). The result is the in-memory fit's optimum, with the same
    certificate; ``batch_size`` and stochastic optimizers are not used.
    "local_sgd": each chunk runs ``average_every`` epochs of the
    estimator's own optimizer, batch size and schedule on its rows, then
    the models (and optimizer state) are averaged. See docs/dask.md for
    when to use which.
average_every : int >= 1, default=1
    Epochs each chunk runs between two averages in ``mode="local_sgd"``
    (a round); ``max_iter`` counts epochs.
round_timeout : float > 0 or None, default=None
    Seconds one round on the cluster may take before the fit stops with a
    TimeoutError (None: no limit). Without it a fit still never hangs: it
    waits while Dask recomputes chunks lost with a worker, and stops with
    an error when the cluster has had no worker for a minute."""

ROUNDS_DOC = """rounds_ : descend.dask.Rounds
    After a fit on Dask input: one row per round trip to the cluster
    (a certificate pass, a round of local epochs, or the setup), with its
    wall, compute and communication seconds and the bytes the client
    sent and received; ``rounds_.to_frame()`` gives a DataFrame.
    ``history_`` holds one row per iteration (mode "exact") or per
    averaging round (mode "local_sgd", the epoch column counting epochs)."""

#: one-vs-rest problems solved at once in mode "exact" (each in a client thread)
MAX_CONCURRENT_PROBLEMS = 8


def dask_estimator(cls):
    """Class decorator: the parent's parameters plus DASK_DEFAULTS in
    ``__init__`` (which only stores them), the constraints, and the
    docstring."""
    parent = next(base for base in cls.__mro__[1:]
                  if base.__module__.startswith("descend.") and "__init__" in vars(base))
    parameters = list(inspect.signature(parent.__init__).parameters.values())
    parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=value)
                   for name, value in DASK_DEFAULTS.items()]
    signature = inspect.Signature(parameters)

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        store_parameters(self, bound.arguments)

    __init__.__signature__ = signature
    __init__.__doc__ = parent.__init__.__doc__
    cls.__init__ = __init__
    cls._parameter_constraints = {**parent._parameter_constraints, **DASK_CONSTRAINTS}
    cls._in_memory_class = parent
    cls.__doc__ = _docstring(cls.__doc__, parent)
    return cls


def _docstring(summary, parent):
    """The class's own summary, then the parent's description, its
    parameters followed by the Dask ones, and its attributes with rounds_."""
    indent = "    "
    doc = inspect.cleandoc(parent.__doc__)
    body = doc.split("\n", 1)[1]
    body = body.replace("\nAttributes\n----------\n",
                        "\n" + DASK_PARAMETER_DOCS + "\n\nAttributes\n----------\n"
                        + ROUNDS_DOC + "\n", 1)
    text = inspect.cleandoc(summary) + "\n" + body
    return "\n".join(indent + line if line.strip() and i else line
                     for i, line in enumerate(text.split("\n")))


class DaskMixin:
    """Dispatch on the input's type: Dask collections train on the cluster
    (see the module docstring), everything else goes to the parent."""

    def _predict_with(self, name, X):
        """The parent's method ``name`` on X; on Dask input a lazy Dask array."""
        method = getattr(super(), name)
        return lazy_predictions(self, name, X) if is_dask(X) else method(X)

    #: y is a regression target (validated as numbers)
    _y_numeric = False

    # ---- fit

    def _fit_dask(self, X, y, sample_weight, coef_init, intercept_init):
        self._check_params()
        self._check_dask_input()
        client = _client()
        data = blocks(X, y, sample_weight)
        self._set_features(X, reset=True)
        if not self._y_numeric:
            self.classes_, counts = labels(client, data.y, type(self).__name__)
        else:
            counts = None
        template = self._template(counts)
        settings = self._settings(_stub(data))
        if self.mode == "local_sgd":
            _check_local(settings, type(self).__name__)

        def start(recorders, outputs):
            return _per_problem(*self._initial_coefficients(
                sum(outputs), data.n_features, coef_init, intercept_init), outputs)

        from_zero = coef_init is None and intercept_init is None and not (
            self.warm_start and hasattr(self, "coef_"))
        return self._run(client, data, template, settings, start, False, from_zero)

    def _partial_fit_dask(self, X, y, classes=None, sample_weight=None):
        self._check_params()
        self._check_dask_input()
        if hasattr(self, "_check_partial"):
            self._check_partial()
        client = _client()
        if not self._y_numeric:
            first = not hasattr(self, "classes_")
            check_partial_fit_classes(self, classes, first)
        data = blocks(X, y, sample_weight)
        self._set_features(X, reset=not hasattr(self, "n_features_in_"))
        if not self._y_numeric:
            known = np.asarray(classes) if first else self.classes_
            # sets classes_ on the first call, checks ``classes`` later; the
            # labels of y are checked on the workers, chunk by chunk
            partial_fit_labels(self, known[:0], classes, first)
        template = self._template(None)
        settings = self._settings(_stub(data), partial=True)
        settings.keep_best = False  # as the parent's partial_fit

        def start(recorders, outputs):
            """The last local state, or the current coefficients, or zeros."""
            state = getattr(self, "_dask_local", None)
            if state is not None and [r.W.shape[0] for r in state.replicas] == outputs:
                for recorder, history in zip(recorders, state.histories):
                    recorder.history = history
                return state
            if hasattr(self, "coef_"):
                return _per_problem(*self._current_coefficients(sum(outputs)), outputs)
            return _per_problem(np.zeros((sum(outputs), data.n_features)),
                                np.zeros(sum(outputs)), outputs)

        return self._run(client, data, template, settings, start, True, False)

    def _run(self, client, data, template, settings, start, partial, from_zero):
        """Prepare the chunks, run the mode (partial_fit: one round of local
        epochs), store the fitted attributes; Ctrl-C on the client stops
        the fit between polls, keeps what it learnt, and re-raises."""
        stop = threading.Event()
        mode = "local_sgd" if partial else self.mode

        def body():
            session = Session(client, prepare_chunks(client, data, template, partial), stop,
                              self.round_timeout)
            try:
                return self._train(session, settings, mode, start, partial, from_zero,
                                   _stub(data))
            finally:
                session.close()

        try:
            outcome = run_interruptibly(body, stop)
        except Interrupted:
            raise KeyboardInterrupt("the fit was interrupted before its first "
                                    "round completed") from None
        except _solver.DivergenceError as exc:
            self._store_dask(exc.results, exc.rounds, data, None)
            raise
        results, rounds, state, reason, error = outcome
        self._store_dask(results, rounds, data, state)
        if reason == "interrupted":
            raise KeyboardInterrupt("the fit was interrupted; the fitted attributes hold "
                                    "its last coefficients")
        if error is not None:  # the fitted attributes hold the last completed iteration's
            raise error
        if reason == "diverged":
            raise _divergence(self.history_)
        if not partial:
            warn_not_converged(self.history_, settings, stacklevel=5)
        return self

    def _train(self, session, settings, mode, start, partial, from_zero, stub):
        """The setup round, then the mode; returns (results, Rounds,
        LocalState or None, stop reason, the exception that stopped it).  ``from_zero``: the fit starts
        from the all-zero model (the setup round makes its first pass); ``stub``: a
        row of the data's storage (the method's choice reads it)."""
        setup_recorder = Recorder(settings, problem=-1)
        fit_start = setup_recorder.start
        with_columns = mode == "exact" or (settings.scale_features and not (
            partial and getattr(self, "_dask_local", None) is not None))
        total, stats = session.round(setup, with_columns=with_columns,
                                     first_pass=mode == "exact" and from_zero)
        if total is None:
            raise ValueError("X has no rows: every block of the Dask input is empty.")
        setup_recorder.round(stats, SETUP, epoch=0)
        first_sums = [s.sums for s in total]
        total = [s.moments for s in total]
        specs = [(m.loss, m.n_outputs) for m in total]
        recorders = [Recorder(settings, problem=c if len(total) > 1 else 0, start=fit_start)
                     for c in range(len(total))]
        initial = start(recorders, [n_outputs for _, n_outputs in specs])
        if mode == "exact":
            results, reasons, errors = self._exact(session, settings, specs, total,
                                                   initial, recorders, first_sums, stub)
            state, reason = None, _first_reason(reasons)
            error = next((e for e in errors if e is not None), None)
        else:
            state = initial if isinstance(initial, _local.LocalState) else _local.start(
                settings, self.n_features_in_, total, *initial)
            seed = settings.seed
            max_epochs = 1 if partial else settings.max_iter
            try:
                results, reason, error = _local.run(
                    session, settings, specs, total, state, max_epochs, self.average_every,
                    seed, recorders, setup_recorder)
            except _solver.DivergenceError as exc:
                exc.rounds = _merge_rounds([setup_recorder, *recorders])
                raise
            state.histories = [r.history for r in recorders]
        return results, _merge_rounds([setup_recorder, *recorders]), state, reason, error

    def _exact(self, session, settings, specs, moments_, initial, recorders, first_sums,
               stub):
        """Mode "exact" for each problem (one-vs-rest classes at once, in
        client threads)."""
        coefs, intercepts = initial

        def one(c):
            loss, n_outputs = specs[c]
            method = _exact_method(settings, stub, loss, n_outputs, moments_[c].rows)
            exact_settings = dataclasses.replace(
                settings, batch_size=None,
                optimizer=method if method in _solver.FULL_BATCH_METHODS else "sgd")
            return _exact.solve(session, c, exact_settings, method, loss, n_outputs,
                                moments_[c], coefs[c], intercepts[c], recorders[c],
                                first_sums[c])

        if len(specs) == 1:
            outcomes = [one(0)]
        else:
            workers = min(len(specs), MAX_CONCURRENT_PROBLEMS)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outcomes = list(pool.map(one, range(len(specs))))
        return tuple(list(column) for column in zip(*outcomes))

    def _store_dask(self, results, rounds, data, state):
        for result in results:
            result.coef = result.coef.astype(data.dtype)
            result.intercept = result.intercept.astype(data.dtype)
        self._fits = None
        self._dask_local = state
        self._store(results)
        self.rounds_ = rounds

    # ---- helpers

    def _check_dask_input(self):
        if self.early_stopping:
            raise ValueError(
                "early_stopping=True is not supported on Dask input: it would hold out "
                "rows of one machine's data. Hold out a validation set yourself (e.g. "
                "dask_ml.model_selection.train_test_split) and score it, or set "
                "early_stopping=False.")

    def _set_features(self, X, reset):
        """n_features_in_ and feature_names_in_ from the collection's
        metadata (scikit-learn's checks, without computing X)."""
        validate_data(self, X._meta if hasattr(X, "columns") else X, reset=reset,
                      skip_check_array=True)

    def _template(self, counts):
        """An unfitted copy of the estimator for the workers (no callback:
        it runs on the client) with classes_ and, for
        class_weight="balanced", the weights of the whole data set."""
        template = type(self)(**{**self.get_params(deep=False), "callback": None})
        if not self._y_numeric:
            template.classes_ = self.classes_
            if self.class_weight == "balanced":
                # scikit-learn's rule (as descend._classes.class_weight_vector)
                # on the counts of every block
                weights = counts.sum() / (len(self.classes_) * np.maximum(counts, 1))
                template.class_weight = dict(zip(self.classes_.tolist(), weights.tolist()))
        return template


def _per_problem(coef, intercept, outputs):
    """Stacked coefficients (sum(outputs), p) and intercepts split into each
    problem's."""
    bounds = np.cumsum([0, *outputs])
    pairs = list(zip(bounds[:-1], bounds[1:]))
    return [coef[a:b] for a, b in pairs], [intercept[a:b] for a, b in pairs]


def _stub(data):
    """A one-row X of the data's storage and dtype: what ``_settings`` reads
    (sparsity for the optimizer choice) without the data."""
    if data.sparse:
        return sp.csr_matrix((1, data.n_features), dtype=data.dtype)
    return np.zeros((1, data.n_features), dtype=data.dtype)


def _client():
    """The current dask.distributed Client."""
    try:
        from distributed import get_client
    except ImportError:  # pragma: no cover - the extra installs it
        raise ImportError('descend.dask needs dask.distributed: pip install "descend[dask]"') \
            from None
    try:
        return get_client()
    except ValueError:
        raise ValueError(
            "descend.dask trains Dask collections on a dask.distributed cluster, and no "
            "Client is running: create one first, e.g. `from distributed import Client; "
            "client = Client()` (a local cluster) or Client('scheduler-address:8786').") \
            from None


def _check_local(settings, name):
    """Local SGD averages the iterates of step rules, not of methods that
    search their own steps over exact passes."""
    method = _solver.full_batch_method(settings, settings.batch_size is None)
    if method is not None:
        raise ValueError(
            f"mode='local_sgd' runs epochs of a step rule on each chunk and averages "
            f"them; {name} with batch_size={settings.batch_size!r} would run {method!r} "
            f"(a method that searches its own steps over exact passes). Set batch_size "
            f"(e.g. 256) and an optimizer (e.g. 'sgd', 'adam'), or use mode='exact', "
            f"which runs {method!r} over the whole data set.")


def _exact_method(settings, stub, loss, n_outputs, n_rows):
    """The in-memory full-batch method mode "exact" runs: line_search when
    asked for, newton, lbfgs or agd when asked for; else what the
    in-memory "auto" picks for data of this storage and shape (Newton's
    method on dense L2-penalised single-output data, else lbfgs).
    ``stub``: a row of the data's storage."""
    if settings.learning_rate == "line_search":
        return "line_search"
    if settings.optimizer in _solver.FULL_BATCH_METHODS:
        return _solver.chosen_method(settings, stub, loss, n_outputs, n_rows)
    return "lbfgs"


def _first_reason(reasons):
    """One stop reason for several problems ("tol" when all converged)."""
    return "tol" if all(r == "tol" for r in reasons) else next(r for r in reasons if r != "tol")


def _merge_rounds(recorders):
    """Every recorder's round trips in the order they finished, numbered."""
    rows = sorted((row for r in recorders for row in r.rounds._rows), key=lambda row: row[-1])
    return Rounds((i + 1, *row[1:]) for i, row in enumerate(rows))


def _divergence(history):
    return _solver.DivergenceError(
        f"The fit diverged at iteration {len(history) + 1}: the objective or the "
        f"coefficients became non-finite; the coefficients of the last finite iteration "
        f"were kept. Scale the features (scale_features=True) or raise alpha.")
