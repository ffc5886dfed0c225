# cython: language_level=3
"""CSR epoch kernels: full batch, mini-batch and per-sample.

The same epochs as ``_dense`` (same configuration, state, update rule and
stopping rule, shared through ``_common.pxd``), reading rows of a CSR
matrix: float32/float64 values, int32/int64 indices, unsorted indices and
explicit zeros allowed.  Forming a row's margin and adding it to the
gradient cost O(nnz of the row).

Per-sample plain SGD is O(nnz) per step: the L2 decay multiplies a scale
factor s (w = s * v) instead of every coefficient, and only the row's
coefficients of v move.  Every other configuration goes through the general
update, which touches all K*p coefficients once per batch.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, isfinite, sqrt
from libc.stdint cimport int32_t, int64_t, uint64_t
from openmp cimport omp_get_wtime

from ._common cimport *
from ._csrc cimport *

ctypedef fused index_t:
    int32_t
    int64_t

# The decay scale of the per-sample path is folded into the coefficients
# when it falls below this (rare; O(p) each time).
cdef double MIN_SCALE = 1e-9
# A mini-batch is split across threads from this many multiply-adds on.
cdef double PARALLEL_MIN_WORK = 1 << 17


# Two-stage prefetch of shuffled CSR rows: the row's values and indices
# ROW_AHEAD visits ahead; the coefficients it points to WEIGHTS_AHEAD visits
# ahead, when its indices are already in cache.
cdef enum:
    ROW_AHEAD = 8
    WEIGHTS_AHEAD = 4


cdef inline void _prefetch_csr(const floating *data, const index_t *ind,
                               const index_t *indptr, const floating *W,
                               const floating *y, const floating *sw,
                               const int64_t *rows, Py_ssize_t ii,
                               Py_ssize_t n_rows) noexcept nogil:
    """See csrc/descend/sparse.h."""
    if floating is float:
        if index_t is int32_t:
            descend_prefetch_csr_f32_i32(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ROW_AHEAD, WEIGHTS_AHEAD)
        else:
            descend_prefetch_csr_f32_i64(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ROW_AHEAD, WEIGHTS_AHEAD)
    else:
        if index_t is int32_t:
            descend_prefetch_csr_f64_i32(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ROW_AHEAD, WEIGHTS_AHEAD)
        else:
            descend_prefetch_csr_f64_i64(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ROW_AHEAD, WEIGHTS_AHEAD)


cdef inline double _sdot(const floating *data, const index_t *ind,
                         Py_ssize_t nnz, const floating *w) noexcept nogil:
    cdef Py_ssize_t j
    cdef double s = 0.0
    for j in range(nnz):
        s += <double>data[j] * <double>w[ind[j]]
    return s


cdef inline void _sacc(double *g, double a, const floating *data,
                       const index_t *ind, Py_ssize_t nnz) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(nnz):
        g[ind[j]] += a * <double>data[j]


cdef double _accumulate(const floating *data, const index_t *ind,
                        const index_t *indptr, const floating *y,
                        const floating *sw, const floating *W,
                        const floating *b, Py_ssize_t p, int k, int loss, double epsilon,
                        const int64_t *rows, Py_ssize_t start,
                        Py_ssize_t end, double *g) noexcept nogil:
    """As _dense._accumulate, over CSR rows (rows[ii], or ii when NULL)."""
    cdef Py_ssize_t ii, i, c, lo, nnz
    cdef double total = 0.0, d, wi
    cdef double *gb = g + k * p
    cdef double *zs = gb + k
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    for ii in range(start, end):
        if rows != NULL:
            i = rows[ii]
            _prefetch_csr(data, ind, indptr, W, y, sw, rows, ii, end)
        else:
            i = ii
        lo = indptr[i]
        nnz = indptr[i + 1] - lo
        wi = sw[i]
        if loss == DESCEND_MULTINOMIAL:
            for c in range(k):
                zs[c] = _sdot(data + lo, ind + lo, nnz, W + c * p) + b[c]
            total += wi * descend_multinomial_loss(zs, k, <int>y[i])
            for c in range(k):
                d = wi * zs[c]
                _sacc(g + c * p, d, data + lo, ind + lo, nnz)
                gb[c] += d
        else:
            total += _single_loss(loss, epsilon, _sdot(data + lo, ind + lo, nnz, W) + b[0],
                                  y[i], wi, &d, &block)
            _sacc(g, d, data + lo, ind + lo, nnz)
            gb[0] += d
    return total + _flush(&block)


cdef double _chunked_gradient(const floating *data, const index_t *ind,
                              const index_t *indptr, const floating *y,
                              const floating *sw, const floating *W,
                              const floating *b, Py_ssize_t p, int k,
                              int loss, double epsilon, const int64_t *rows, Py_ssize_t start,
                              Py_ssize_t end, double *work, Py_ssize_t width,
                              Py_ssize_t n_chunks, int n_threads) noexcept nogil:
    """As _dense._chunked_gradient: chunk buffers summed in chunk order, so
    the result depends on the chunk count only."""
    cdef Py_ssize_t c, j, cs, ce
    cdef Py_ssize_t m = end - start, n_grad = k * p + k
    cdef double *buf
    cdef double total = 0.0
    if n_chunks <= 1:
        for j in range(n_grad):
            work[j] = 0.0
        return _accumulate(data, ind, indptr, y, sw, W, b, p, k, loss, epsilon, rows,
                           start, end, work)
    for c in prange(n_chunks, schedule='static', num_threads=n_threads):
        buf = work + c * width
        for j in range(n_grad):
            buf[j] = 0.0
        cs = start + (m * c) // n_chunks
        ce = start + (m * (c + 1)) // n_chunks
        buf[width - 1] = _accumulate(data, ind, indptr, y, sw, W, b, p, k,
                                     loss, epsilon, rows, cs, ce, buf)
    _reduce_chunks(work, width, n_grad, n_chunks, n_threads)
    for c in range(n_chunks):
        total += work[c * width + width - 1]
    return total


cdef double _validation_score(const Config *cfg, const floating *data,
                              const index_t *ind, const index_t *indptr,
                              const floating *y, const floating *sw,
                              const floating *W, const floating *b,
                              Py_ssize_t p, int k, const int64_t *rows,
                              Py_ssize_t n_rows, double *z) noexcept nogil:
    """Weighted accuracy (classifiers) or R^2 (regression) on the given rows."""
    cdef Py_ssize_t ii, i, c, best, lo, nnz
    cdef double hit = 0.0, total = 0.0, r, zi
    for ii in range(n_rows):
        i = rows[ii]
        lo = indptr[i]
        nnz = indptr[i + 1] - lo
        if cfg.loss == DESCEND_MULTINOMIAL:
            best = 0
            for c in range(k):
                z[c] = _sdot(data + lo, ind + lo, nnz, W + c * p) + b[c]
                if z[c] > z[best]:
                    best = c
            hit += sw[i] * (best == <Py_ssize_t>y[i])
        else:
            zi = _sdot(data + lo, ind + lo, nnz, W) + b[0]
            if cfg.regression:
                r = zi - y[i]
                hit += sw[i] * r * r
            else:
                hit += sw[i] * ((zi > 0.0) == (y[i] > 0.5))
        total += sw[i]
    if cfg.regression:
        return 1.0 - hit / cfg.val_sst if cfg.val_sst > 0.0 else 0.0
    return hit / total


cdef inline void _fold_scale(floating *W, Py_ssize_t p, double *scale) noexcept nogil:
    """w = s * v: multiply the scale into the coefficients, reset it to 1."""
    cdef Py_ssize_t j
    if scale[0] != 1.0:
        for j in range(p):
            W[j] = <floating>(W[j] * scale[0])
        scale[0] = 1.0


def run_epochs(const floating[::1] data, const index_t[::1] indices,
               const index_t[::1] indptr, Py_ssize_t n_features,
               const floating[::1] y, const floating[::1] sw,
               floating[:, ::1] W, floating[::1] b, floating[:, ::1] W_eff,
               floating[::1] b_eff, const double[::1] mu,
               const double[::1] inv_sigma, int64_t[::1] train_rows,
               const int64_t[::1] val_rows, uint64_t[::1] rng_state,
               double[:, ::1] work, double[:, ::1] state, double[::1] scalars,
               Config cfg, Py_ssize_t epochs_before, double[:, ::1] hist):
    """_dense.run_epochs for a CSR matrix given as (data, indices, indptr)."""
    cdef Py_ssize_t n = train_rows.shape[0], p = n_features
    cdef Py_ssize_t width = work.shape[1], n_epochs = hist.shape[0]
    cdef int k = W.shape[0]
    cdef Py_ssize_t kp = k * p, n_all = kp + k
    cdef Py_ssize_t e, epoch, s, end, ii, i, j, lo, nnz, n_chunks, done = 0
    cdef Py_ssize_t batch = cfg.batch_size if cfg.batch_size > 0 else n
    cdef Py_ssize_t updates_per_epoch = (n + batch - 1) // batch
    cdef int status = STATUS_RUNNING
    cdef double total, eta = cfg.eta0, gsq = NAN, objective, d
    cdef double val_score = NAN, scale, step
    cdef double sw_scale = n / cfg.sw_sum
    cdef double t0 = omp_get_wtime()
    cdef const floating *dp = &data[0] if data.shape[0] > 0 else NULL
    cdef const index_t *ip = &indices[0] if indices.shape[0] > 0 else NULL
    cdef const index_t *pp = &indptr[0]
    cdef floating *Wp = &W[0, 0]
    cdef floating *bp = &b[0]
    cdef const floating *Wr = &W_eff[0, 0] if cfg.scale else &W[0, 0]
    cdef const floating *br = &b_eff[0] if cfg.scale else &b[0]
    cdef int64_t *rows = &train_rows[0]
    cdef const int64_t *all_rows = NULL if cfg.rows_identity else rows
    cdef double *st = &state[0, 0]
    cdef double *sc = &scalars[0]
    cdef bint fast = (cfg.batch_size == 1 and k == 1 and cfg.optimizer == OPT_SGD
                      and cfg.l1 == 0.0 and cfg.clip_norm <= 0.0
                      and cfg.average_start == 0.0 and not cfg.scale)
    cdef double avg_nnz = pp[indptr.shape[0] - 1] / <double>(indptr.shape[0] - 1)
    cdef LogBlock block
    with nogil:
        for e in range(n_epochs):
            epoch = epochs_before + e + 1
            _copy_out(Wp, bp, st + ROW_START * n_all, kp, k)
            if cfg.scale:
                _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0], &mu[0],
                                   &inv_sigma[0], p, k)
            if cfg.batch_size == 0:
                total = _chunked_gradient(dp, ip, pp, &y[0], &sw[0], Wr, br, p, k,
                                          cfg.loss, cfg.epsilon, all_rows, 0, n, &work[0, 0],
                                          width, work.shape[0], cfg.n_threads)
                objective = total / cfg.sw_sum + _penalty(&cfg, Wp, kp)
                eta = _eta(&cfg, sc[SC_T] + 1.0, epoch, sc[SC_ETA_ADAPTIVE],
                           updates_per_epoch)
                gsq = _update(&cfg, Wp, bp, &work[0, 0], 1.0 / cfg.sw_sum, eta,
                              sc[SC_T] + 1.0, st, sc, &mu[0], &inv_sigma[0], p, k)
                if cfg.evaluate_only:
                    hist[e, H_OBJECTIVE] = objective
                    hist[e, H_GRAD_NORM] = sqrt(gsq)
                    done = 1
                    break
                sc[SC_T] += 1.0
            else:
                if cfg.shuffle:
                    descend_shuffle(rows, n, &rng_state[0])
                total = 0.0
                if fast:
                    # O(nnz) per step: w = scale * v; the decay multiplies
                    # the scale, the row's entries of v take the step.
                    block.product = 1.0
                    block.count = 0
                    scale = 1.0
                    for ii in range(n):
                        i = rows[ii]
                        _prefetch_csr(dp, ip, pp, Wp, &y[0], &sw[0], rows, ii, n)
                        lo = pp[i]
                        nnz = pp[i + 1] - lo
                        total += _single_loss(
                            cfg.loss, cfg.epsilon, scale * _sdot(dp + lo, ip + lo, nnz, Wp) + bp[0],
                            y[i], sw[i], &d, &block)
                        d *= sw_scale
                        sc[SC_T] += 1.0
                        eta = _eta(&cfg, sc[SC_T], epoch, sc[SC_ETA_ADAPTIVE],
                                   updates_per_epoch)
                        scale *= 1.0 - eta * cfg.l2
                        if scale < MIN_SCALE:
                            _fold_scale(Wp, p, &scale)
                        step = eta * d / scale
                        for j in range(nnz):
                            Wp[ip[lo + j]] = <floating>(Wp[ip[lo + j]] - step * dp[lo + j])
                        if cfg.fit_intercept:
                            bp[0] = <floating>(bp[0] - eta * d)
                    _fold_scale(Wp, p, &scale)
                    total += _flush(&block)
                else:
                    s = 0
                    while s < n:
                        end = s + batch
                        if end > n:
                            end = n
                        n_chunks = 1
                        if cfg.n_threads > 1 and (end - s) * avg_nnz * k >= PARALLEL_MIN_WORK:
                            n_chunks = cfg.n_threads
                            if n_chunks > work.shape[0]:
                                n_chunks = work.shape[0]
                        total += _chunked_gradient(dp, ip, pp, &y[0], &sw[0], Wr, br,
                                                   p, k, cfg.loss, cfg.epsilon, rows, s, end,
                                                   &work[0, 0], width, n_chunks,
                                                   cfg.n_threads)
                        sc[SC_T] += 1.0
                        eta = _eta(&cfg, sc[SC_T], epoch, sc[SC_ETA_ADAPTIVE],
                                   updates_per_epoch)
                        _update(&cfg, Wp, bp, &work[0, 0], sw_scale / (end - s),
                                eta, sc[SC_T], st, sc, &mu[0], &inv_sigma[0], p, k)
                        if cfg.scale:
                            _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0],
                                               &mu[0], &inv_sigma[0], p, k)
                        s = end
                objective = total / cfg.sw_sum + _penalty(&cfg, Wp, kp)
            if cfg.early_stopping:
                if cfg.scale:
                    _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0], &mu[0],
                                       &inv_sigma[0], p, k)
                val_score = _validation_score(&cfg, dp, ip, pp, &y[0], &sw[0], Wr, br,
                                              p, k, &val_rows[0], val_rows.shape[0],
                                              &work[0, 0] + kp + k)
            status = _end_epoch(&cfg, Wp, bp, st, sc, &hist[e, 0], objective,
                                sqrt(gsq) if cfg.batch_size == 0 else NAN, eta,
                                omp_get_wtime() - t0, val_score, kp, k)
            if status == STATUS_DIVERGED:
                break
            done = e + 1
            if status == STATUS_CONVERGED:
                break
    return done, status
