"""Ctrl-C during a fit.

Python delivers KeyboardInterrupt to the main thread, and only between
bytecodes: a compiled kernel running there would not see it until it
returned, and the exception could then land anywhere in the Python code
that records the kernel's work (coefficients trained, history empty).  So
a fit called from the main thread runs on one persistent worker thread
while the main thread waits; Ctrl-C there raises the fit's stop flag (a
one-byte array every kernel reads every 256 updates, every mini-batch and
every epoch, and the Python loops read between kernel calls and
iterations).  The fit stops at its next check, records what it finished
and raises KeyboardInterrupt itself, at a point where its state is
consistent; the main thread waits for that (a second Ctrl-C is absorbed)
and re-raises it.  No kernel is left running after fit returns or raises.

Fits called from other threads (which never receive KeyboardInterrupt) run
where they are called.  The worker is a single thread: the main thread
runs one fit at a time.  It is recreated in a child process after fork.

A fit whose every kernel call is short (full batch on at most
SHORT_CALL_WORK entries: one call is one pass, a millisecond or two) runs
on the main thread itself, with a SIGINT handler that only raises the
flag for the duration: the handler runs when the kernel call returns,
and the fit then stops at its next check as above.  The hand-off to the
worker is what it saves: on a machine whose cores are all busy (the
workers of a GridSearchCV(n_jobs=2) on two cores) waking the worker
thread could wait for a time slice, and 22 of 160 such fits took over
1.5x the median, against 5 of 160 on the main thread (development note,
2026-12-02).  The handler is installed only over Python's default one:
a program's own SIGINT handler is left alone (and the fit hops as above).
"""
from __future__ import annotations

import os
import queue
import signal
import threading

import numpy as np

#: full-batch fits on at most this many entries of X (times outputs) run on
#: the main thread (their kernel calls are single passes, ~1-2 ms)
SHORT_CALL_WORK = 1 << 20

_lock = threading.Lock()
_jobs = None  # the worker's queue of _Job (None: no worker in this process yet)


def new_flag():
    """A lowered stop flag (the kernels read its one byte)."""
    return np.zeros(1, dtype=np.uint8)


class _Job:
    """One call for the worker; ``done`` is released when it has returned
    or raised.  (A bare lock and queue, not concurrent.futures: the hand-off
    is a fixed cost of every fit, ~80 us with an executor's future.)"""

    def __init__(self, call):
        self.call, self.result, self.error = call, None, None
        self.done = threading.Lock()
        self.done.acquire()

    def run(self):
        try:
            self.result = self.call()
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller)
            self.error = exc
        finally:
            self.call = None
            self.done.release()


def _serve(jobs):
    while True:
        jobs.get().run()


def _worker():
    global _jobs
    with _lock:
        if _jobs is None:
            _jobs = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(_jobs,), name="descend-fit",
                             daemon=True).start()
        return _jobs


def _forget_worker():
    global _jobs
    _jobs = None  # the parent's thread does not exist in a forked child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def run(call, flag, short=False):
    """``call()`` such that Ctrl-C stops it through ``flag``.

    From the main thread: ``call`` runs on the worker (or, when its kernel
    calls are ``short``, here, under a handler that raises the flag);
    KeyboardInterrupt raises the flag, then the wait goes on until
    ``call`` has returned or raised (it raises KeyboardInterrupt itself
    when it sees the flag).  If ``call`` finished anyway, the interrupt is
    not lost: its return value is attached to a KeyboardInterrupt as
    ``.outcome``.
    """
    if threading.current_thread() is not threading.main_thread():
        return call()
    if short and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        return _run_here(call, flag)
    job = _Job(call)
    _worker().put(job)
    interrupted = False
    while True:
        try:
            job.done.acquire()  # (interruptible: Ctrl-C raises here)
            break
        except KeyboardInterrupt:
            flag[0] = 1
            interrupted = True
    if job.error is not None:
        error, job.error = job.error, None
        raise error
    return _delivered(job.result, interrupted)


def _delivered(outcome, interrupted):
    """``outcome``, or, when Ctrl-C came as the call finished, a
    KeyboardInterrupt carrying it as ``.outcome`` (the interrupt is not lost)."""
    if interrupted:
        exc = KeyboardInterrupt()
        exc.outcome = outcome
        raise exc
    return outcome


def _run_here(call, flag):
    """``call()`` on the main thread, a SIGINT raising only ``flag``."""
    interrupted = []

    def raise_flag(signum, frame):
        flag[0] = 1
        interrupted.append(signum)

    previous = signal.signal(signal.SIGINT, raise_flag)
    try:
        outcome = call()  # raises KeyboardInterrupt itself when it sees the flag
    finally:
        signal.signal(signal.SIGINT, previous)
    return _delivered(outcome, bool(interrupted))


def raise_if_stopped(flag):
    """KeyboardInterrupt if the flag is up (between kernel calls)."""
    if flag[0]:
        raise KeyboardInterrupt
