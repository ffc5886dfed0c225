# cython: language_level=3
"""Dense epoch kernels: full batch, mini-batch and per-sample.

Every kernel takes C-contiguous memoryviews and scalars, releases the GIL,
and touches no Python object inside its loops.  Validation happened before
(in Python); these functions trust their inputs.

Model: K output columns (K = 1 for regression and binary log loss, K =
n_classes for the multinomial loss).  ``W`` is (K, p), ``b`` is (K,).  The
objective is ``sum_i sw_i loss_i / sum_i sw_i + l2/2 * ||W||^2``.

Scratch ``work`` is (n_chunks, K*p + 2K + 1) doubles, laid out per chunk as
[gradient of W (K*p) | gradient of b (K) | logits (K) | loss (1)].

The public kernels run a BLOCK of epochs per call and apply the stopping
rule themselves, so small problems do not pay Python's per-call cost each
epoch; the caller sizes blocks to a fraction of a second (Ctrl-C stays
responsive between blocks).  Each epoch writes one row of ``hist``:
[objective, gradient norm (NaN if unknown), step size, seconds since the
call started, cumulative updates].  Return codes: 0 = block done,
1 = converged (tol), 2 = diverged: the epoch's objective or coefficients
were not finite, the coefficients were restored to the start of that epoch
(the end of the last recorded one), and that epoch is not recorded.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, fmax, isfinite, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from openmp cimport omp_get_wtime

from ._common cimport *
from ._csrc cimport *

# A mini-batch is split across threads only when it holds at least this many
# multiply-adds (K * p * rows); below it the fork/join costs more than it saves.
cdef Py_ssize_t PARALLEL_MIN_WORK = 1 << 17
# Shuffled kernels prefetch the row this many visits ahead: enough rows in
# flight to cover the memory latency of a random row fetch.
cdef enum:
    PREFETCH_AHEAD = 4


cdef inline void _prefetch_row(const floating *X, const floating *y,
                               const floating *sw, Py_ssize_t p,
                               const int64_t *rows, Py_ssize_t ii,
                               Py_ssize_t n_rows) noexcept nogil:
    """Prefetch what visit ii + PREFETCH_AHEAD will read (see vec.h)."""
    if floating is float:
        descend_prefetch_row_f32(X, y, sw, p, rows, ii, n_rows, PREFETCH_AHEAD)
    else:
        descend_prefetch_row_f64(X, y, sw, p, rows, ii, n_rows, PREFETCH_AHEAD)


cdef inline Py_ssize_t _row(const floating *X, const floating *y,
                            const floating *sw, Py_ssize_t p,
                            const int64_t *rows, Py_ssize_t n_rows,
                            Py_ssize_t ii) noexcept nogil:
    """The row of visit ii (prefetching a later visit's when shuffled)."""
    if rows == NULL:
        return ii
    _prefetch_row(X, y, sw, p, rows, ii, n_rows)
    return rows[ii]


cdef double _accumulate_single(const floating *X, const floating *y,
                               const floating *sw, const floating *W,
                               const floating *b, Py_ssize_t p, int loss, double epsilon,
                               const int64_t *rows, Py_ssize_t n_rows,
                               Py_ssize_t start, Py_ssize_t end,
                               double *g) noexcept nogil:
    """_accumulate for one output (squared or binary log loss)."""
    cdef Py_ssize_t ii, i
    cdef const floating *x
    cdef double total = 0.0, d
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    for ii in range(start, end):
        i = _row(X, y, sw, p, rows, n_rows, ii)
        x = X + i * p
        total += _single_loss(loss, epsilon, _dot(x, W, p) + b[0], y[i], sw[i], &d,
                              &block)
        _acc(g, d, x, p)
        g[p] += d
    return total + _flush(&block)


cdef double _accumulate_multinomial(const floating *X, const floating *y,
                                    const floating *sw, const floating *W,
                                    const floating *b, Py_ssize_t p, int k,
                                    const int64_t *rows, Py_ssize_t n_rows,
                                    Py_ssize_t start, Py_ssize_t end,
                                    double *g) noexcept nogil:
    """_accumulate for K softmax outputs; logits go to g[K*p + K:]."""
    cdef Py_ssize_t ii, i, c
    cdef const floating *x
    cdef double total = 0.0, d, wi
    cdef double *gb = g + k * p
    cdef double *zs = gb + k
    for ii in range(start, end):
        i = _row(X, y, sw, p, rows, n_rows, ii)
        x = X + i * p
        wi = sw[i]
        for c in range(k):
            zs[c] = _dot(x, W + c * p, p) + b[c]
        total += wi * descend_multinomial_loss(zs, k, <int>y[i])
        for c in range(k):
            d = wi * zs[c]
            _acc(g + c * p, d, x, p)
            gb[c] += d
    return total


cdef inline double _accumulate(const floating *X, const floating *y,
                               const floating *sw, const floating *W,
                               const floating *b, Py_ssize_t p, int k,
                               int loss, double epsilon, const int64_t *rows,
                               Py_ssize_t n_rows, Py_ssize_t start,
                               Py_ssize_t end, double *g) noexcept nogil:
    """Add sum_i sw_i * dloss_i * [x_i, 1] to g for visits start..end (row
    rows[ii] when ``rows`` is not NULL, of n_rows entries; else row ii);
    return sum_i sw_i * loss_i.  One read of each row: the logits, loss and
    derivative are formed, then the row is added to the gradient while it
    is still in cache.  The loss is chosen here, once per block of rows."""
    if loss == DESCEND_MULTINOMIAL:
        return _accumulate_multinomial(X, y, sw, W, b, p, k, rows, n_rows,
                                       start, end, g)
    return _accumulate_single(X, y, sw, W, b, p, loss, epsilon, rows, n_rows, start,
                              end, g)


cdef double _chunked_gradient(const floating *X, const floating *y,
                              const floating *sw, const floating *W,
                              const floating *b, Py_ssize_t p, int k,
                              int loss, double epsilon, const int64_t *rows, Py_ssize_t n_rows,
                              Py_ssize_t start, Py_ssize_t end, double *work,
                              Py_ssize_t width,
                              Py_ssize_t n_chunks, int n_threads) noexcept nogil:
    """Gradient of rows start..end into work[0 : k*p + k]; returns the
    weighted loss sum.  Rows are cut into ``n_chunks`` static blocks, each
    with its own buffer, summed in chunk order: the result depends on
    ``n_chunks`` only, never on the number of threads."""
    cdef Py_ssize_t c, j, cs, ce
    cdef Py_ssize_t m = end - start, n_grad = k * p + k
    cdef double *buf
    cdef double total = 0.0
    if n_chunks <= 1:
        for j in range(n_grad):
            work[j] = 0.0
        return _accumulate(X, y, sw, W, b, p, k, loss, epsilon, rows, n_rows, start,
                           end, work)
    for c in prange(n_chunks, schedule='static', num_threads=n_threads):
        buf = work + c * width
        for j in range(n_grad):
            buf[j] = 0.0
        cs = start + (m * c) // n_chunks
        ce = start + (m * (c + 1)) // n_chunks
        buf[width - 1] = _accumulate(X, y, sw, W, b, p, k, loss, epsilon, rows,
                                     n_rows, cs, ce, buf)
    _reduce_chunks(work, width, n_grad, n_chunks, n_threads)
    for c in range(n_chunks):
        total += work[c * width + width - 1]
    return total


cdef double _validation_score(const Config *cfg, const floating *X,
                              const floating *y, const floating *sw,
                              const floating *W, const floating *b,
                              Py_ssize_t p, int k, const int64_t *rows,
                              Py_ssize_t n_rows, double *z) noexcept nogil:
    """Weighted accuracy (classifiers) or R^2 (regression) on the given rows."""
    cdef Py_ssize_t ii, i, c, best
    cdef double hit = 0.0, total = 0.0, r, zi
    for ii in range(n_rows):
        i = rows[ii]
        if cfg.loss == DESCEND_MULTINOMIAL:
            best = 0
            for c in range(k):
                z[c] = _dot(X + i * p, W + c * p, p) + b[c]
                if z[c] > z[best]:
                    best = c
            hit += sw[i] * (best == <Py_ssize_t>y[i])
        else:
            zi = _dot(X + i * p, W, p) + b[0]
            if cfg.regression:
                r = zi - y[i]
                hit += sw[i] * r * r
            else:
                hit += sw[i] * ((zi > 0.0) == (y[i] > 0.5))
        total += sw[i]
    if cfg.regression:
        return 1.0 - hit / cfg.val_sst if cfg.val_sst > 0.0 else 0.0
    return hit / total


cdef inline void _average_step(const floating *W, const floating *b, double *avg,
                               double a, Py_ssize_t p) noexcept nogil:
    """The running average of [w, b] of one output: avg += (x - avg) * a."""
    cdef Py_ssize_t j
    for j in range(p):
        avg[j] += (W[j] - avg[j]) * a
    avg[p] += (b[0] - avg[p]) * a


def run_epochs(const floating[:, ::1] X, const floating[::1] y,
               const floating[::1] sw, floating[:, ::1] W, floating[::1] b,
               floating[:, ::1] W_eff, floating[::1] b_eff,
               const double[::1] mu, const double[::1] inv_sigma,
               int64_t[::1] train_rows, const int64_t[::1] val_rows,
               uint64_t[::1] rng_state, double[:, ::1] work,
               double[:, ::1] state, double[::1] scalars, Config cfg,
               Py_ssize_t epochs_before, double[:, ::1] hist):
    """Up to hist.shape[0] epochs over the training rows; returns
    (epochs recorded, status).

    W, b are the model in the space the solver works in (the scaled space
    when cfg.scale, with W_eff, b_eff its raw-space twin used to read X).
    Full batch (cfg.batch_size == 0): ONE pass over X per epoch gives the
    objective and the gradient at W, then one update; the objective recorded
    is the one at the epoch's start.  Otherwise batches of rows of the
    (shuffled) ``train_rows`` order each give one update; the recorded
    objective is the running mean of the rows' losses before their updates
    plus the penalty at the epoch's end.  With cfg.evaluate_only one "epoch"
    computes objective and gradient (state row ROW_GRAD) at W, nothing else.
    """
    cdef Py_ssize_t n = train_rows.shape[0], p = X.shape[1]
    cdef Py_ssize_t width = work.shape[1], n_epochs = hist.shape[0]
    cdef int k = W.shape[0]
    cdef Py_ssize_t kp = k * p, n_all = kp + k
    cdef Py_ssize_t e, epoch, s, end, ii, i, n_chunks, done = 0
    cdef Py_ssize_t batch = cfg.batch_size if cfg.batch_size > 0 else n
    cdef Py_ssize_t updates_per_epoch = (n + batch - 1) // batch
    cdef int status = STATUS_RUNNING
    cdef double total, eta = cfg.eta0, gsq = NAN, objective, d
    cdef double val_score = NAN, decay
    cdef double sw_scale = n / cfg.sw_sum
    cdef double t0 = omp_get_wtime()
    cdef const floating *x
    cdef const floating *Xp = &X[0, 0]
    cdef floating *Wp = &W[0, 0]
    cdef floating *bp = &b[0]
    cdef const floating *Wr = &W_eff[0, 0] if cfg.scale else &W[0, 0]
    cdef const floating *br = &b_eff[0] if cfg.scale else &b[0]
    cdef int64_t *rows = &train_rows[0]
    cdef const int64_t *all_rows = NULL if cfg.rows_identity else rows
    cdef double *st = &state[0, 0]
    cdef double *sc = &scalars[0]
    cdef bint fast = (cfg.batch_size == 1 and k == 1 and cfg.optimizer == OPT_SGD
                      and cfg.l1 == 0.0 and cfg.clip_norm <= 0.0 and not cfg.scale)
    cdef double *avg = st + ROW_AVERAGE * n_all
    cdef LogBlock block
    with nogil:
        for e in range(n_epochs):
            epoch = epochs_before + e + 1
            _copy_out(Wp, bp, st + ROW_START * n_all, kp, k)
            if cfg.scale:
                _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0],
                                   &mu[0], &inv_sigma[0], p, k)
            if cfg.batch_size == 0:
                total = _chunked_gradient(Xp, &y[0], &sw[0], Wr, br, p, k,
                                          cfg.loss, cfg.epsilon, all_rows, n, 0, n,
                                          &work[0, 0], width, work.shape[0],
                                          cfg.n_threads)
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
                    # Per-sample SGD fused into one pass over each row; rows a
                    # few visits ahead are prefetched meanwhile.
                    block.product = 1.0
                    block.count = 0
                    for ii in range(n):
                        i = _row(Xp, &y[0], &sw[0], p, rows, n, ii)
                        x = Xp + i * p
                        total += _single_loss(cfg.loss, cfg.epsilon, _dot(x, Wp, p) + bp[0],
                                              y[i], sw[i], &d, &block)
                        d *= sw_scale
                        sc[SC_T] += 1.0
                        eta = _eta(&cfg, sc[SC_T], epoch, sc[SC_ETA_ADAPTIVE],
                                   updates_per_epoch)
                        # the decay clamped at 0 (eta * l2 > 1 zeroes w), as scikit-learn
                        decay = fmax(0.0, 1.0 - eta * cfg.l2)
                        if floating is float:
                            descend_decay_axpy_f32(Wp, decay, eta * d, x, p)
                        else:
                            descend_decay_axpy_f64(Wp, decay, eta * d, x, p)
                        if cfg.fit_intercept:
                            bp[0] = <floating>(bp[0] - eta * d * cfg.intercept_decay)
                        if cfg.average_start > 0.0 and sc[SC_T] >= cfg.average_start:
                            _average_step(Wp, bp, avg, 1.0 / (sc[SC_T] - cfg.average_start + 1.0),
                                          p)
                    total += _flush(&block)
                else:
                    s = 0
                    while s < n:
                        end = s + batch
                        if end > n:
                            end = n
                        n_chunks = 1
                        if cfg.n_threads > 1 and (end - s) * p * k >= PARALLEL_MIN_WORK:
                            n_chunks = cfg.n_threads
                            if n_chunks > work.shape[0]:
                                n_chunks = work.shape[0]
                        total += _chunked_gradient(Xp, &y[0], &sw[0], Wr, br, p,
                                                   k, cfg.loss, cfg.epsilon, rows, n, s, end,
                                                   &work[0, 0], width, n_chunks,
                                                   cfg.n_threads)
                        sc[SC_T] += 1.0
                        eta = _eta(&cfg, sc[SC_T], epoch, sc[SC_ETA_ADAPTIVE],
                                   updates_per_epoch)
                        _update(&cfg, Wp, bp, &work[0, 0], sw_scale / (end - s),
                                eta, sc[SC_T], st, sc, &mu[0], &inv_sigma[0], p, k)
                        if cfg.scale:
                            _refresh_effective(Wp, bp, &W_eff[0, 0],
                                               &b_eff[0], &mu[0], &inv_sigma[0], p, k)
                        s = end
                objective = total / cfg.sw_sum + _penalty(&cfg, Wp, kp)
            if cfg.early_stopping:
                if cfg.scale:
                    _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0],
                                       &mu[0], &inv_sigma[0], p, k)
                val_score = _validation_score(&cfg, Xp, &y[0], &sw[0], Wr, br, p, k,
                                              &val_rows[0], val_rows.shape[0],
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


def check_stop(Config cfg, double[::1] scalars, double value):
    """The kernels' stopping rule, for epochs run from Python (line search):
    bit 1 = stop, bit 2 = new best."""
    return _monitor(&cfg, &scalars[0], value)
