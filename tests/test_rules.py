"""Each rule has one home: the C rows of codes.h and the Python rows of
descend._rules describe the same losses, optimizers and schedules."""
import numpy as np
import pytest

from descend import _rules
from descend._engine import _codes, kernels


def test_every_c_rule_has_one_python_row_and_back():
    for table, names in ((_rules.LOSSES, _codes.LOSS_NAMES),
                         (_rules.OPTIMIZERS, _codes.OPTIMIZER_NAMES),
                         (_rules.SCHEDULES, _codes.SCHEDULE_NAMES)):
        kernels_named = [row.kernel for row in table.values() if row.kernel is not None]
        assert sorted(kernels_named) == sorted(names)
        assert len(set(kernels_named)) == len(kernels_named)
        for row in table.values():
            if row.kernel is not None:
                assert names[row.code] == row.kernel


def test_codes_are_the_headers_values():
    """Python reads the codes from the compiled headers (consecutive from 0)."""
    assert list(_codes.LOSS_NAMES).index("squared") == 0
    assert _codes.StateRow.ROW_BUF1 == 0
    assert [int(r) for r in _codes.StateRow] == list(range(len(_codes.StateRow)))
    assert _codes.HistColumn.N_HIST == len(_codes.HistColumn) - 1
    assert _codes.Status.RUNNING == 0


@pytest.mark.parametrize("name", [n for n, row in _rules.LOSSES.items()
                                  if row.kernel != "multinomial"])
def test_each_loss_is_the_c_function_python_calls(name):
    """The table's losses evaluate through loss.h (kernels.loss_values) and
    agree with their documented formulas at a few points."""
    row = _rules.LOSSES[name]
    z = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    y = np.array([1.0, 0.0, 1.0, -1.0, 2.5]) if row.regression else np.array(
        [1.0, 0.0, 1.0, 0.0, 1.0] if name == "log_loss" else [1.0, -1.0, 1.0, -1.0, 1.0])
    out = np.empty_like(z)
    kernels.loss_values(row.code, 0.1, z, y, out)
    eps = 0.1
    m, r = y * z, z - y
    expected = {
        "squared_error": 0.5 * r * r,
        "log_loss": np.logaddexp(0.0, z) - y * z,
        "hinge": np.maximum(0.0, 1 - m),
        "perceptron": np.maximum(0.0, -m),
        "squared_hinge": np.maximum(0.0, 1 - m) ** 2,
        "modified_huber": np.where(m >= 1, 0.0, np.where(m >= -1, (1 - m) ** 2, -4 * m)),
        "huber": np.where(np.abs(r) <= eps, 0.5 * r * r, eps * np.abs(r) - 0.5 * eps * eps),
        "epsilon_insensitive": np.maximum(0.0, np.abs(r) - eps),
        "squared_epsilon_insensitive": np.maximum(0.0, np.abs(r) - eps) ** 2,
    }[name]
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=1e-15)


def test_optimizer_facts_come_from_the_c_rows():
    assert _codes.optimizer_buffers(_rules.OPTIMIZERS["adam"].code) == 2
    assert _codes.optimizer_buffers(_rules.OPTIMIZERS["sgd"].code) == 0
    assert _codes.optimizer_l2_form(_rules.OPTIMIZERS["adamw"].code) == _codes.L2Form.L2_DECAY
    assert _codes.optimizer_l2_form(_rules.OPTIMIZERS["adam"].code) == _codes.L2Form.L2_COUPLED
