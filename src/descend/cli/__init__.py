"""The ``descend`` command.

``descend train`` with no arguments trains LogisticRegression on
scikit-learn's bundled breast-cancer data (standardised, 80/20 stratified
split), printing one line per epoch, then the held-out accuracy and the fit
time. ``descend train DATA`` does the same on a CSV, Parquet, NumPy .npz or
svmlight/libsvm file, with the model ``--model`` names (``linear``,
``logistic``, or scikit-learn's SGD estimators ``sgd-classifier`` and
``sgd-regressor``, which take ``--loss``), e.g.::

    descend train data.svm --model sgd-classifier --loss log_loss --out model.descend

``descend predict`` applies a model saved by ``descend train --out`` (a
descend model file: data only, loading it runs no code; old pickle files
only with ``--allow-pickle``);
``descend bench`` times descend's fit against scikit-learn's on a problem
it makes on the spot.

Every expected failure (bad arguments, a missing, unreadable or malformed
file, a bad hyperparameter) prints one line on stderr and exits with 2.

One module per command (``train``, ``predict``, ``bench``), each with
``add_parser(commands)`` and ``run(args)``; they share the helpers of the
underscored modules, and nothing imports this module back.
"""
from __future__ import annotations

import os
import sys

from .._readers import DataError
from . import bench, predict, train
from ._args import CLIError, Parser

PROG = "descend"


def build_parser():
    parser = Parser(
        prog=PROG, description="Train linear models by gradient descent, fast.",
        epilog="'descend COMMAND --help' describes each command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for command in (train, predict, bench):
        command.add_parser(commands)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CLIError, DataError, ValueError) as exc:
        # bad hyperparameters (the estimators' ValueError), bad data files
        print(f"descend {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"descend {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `descend train | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # writing an output file
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"descend {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"descend {args.command}: interrupted", file=sys.stderr)
        return 130
