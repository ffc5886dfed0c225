#!/usr/bin/env python
"""Compare descend's epoch times with the machine's read bandwidth, NumPy,
scikit-learn, PyTorch and plain Python, in one run.

    python benchmarks/compare.py                      # 500,000 x 100, print
    python benchmarks/compare.py --write BENCHMARKS.md  # ... and record it
    python benchmarks/compare.py --quick              # smoke test, seconds

The comparison itself lives in the installed package (``descend._bench``),
so that ``descend bench`` runs it from any installation; this script is a
thin wrapper with the same options and output. Its helpers (``make_data``,
``cpu_model``, ...) stay importable from here for the other scripts in this
folder.
"""
import sys

from descend._bench import *  # noqa: F401,F403  (re-exported for benchmarks/*.py)
from descend._bench import main

if __name__ == "__main__":
    sys.exit(main(prog="compare.py"))
