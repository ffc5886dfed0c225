#!/usr/bin/env python
"""Compare descend's epoch times with the machine's read bandwidth, NumPy,
scikit-learn, PyTorch and plain Python, in one run.

    python benchmarks/compare.py                      # 500,000 x 100, print
    python benchmarks/compare.py --write BENCHMARKS.md  # ... and record it
    python benchmarks/compare.py --quick              # smoke test, seconds
    python benchmarks/compare.py --sparse             # the 1,000,000 x 2^20 CSR case

Every comparison trains the same model (L2-penalised logistic regression,
objective mean log loss + alpha/2 ||w||^2, unpenalised intercept) on the same
synthetic data with a fixed numeric step size, so the work per epoch is the
same on both sides. The measuring code is in harness/ beside this script
(harness/dense.py and harness/sparse.py say what each case measures);
``descend bench`` is the installed package's smaller, user-facing
comparison of whole fits.
"""
import argparse
import sys

from harness import dense, sparse
from harness.machine import machine_description, openmp_threads
from harness.problem import FULL_SIZE, QUICK_SIZE
from harness.report import Report, render_section, write_section


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return int(text)


def build_parser(prog=None):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=positive_int, default=None, metavar="N",
                        help=f"rows of the synthetic data (default: {FULL_SIZE[0]:,}; "
                             f"{QUICK_SIZE[0]:,} with --quick)")
    parser.add_argument("--n-features", type=positive_int, default=None, metavar="P",
                        help=f"features of the synthetic data (default: {FULL_SIZE[1]}; "
                             f"{QUICK_SIZE[1]} with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke-test size (20,000 x 20, 64 MiB "
                             "bandwidth array) unless sizes are given")
    parser.add_argument("--sparse", action="store_true",
                        help="run the sparse case instead: per-sample log-loss SGD on a "
                             "1,000,000 x 2^20 CSR matrix (50 nonzeros per row; "
                             "20,000 x 2^16 with --quick) against scikit-learn's "
                             "SGDClassifier and LogisticRegression")
    parser.add_argument("--write", metavar="FILE",
                        help="rewrite the marked section of FILE (e.g. "
                             "BENCHMARKS.md) with the results")
    return parser


def report_and_write(args, command):
    """Run the comparison, print its table, and with ``args.write`` rewrite
    that file's marked section (``command`` is recorded in it)."""
    if args.sparse:
        report = Report(machine=machine_description(openmp_threads()))
        report.print_machine()
        sparse.run_sparse(args, report)
        begin, end = sparse.MARK_BEGIN, sparse.MARK_END
    else:
        n, p = QUICK_SIZE if args.quick else FULL_SIZE
        args.n_samples = args.n_samples or n
        args.n_features = args.n_features or p
        report = dense.run(args)
        begin, end = dense.MARK_BEGIN, dense.MARK_END
    print()
    print(report.table())
    if args.write:
        write_section(args.write, render_section(report, command.strip(), begin, end),
                      begin, end)
        print(f"\nwrote {args.write}")
    return report


def main(argv=None):
    args = build_parser(prog="compare.py").parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    report_and_write(args, "python benchmarks/compare.py " + " ".join(given))
    return 0


if __name__ == "__main__":
    sys.exit(main())
