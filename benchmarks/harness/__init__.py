"""The measuring code of benchmarks/compare.py (and the helpers
benchmarks/convergence.py shares with it). Not part of the installed
package: run the scripts from a checkout.

    machine.py     what the numbers depend on: CPU, BLAS, threads, other
                   load, read bandwidth
    timing.py      best-of timings and how times and ratios are printed
    problem.py     the dense synthetic problem and its fixed step sizes
    references.py  the same training in NumPy, scikit-learn, PyTorch and
                   pure Python
    dense.py       the dense comparison (compare.py's default)
    sparse.py      the sparse comparison (compare.py --sparse)
    report.py      the result table and the marked section of BENCHMARKS.md
"""
