"""Every script in examples/ runs to completion in a fresh interpreter."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
PLOTTING = "compare_optimizers.py"  # takes an output directory, writes a PNG there
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
try:  # as the example decides whether to plot
    import matplotlib  # noqa: F401
    HAS_MATPLOTLIB = True
except ImportError:
    HAS_MATPLOTLIB = False


def run_example(script, cwd, *args, pythonpath=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    # the test suite's warnings policy: a RuntimeWarning is an error
    return subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(script), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_examples_exist():
    assert len(SCRIPTS) >= 3, f"expected example scripts in {EXAMPLES}"
    assert EXAMPLES / PLOTTING in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.name)
def test_example_runs(script, tmp_path):
    result = run_example(script, tmp_path, str(tmp_path))
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    assert result.stdout.strip(), f"{script.name} printed nothing"
    if script.name == PLOTTING and HAS_MATPLOTLIB:
        png = tmp_path / "compare_optimizers.png"
        assert png.is_file(), result.stdout
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert str(png) in result.stdout


def test_plotting_example_without_matplotlib(tmp_path):
    """Without matplotlib the comparison still runs; the plot is skipped."""
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        "raise ImportError('matplotlib blocked by the test')\n")
    out = tmp_path / "out"
    out.mkdir()
    result = run_example(EXAMPLES / PLOTTING, tmp_path, str(out),
                         pythonpath=blocker.parent)
    assert result.returncode == 0, result.stderr
    assert "plot skipped" in result.stdout
    assert "descend[plot]" in result.stdout
    assert not list(out.iterdir())


def test_migration_example_asserts_agreement(tmp_path):
    """examples/migrate_from_sklearn.py compares each scikit-learn model with
    its descend counterpart and prints how far apart they are: every pair
    agrees within its tolerance (the script also exits 1 if one does not)."""
    result = run_example(EXAMPLES / "migrate_from_sklearn.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    pairs = re.findall(r"differ by (\S+) \(tolerance (\S+)\): (\w+)", result.stdout)
    assert len(pairs) == 6, result.stdout
    for difference, tolerance, verdict in pairs:
        assert float(difference) <= float(tolerance) and verdict == "agree", result.stdout
    assert "agree on every model" in result.stdout
