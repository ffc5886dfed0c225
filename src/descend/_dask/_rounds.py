"""The client's side of a round on a Dask cluster.

A round sends one task per chunk; the scheduler runs it where the chunk
lives.  The chunks' Parts are added in a tree of ``combine`` tasks on the
workers (SPLIT_EVERY parts per task, in chunk order, so the total does not
depend on where the tasks ran), and the client fetches the one total:
O(K p) numbers, never rows.  Small arguments (coefficients) travel inside
the tasks; larger ones are scattered once per round and fetched by the
workers from each other.

Waiting never hangs.  The client polls the round's result and stops

- when the fit is interrupted (Ctrl-C on the client: ``Interrupted``),
- after ``round_timeout`` seconds, when one is set (``TimeoutError``),
- when the cluster has had no worker for NO_WORKER_SECONDS (``RoundFailed``).

A worker that dies mid-round is Dask's to repair: the chunks it held are
recomputed from their graph on the workers that remain (or on its
restarted self) and the round completes.  A task that kills workers again
and again fails with Dask's KilledWorker, reported as a RoundFailed.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import CancelledError

import numpy as np

from ._chunks import combine

#: parts added by one reduction task
SPLIT_EVERY = 8
#: shared arguments larger than this are scattered, not embedded in each task
SCATTER_BYTES = 1 << 16
#: how often a waiting client checks for an interrupt, a timeout, a lost cluster
POLL_SECONDS = 0.2
#: seconds without any worker after which a round fails
NO_WORKER_SECONDS = 60.0


class Interrupted(Exception):
    """The fit was asked to stop from the client (Ctrl-C)."""


class RoundFailed(RuntimeError):
    """A round could not complete on the cluster."""


@dataclasses.dataclass
class RoundStats:
    """How one round went: its wall seconds on the client, the seconds the
    busiest worker spent inside descend's kernels, and the bytes the client
    sent and received."""

    wall: float
    compute: float
    client_bytes: int


def nbytes(value):
    """The bytes of the arrays in ``value`` (dataclasses, containers and
    objects walked), plus 8 per other number."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if value is None or isinstance(value, str):
        return 0
    if isinstance(value, (int, float, np.number)):
        return 8
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    if dataclasses.is_dataclass(value):
        return sum(nbytes(getattr(value, f.name)) for f in dataclasses.fields(value))
    return sum(nbytes(v) for v in vars(value).values()) if hasattr(value, "__dict__") else 8


class Session:
    """The prepared chunks of one fit (futures on the cluster) and the
    rounds run over them."""

    def __init__(self, client, chunks, stop, timeout):
        self.client = client
        self.chunks = chunks
        self.stop = stop
        self.timeout = timeout

    def close(self):
        """Release the chunks on the workers."""
        _release(self.chunks)
        self.chunks = []

    def round(self, func, *per_chunk, **shared):
        """``func(chunk, *per_chunk[i], **shared)`` for every chunk i, added up
        on the workers; returns (the total Part's value, RoundStats)."""
        start = time.perf_counter()
        size = nbytes(shared)
        n = len(self.chunks)
        scattered = size > SCATTER_BYTES
        if scattered:
            shared = {name: self.client.scatter(value, hash=False)
                      for name, value in shared.items()}
        futures = self.client.map(func, self.chunks, *per_chunk, pure=False, **shared)
        level, spawned = futures, list(futures)
        while len(level) > 1:
            level = [self.client.submit(combine, *level[i:i + SPLIT_EVERY], pure=False)
                     for i in range(0, len(level), SPLIT_EVERY)]
            spawned += level
        try:
            part = self.wait(level[0])
        finally:
            _release(spawned)
        sent = size if scattered else size * n
        stats = RoundStats(time.perf_counter() - start, max(part.seconds.values(), default=0.0),
                           sent + nbytes(part.value))
        return part.value, stats

    def wait(self, future):
        """The future's result, waiting in short polls (see the module
        docstring for when it gives up)."""
        start = last_seen = time.monotonic()
        last_check = start
        while True:
            if self.stop.is_set():
                raise Interrupted
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                pass
            except CancelledError as exc:
                raise RoundFailed(
                    f"a round of the fit was cancelled on the cluster ({exc}); was the "
                    f"client or the scheduler restarted?") from exc
            except Exception as exc:
                _raise_if_lost_worker(exc)
                raise
            now = time.monotonic()
            if self.timeout is not None and now - start > self.timeout:
                raise TimeoutError(
                    f"a round of the fit took more than round_timeout={self.timeout} s "
                    f"on the cluster; the fit stopped. Raise round_timeout (or None), "
                    f"or check the workers (client.dashboard_link).")
            if now - last_check >= 1.0:
                last_check = now
                if self.client.nthreads():
                    last_seen = now
                elif now - last_seen > NO_WORKER_SECONDS:
                    raise RoundFailed(
                        f"the Dask cluster has had no worker for {NO_WORKER_SECONDS:.0f} s; "
                        f"the fit stopped. Start workers (or a new cluster) and fit again.")


def _release(futures):
    """Tell the scheduler the client no longer wants these results (a task
    still running finishes and is forgotten).  Releasing, not
    ``client.cancel``: cancelling keys whose dependents are finishing trips
    an assertion in the scheduler of distributed 2026.8."""
    for future in futures:
        future.release()


def _raise_if_lost_worker(exc):
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        raise RoundFailed(
            f"a round of the fit failed: Dask gave up on a task after the workers "
            f"running it died ({exc}). A chunk may need more memory than a worker "
            f"has (use smaller chunks or more memory per worker), or the workers "
            f"were killed.") from exc


def run_interruptibly(body, stop):
    """Run ``body()`` in a thread and return its result (or raise its
    exception), so that Ctrl-C on the client, which only ever reaches the
    main thread, can set ``stop``: the body notices it within a poll."""
    outcome = {}
    finished = threading.Event()

    def target():
        try:
            outcome["value"] = body()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=target, name="descend-dask-fit", daemon=True)
    thread.start()
    # an Event's wait, not Thread.join: a KeyboardInterrupt inside join can
    # leave the thread marked as finished while it still runs
    while not finished.is_set():
        try:
            finished.wait(POLL_SECONDS)
        except KeyboardInterrupt:
            stop.set()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
