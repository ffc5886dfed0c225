"""What every command shares: the parser class and its help formatter,
argument types (each error names what it got), the one-line error and
note, and the check that an output file can be written."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap


class CLIError(Exception):
    """An expected failure of a command; the message is one line."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Option help wrapped between words only (not inside 'sgd-classifier')."""

    def _split_lines(self, text, width):
        text = self._whitespace_matcher.sub(" ", text).strip()
        return textwrap.wrap(text, width, break_on_hyphens=False)


# --------------------------------------------------------------------------
# argument types: each raises ArgumentTypeError, which argparse reports as
# "argument --NAME: MESSAGE"


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def number(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def batch_size(text):
    if text.lower() in ("none", "full"):
        return "none"  # batch_size=None; the option's default (None) means "not given"
    return positive_int(text)


def eta0(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 or 'auto', got {text!r}")
    return value


def tol(text):
    if text.lower() == "none":
        return "none"  # tol=None; the option's default (None) means "not given"
    return number(text)


def fraction(text):
    value = number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction in [0, 1), got {text!r}")
    return value


def lower(text):
    return text.lower()


# --------------------------------------------------------------------------
# messages and output files


def note(command, text):
    print(f"descend {command}: note: {text}", file=sys.stderr, flush=True)


def check_output_path(path, option):
    """Fail before any work when an output file cannot be written."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise CLIError(f"{option} {path}: is a directory")
    if not os.path.isdir(parent):
        raise CLIError(f"{option} {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise CLIError(f"{option} {path}: the directory {parent} is not writable")
