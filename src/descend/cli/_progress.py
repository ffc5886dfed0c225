"""``descend train --progress``: a progress bar over epochs, fed by the
estimator's ``callback`` (tqdm when installed, else a one-line bar on a
terminal)."""
from __future__ import annotations

import sys
import time

from ._args import note


class BarProgress:
    """A one-line progress bar redrawn with carriage returns (no tqdm).

    Both bars show the furthest epoch reached: a one-vs-rest SGDClassifier
    calls back from each class's thread, each at its own epoch."""

    def __init__(self, total, stream, width=30):
        self.total, self.stream, self.width = total, stream, width
        self.last_draw = 0.0
        self.shown = 0
        self.record = None

    def __call__(self, record):
        if self.record is not None and record["epoch"] < self.record["epoch"]:
            return False
        self.record = record
        now = time.perf_counter()
        if now - self.last_draw >= 0.1:
            self._draw(False)
            self.last_draw = now
        return False

    def _draw(self, final):
        epoch = int(self.record["epoch"])
        filled = self.width if final else min(self.width, self.width * epoch // self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = (f"[{bar}] epoch {epoch}/{self.total}  "
                f"objective {self.record['objective']:.6g}" + ("  done" if final else ""))
        self.stream.write("\r" + line.ljust(self.shown))
        self.shown = len(line)
        self.stream.flush()

    def close(self):
        if self.record is not None:
            self._draw(True)
            self.stream.write("\n")
            self.stream.flush()


class TqdmProgress:
    def __init__(self, tqdm, total, stream):
        self.bar = tqdm(total=total, unit="epoch", file=stream, dynamic_ncols=True)

    def __call__(self, record):
        self.bar.set_postfix(objective=f"{record['objective']:.6g}", refresh=False)
        self.bar.update(max(0, int(record["epoch"]) - self.bar.n))
        return False

    def close(self):
        self.bar.total = self.bar.n  # a fit stopped by tol ends at 100%
        self.bar.refresh()
        self.bar.close()


def make_progress(args, max_iter):
    """The --progress callback, or None (then the per-epoch lines print)."""
    if not args.progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        return TqdmProgress(tqdm, max_iter, sys.stderr)
    if sys.stderr.isatty():
        return BarProgress(max_iter, sys.stderr)
    note("train", "--progress needs tqdm or a terminal; printing per-epoch lines instead")
    return None
