"""The ``descend`` command.

``descend train`` with no arguments trains LogisticRegression on
scikit-learn's bundled breast-cancer data (standardised, 80/20 stratified
split), printing one line per epoch, then the held-out accuracy and the fit
time.
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _batch_size(text):
    if text.lower() in ("none", "full"):
        return None
    return _positive_int(text)


def _eta0(text):
    if text == "auto":
        return text
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 or 'auto', got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(
        prog="descend", description="Train linear models by gradient descent, fast.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    train = commands.add_parser(
        "train", help="train a model and report held-out quality",
        description="Train LogisticRegression on scikit-learn's breast-cancer data "
                    "(standardised, 80/20 stratified split); print one line per "
                    "epoch, then held-out accuracy and fit time.")
    train.add_argument("--batch-size", type=_batch_size, default=None,
                       help="rows per update: 'none' (full batch, default), 1 (SGD) or k")
    train.add_argument("--learning-rate", choices=["constant", "invscaling"],
                       default="constant", help="step-size schedule (default: constant)")
    train.add_argument("--eta0", type=_eta0, default="auto",
                       help="initial step size, or 'auto' (default)")
    train.add_argument("--alpha", type=float, default=1e-4,
                       help="L2 penalty strength (default: 1e-4)")
    train.add_argument("--max-iter", type=_positive_int, default=1000,
                       help="maximum epochs (default: 1000)")
    train.add_argument("--tol", type=float, default=1e-4,
                       help="stopping tolerance on the objective (default: 1e-4)")
    train.add_argument("--n-jobs", type=int, default=None,
                       help="OpenMP threads (default: all)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of the split and the shuffling (default: 0)")
    train.add_argument("--quiet", action="store_true", help="do not print per-epoch lines")
    return parser


def train(args, out=sys.stdout):
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from . import LogisticRegression

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=args.seed)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = LogisticRegression(
        batch_size=args.batch_size, learning_rate=args.learning_rate, eta0=args.eta0,
        alpha=args.alpha, max_iter=args.max_iter, tol=args.tol, n_jobs=args.n_jobs,
        random_state=args.seed, verbose=0 if args.quiet else 1)
    print(f"descend: LogisticRegression on breast_cancer ({len(X_train)} train / "
          f"{len(X_test)} test rows, {X.shape[1]} features, standardised)", file=out)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y_test)
    print(f"stopped after {model.n_iter_} epochs ({model.history_.stop_reason}); "
          f"final objective {model.history_['objective'][-1]:.6f}", file=out)
    print(f"held-out accuracy: {accuracy:.4f}", file=out)
    print(f"fit time: {seconds:.3f} s", file=out)
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return train(args)
    except ValueError as exc:  # bad hyperparameters: one clear line, exit 2
        print(f"descend {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `descend train | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
