"""descend on Dask: the machinery behind the public ``descend.dask`` module.

_chunks     what runs where a chunk lives (on a worker): validation, moments,
            a certificate pass, local epochs; each returns a Part to add up
_rounds     the client's side of a round: one task per chunk, a tree
            reduction on the workers, a wait that never hangs
_collection Dask input (arrays, DataFrames) as aligned blocks, labels, names
_exact      mode "exact": full-batch L-BFGS / AGD / line search over rounds
_local      mode "local_sgd": local epochs per chunk, averaged every round
_estimator  the mixin the public estimators share
"""
