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
