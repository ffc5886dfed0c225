"""The client's side of a round on a Dask cluster.

A round runs a function on every chunk where the chunk lives and adds up
the chunks' Parts, always in chunk order, so the total does not depend on
where the tasks ran.  Up to GATHER_CHUNKS chunks, one task per worker
thread runs over the chunks its worker holds (one scheduler round trip per
thread, not per chunk) and the client adds the chunks' parts: O(K p)
numbers per chunk, never rows.  Beyond it, one task per chunk, and a tree
of ``combine`` tasks on the workers (SPLIT_EVERY parts each) leaves the
client one total.  Small arguments (coefficients) travel inside the tasks;
larger ones are scattered once per round and fetched by the workers from
each other.

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

from ._chunks import combine, run_group

#: up to this many chunks, a round runs one task per worker thread (over the
#: chunks that worker holds) and the client adds the chunks' parts; beyond
#: it, one task per chunk and a tree of reduction tasks on the workers
GATHER_CHUNKS = 64
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


#: what ends a fit early but keeps what it learnt: the client's interrupt,
#: a cluster that cannot complete a round, ``round_timeout``
STOPS = (Interrupted, RoundFailed, TimeoutError)


def stop_reason(exc):
    """history_.stop_reason for one of STOPS."""
    return "interrupted" if isinstance(exc, Interrupted) else "failed"


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
        in chunk order; returns (the total Part's value, RoundStats)."""
        start = time.perf_counter()
        size = nbytes(shared)
        n = len(self.chunks)
        scattered = size > SCATTER_BYTES
        if scattered:
            shared = {name: self.client.scatter(value, hash=False)
                      for name, value in shared.items()}
        if n <= GATHER_CHUNKS:
            args = list(zip(*per_chunk)) if per_chunk else [()] * n
            part, received, tasks = self._grouped(func, args, shared)
        else:
            part, received, tasks = self._tree(func, per_chunk, shared)
        sent = size if scattered else size * tasks
        stats = RoundStats(time.perf_counter() - start, max(part.seconds.values(), default=0.0),
                           sent + received)
        return part.value, stats

    def _groups(self):
        """Chunk indices per task: the chunks each worker holds, dealt among
        its threads; a chunk not in memory yet is a task of its own."""
        where = self.client.who_has(self.chunks)
        threads = self.client.nthreads()
        held = {}
        for i, future in enumerate(self.chunks):
            holders = where.get(future.key) or ()
            held.setdefault(holders[0] if holders else i, []).append(i)
        groups = []
        for holder, indices in held.items():
            k = min(len(indices), max(1, threads.get(holder, 1)))
            groups += [indices[j::k] for j in range(k)]
        return groups

    def _grouped(self, func, args, shared):
        """One task per group of chunks; the client adds the chunks' parts."""
        groups = self._groups()
        futures = [self.client.submit(run_group, func, [self.chunks[i] for i in group],
                                      [args[i] for i in group], shared, pure=False)
                   for group in groups]
        try:
            lists = self.wait(futures)
        finally:
            _release(futures)
        parts = [None] * len(self.chunks)
        for group, values in zip(groups, lists):
            for i, part in zip(group, values):
                parts[i] = part
        received = nbytes([p.value for p in parts])
        while len(parts) > 1:  # the association of the workers' tree: the same bits
            parts = [combine(*parts[i:i + SPLIT_EVERY])
                     for i in range(0, len(parts), SPLIT_EVERY)]
        return parts[0], received, len(futures)

    def _tree(self, func, per_chunk, shared):
        """One task per chunk, added SPLIT_EVERY at a time on the workers."""
        futures = self.client.map(func, self.chunks, *per_chunk, pure=False, **shared)
        level, spawned = futures, list(futures)
        while len(level) > 1:
            level = [self.client.submit(combine, *level[i:i + SPLIT_EVERY], pure=False)
                     for i in range(0, len(level), SPLIT_EVERY)]
            spawned += level
        try:
            part = self.wait(level)[0]
        finally:
            _release(spawned)
        return part, nbytes(part.value), len(futures)

    def wait(self, futures):
        """The futures' results, waiting in short polls (see the module
        docstring for when it gives up)."""
        try:
            self._poll(futures)
            return self.client.gather(futures)
        except CancelledError as exc:
            raise RoundFailed(
                f"a round of the fit was cancelled on the cluster ({exc}): data it "
                f"needs was lost and cannot be recomputed (e.g. arrays put on a "
                f"worker that died with client.scatter: build the Dask collection "
                f"from a graph, e.g. da.from_array or dd.read_parquet, to make it "
                f"recomputable), or the client lost its scheduler.") from exc
        except Exception as exc:
            _raise_if_lost_worker(exc)
            raise

    def _poll(self, futures):
        from distributed import wait

        start = last_seen = last_check = time.monotonic()
        while True:
            if self.stop.is_set():
                raise Interrupted
            try:
                wait(futures, timeout=POLL_SECONDS)
                return
            except TimeoutError:
                pass
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
