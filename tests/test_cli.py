"""The `descend` command, run as a user runs it (subprocess)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def descend_command():
    """The installed console script, beside this interpreter."""
    script = Path(sys.executable).with_name("descend")
    return [str(script)] if script.exists() else [sys.executable, "-m", "descend.cli"]


def run(*args):
    return subprocess.run([*descend_command(), *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_console_script_is_installed():
    assert Path(sys.executable).with_name("descend").exists()


def test_train_default_prints_epochs_accuracy_and_time():
    result = run("train")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert len(epochs) >= 10
    assert re.match(r"epoch +1 +objective 0\.69314718 +lr [\d.]+ .*seconds [\d.]+", epochs[0])
    numbers = [int(line.split()[1]) for line in epochs]
    assert numbers == list(range(1, len(epochs) + 1))
    accuracy = float(re.search(r"held-out accuracy: ([\d.]+)", result.stdout).group(1))
    assert accuracy > 0.95
    assert re.search(r"fit time: [\d.]+ s", result.stdout)


def test_train_options_and_quiet():
    result = run("train", "--batch-size", "16", "--max-iter", "5", "--tol", "0", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "epoch" not in result.stdout.split("held-out")[0].replace("epochs", "")
    assert "stopped after 5 epochs" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--alpha", "-1"], "'alpha' parameter"),
    (["train", "--max-iter", "0"], "--max-iter"),
    (["train", "--eta0", "zero"], "--eta0"),
    (["fly"], "invalid choice"),
])
def test_bad_arguments_give_one_clear_line_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_help_describes_the_command():
    result = run("train", "--help")
    assert result.returncode == 0
    for option in ("--batch-size", "--eta0", "--alpha", "--max-iter", "--n-jobs"):
        assert option in result.stdout
