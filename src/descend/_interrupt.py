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
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

_lock = threading.Lock()
_executor = None


def new_flag():
    """A lowered stop flag (the kernels read its one byte)."""
    return np.zeros(1, dtype=np.uint8)


def _worker():
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="descend-fit")
        return _executor


def _forget_worker():
    global _executor
    _executor = None  # the parent's thread does not exist in a forked child


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def run(call, flag):
    """``call()`` such that Ctrl-C stops it through ``flag``.

    From the main thread: ``call`` runs on the worker; KeyboardInterrupt
    raises the flag, then the wait goes on until ``call`` has returned
    or raised (it raises KeyboardInterrupt itself when it sees the flag).
    If ``call`` finished anyway, the interrupt is not lost: its return
    value is attached to a KeyboardInterrupt as ``.outcome``.
    """
    if threading.current_thread() is not threading.main_thread():
        return call()
    future = _worker().submit(call)
    interrupted = False
    while not future.done():
        try:
            wait([future])
        except KeyboardInterrupt:
            flag[0] = 1
            interrupted = True
    outcome = future.result()  # raises what call raised
    if interrupted:
        exc = KeyboardInterrupt()
        exc.outcome = outcome
        raise exc
    return outcome


def raise_if_stopped(flag):
    """KeyboardInterrupt if the flag is up (between kernel calls)."""
    if flag[0]:
        raise KeyboardInterrupt
