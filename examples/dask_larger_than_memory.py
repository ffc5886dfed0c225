"""Training on data larger than one worker's memory, with descend.dask.

Starts a dask.distributed LocalCluster of 4 worker processes (one thread,
1 GiB of memory each, about 300 MiB of which a worker's Python, NumPy and
Dask take), has the workers generate 1.1 GiB of logistic data (float64, in
chunks: nothing is generated on the client), then fits
descend.dask.LogisticRegression on it:

- mode="exact" (the default): full-batch L-BFGS, every pass run by
  descend's kernels on each chunk where it lives, to a certified 1e-6 gap;
- predictions as a lazy Dask array (accuracy computed on the workers);
- mode="local_sgd": a few epochs of mini-batch SGD on each chunk, averaged
  after every epoch.

The client only ever holds coefficients and per-round totals: how much its
memory grew is printed at the end.  On a real cluster, replace the LocalCluster with
Client("scheduler-address:8786") and load the data on the workers
(dd.read_parquet, da.from_zarr); docs/dask.md says more.

    pip install "descend[dask]"
    python examples/dask_larger_than_memory.py
"""
import time
import warnings

import dask.array as da
import numpy as np
import psutil
from distributed import Client, LocalCluster, wait
from sklearn.exceptions import ConvergenceWarning

from descend.dask import LogisticRegression

N_WORKERS, MEMORY_LIMIT = 4, 2**30
N_FEATURES, ROWS_PER_CHUNK, N_CHUNKS = 40, 120_000, 32  # 3,840,000 x 40 float64
ALPHA = 1e-5


def make_data():
    """X and y as Dask arrays whose chunks the workers generate: features
    uniform on [-1, 1], labels from a fixed model plus logistic noise."""
    w = np.linspace(-2.0, 2.0, N_FEATURES)
    n = ROWS_PER_CHUNK * N_CHUNKS
    X = da.random.RandomState(0).uniform(-1.0, 1.0, size=(n, N_FEATURES),
                                         chunks=(ROWS_PER_CHUNK, N_FEATURES))
    noise = da.random.RandomState(1).logistic(size=n, chunks=ROWS_PER_CHUNK)
    y = (X @ w + 0.25 + noise > 0).astype(np.float64)
    return X, y


def main():
    cluster = LocalCluster(n_workers=N_WORKERS, threads_per_worker=1,
                           memory_limit=MEMORY_LIMIT, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    try:
        # generated once and kept in the workers' memory for both fits (a fit
        # also works on the graph alone, computing the chunks as it starts)
        start = time.perf_counter()
        X, y = client.persist(make_data())
        wait([X, y])
        print(f"data: {X.shape[0]:,} x {X.shape[1]} float64 = {X.nbytes / 2**20:,.0f} MiB "
              f"in {X.numblocks[0]} chunks, generated in {time.perf_counter() - start:.1f} s "
              f"on {N_WORKERS} workers with {MEMORY_LIMIT / 2**20:.0f} MiB of memory each")

        rss = psutil.Process().memory_info().rss
        start = time.perf_counter()
        model = LogisticRegression(alpha=ALPHA).fit(X, y)
        rounds = model.rounds_
        print(f"mode='exact': {time.perf_counter() - start:.1f} s, {model.n_iter_} "
              f"L-BFGS iterations, {len(rounds)} round trips "
              f"({rounds['compute_seconds'].sum():.1f} s computing on the busiest "
              f"worker, {rounds['communication_seconds'].sum():.1f} s not); the client "
              f"sent and received {rounds['client_bytes'].sum() / 1e3:.0f} kB in all")
        print(f"  objective {model.history_['objective'][-1]:.6f}, certified relative gap "
              f"{model.history_['gap'][-1]:.1e}, converged: {model.converged_}")

        accuracy = (model.predict(X) == y).mean()      # lazy: computed on the workers
        print(f"  training accuracy {float(accuracy.compute()):.4f}")

        start = time.perf_counter()
        local = LogisticRegression(alpha=ALPHA, mode="local_sgd", batch_size=256,
                                   optimizer="adam", eta0=0.01, average=True,
                                   max_iter=3, random_state=0)
        with warnings.catch_warnings():
            # a certificate pass after each round gives the exact objective; 3 epochs
            # of SGD are not meant to certify the 1e-3 gap of tol="auto"
            warnings.simplefilter("ignore", ConvergenceWarning)
            local.fit(X, y)
        print(f"mode='local_sgd': {time.perf_counter() - start:.1f} s, 3 epochs, "
              f"objective {local.history_['objective'][-1]:.6f} "
              f"(exact's {model.history_['objective'][-1]:.6f})")
        grown = (psutil.Process().memory_info().rss - rss) / 2**20
        print(f"the client's memory grew by {grown:.0f} MiB during all this (the data: "
              f"{X.nbytes / 2**20:,.0f} MiB)")
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
