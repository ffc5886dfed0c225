"""Ctrl-C during a fit (RELIABILITY.md, "Interrupts").

Every estimator, dense and CSR, per-sample, mini-batch and full-batch: a
SIGINT sent to the process while a long fit runs raises KeyboardInterrupt
within 0.5 s; the finished epochs are in history_ and n_iter_ (stop reason
"interrupted"); no kernel keeps running (the process is idle after); the
estimator predicts and continues with partial_fit.  The fits run in a
subprocess (benchmarks/interrupt_latency.py, which prints the latencies),
all cases in one interpreter.
"""
import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "interrupt_latency.py"
_spec = importlib.util.spec_from_file_location("interrupt_latency", _PATH)
latency = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(latency)
CASES = latency.CASES


@pytest.fixture(scope="module")
def outcomes():
    lines = latency.run_cases()
    assert len(lines) == len(CASES), lines
    return lines


@pytest.mark.parametrize("i", range(len(CASES)), ids=[
    f"{c[0]}-{c[1]}-{c[2]}-{'-'.join(f'{k}={v}' for k, v in c[3].items())}" for c in CASES])
def test_ctrl_c_is_prompt_and_keeps_the_finished_epochs(outcomes, i):
    out = outcomes[i]
    assert "error" not in out, out
    assert out["latency"] <= 0.5, out
    assert out["stop_reason"] == "interrupted"
    # the epochs finished before the signal, all recorded, numbered 1..n_iter_
    assert out["n_iter"] >= 1 and out["history"] == out["n_iter"] == out["last_epoch"], out
    assert out["finite"] and out["predict_ok"]
    # nothing left running: the only threads are the main one and descend's
    # idle worker, and the process uses (almost) no CPU afterwards
    assert set(out["threads"]) <= {"MainThread", "descend-fit"}, out
    assert out["cpu_after"] < 0.05, out
    if "n_iter_after_partial" in out:  # partial_fit continues the interrupted fit
        assert out["n_iter_after_partial"] == out["n_iter"] + 1, out


# --------------------------------------------------------------------------
# small full batches run on the main thread, under a SIGINT handler that
# raises the stop flag (_interrupt.py): in this process
# --------------------------------------------------------------------------

def _small_problem():
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 8))
    return X, (X[:, 0] + 0.5 * rng.standard_normal(500) > 0).astype(int)


def test_a_short_fit_leaves_the_sigint_handler_as_it_found_it():
    import signal

    import descend
    X, y = _small_problem()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    descend.LogisticRegression().fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # a program's own handler is left in place (the fit hops to the worker)
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        descend.LogisticRegression().fit(X, y)
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
    assert calls == []


def test_ctrl_c_during_a_short_fit_stops_it_at_a_consistent_point():
    import os
    import signal

    import numpy as np

    import descend
    X, y = _small_problem()

    def ctrl_c_at_the_third(record):
        if record["epoch"] == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return False

    model = descend.LogisticRegression(optimizer="agd", tol=1e-15, max_iter=10_000,
                                       callback=ctrl_c_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert model.history_.stop_reason == "interrupted"
    assert model.n_iter_ == len(model.history_) == model.history_["epoch"][-1] >= 3
    assert np.all(np.isfinite(model.coef_)) and len(model.predict(X[:5])) == 5


def test_ctrl_c_as_a_short_call_finishes_is_not_lost():
    import os
    import signal

    from descend import _interrupt
    flag = _interrupt.new_flag()

    def finishes_as_the_signal_comes():
        os.kill(os.getpid(), signal.SIGINT)
        return 42

    with pytest.raises(KeyboardInterrupt) as caught:
        _interrupt.run(finishes_as_the_signal_comes, flag, short=True)
    assert caught.value.outcome == 42 and flag[0] == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
