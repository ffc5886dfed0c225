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
from libc.math cimport fabs, isfinite, log, pow, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from openmp cimport omp_get_wtime

from ._csrc cimport *

# Schedules of the step size over updates t = 1, 2, ...
cdef enum:
    SCHEDULE_CONSTANT = 0
    SCHEDULE_INVSCALING = 1

# A mini-batch is split across threads only when it holds at least this many
# multiply-adds (K * p * rows); below it the fork/join costs more than it saves.
cdef Py_ssize_t PARALLEL_MIN_WORK = 1 << 17
# Shuffled kernels prefetch the row this many visits ahead: enough rows in
# flight to cover the memory latency of a random row fetch.
cdef enum:
    PREFETCH_AHEAD = 4


cdef inline double _dot(const floating *x, const floating *w,
                        Py_ssize_t n) noexcept nogil:
    if floating is float:
        return descend_dot_f32(x, w, n)
    else:
        return descend_dot_f64(x, w, n)


cdef inline void _acc(double *g, double a, const floating *x,
                      Py_ssize_t n) noexcept nogil:
    if floating is float:
        descend_acc_f32(g, a, x, n)
    else:
        descend_acc_f64(g, a, x, n)


cdef inline double _step(floating *w, const double *g, Py_ssize_t n,
                         double decay, double step, double scale, double l2,
                         double *wsq) noexcept nogil:
    if floating is float:
        return descend_step_f32(w, g, n, decay, step, scale, l2, wsq)
    else:
        return descend_step_f64(w, g, n, decay, step, scale, l2, wsq)


cdef double NAN_VALUE = float("nan")


cdef inline double _sqnorm(const floating *w,
                                             Py_ssize_t n) noexcept nogil:
    """||w||^2 accumulated in double (NaN/inf propagate)."""
    return _dot(w, w, n)


cdef inline bint _finite(const floating *v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        if not isfinite(v[j]):
            return False
    return True


cdef inline double _eta(int schedule, double eta0, double power_t,
                        double t) noexcept nogil:
    if schedule == SCHEDULE_INVSCALING:
        return eta0 / pow(t, power_t)
    return eta0


cdef inline void _prefetch_row(const floating *X, const floating *y,
                               const floating *sw, Py_ssize_t p,
                               const int64_t *rows, Py_ssize_t ii,
                               Py_ssize_t n_rows) noexcept nogil:
    """Prefetch what visit ii + PREFETCH_AHEAD will read (see vec.h)."""
    if floating is float:
        descend_prefetch_row_f32(X, y, sw, p, rows, ii, n_rows, PREFETCH_AHEAD)
    else:
        descend_prefetch_row_f64(X, y, sw, p, rows, ii, n_rows, PREFETCH_AHEAD)


cdef struct LogBlock:
    # (1 + e) factors of unit-weight rows not yet folded into a sum by a log
    double product
    int count


cdef inline double _single_loss(int loss, double z, double yi, double wi,
                                double *d, LogBlock *block) noexcept nogil:
    """Weighted loss of one row of a single-output model; sets *d to the
    weighted derivative wi * dloss/dz.  Log loss of unit-weight rows defers
    its log part to ``block`` (one log per DESCEND_LOG_BLOCK rows, added
    when the block fills; _flush adds the rest)."""
    cdef double value, one_plus_e
    if loss == DESCEND_SQUARED:
        value = wi * descend_squared_loss(z, yi, d)
    else:
        value = wi * descend_log_loss_split(z, yi, d, &one_plus_e)
        if wi == 1.0:
            block.product *= one_plus_e
            block.count += 1
            if block.count == DESCEND_LOG_BLOCK:
                value += log(block.product)
                block.product = 1.0
                block.count = 0
        else:
            value += wi * log(one_plus_e)
    d[0] *= wi
    return value


cdef inline double _flush(LogBlock *block) noexcept nogil:
    cdef double value = log(block.product) if block.count else 0.0
    block.product = 1.0
    block.count = 0
    return value


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
                               const floating *b, Py_ssize_t p, int loss,
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
        total += _single_loss(loss, _dot(x, W, p) + b[0], y[i], sw[i], &d,
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
                               int loss, const int64_t *rows,
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
    return _accumulate_single(X, y, sw, W, b, p, loss, rows, n_rows, start,
                              end, g)


cdef double _chunked_gradient(const floating *X, const floating *y,
                              const floating *sw, const floating *W,
                              const floating *b, Py_ssize_t p, int k,
                              int loss, const int64_t *rows, Py_ssize_t n_rows,
                              Py_ssize_t start, Py_ssize_t end, double *work,
                              Py_ssize_t width,
                              Py_ssize_t n_chunks, int n_threads) noexcept nogil:
    """Gradient of rows start..end into work[0 : k*p + k]; returns the
    weighted loss sum.  Rows are cut into ``n_chunks`` static blocks, each
    with its own buffer, summed in chunk order: the result depends on
    ``n_chunks`` only, never on the number of threads."""
    cdef Py_ssize_t c, j, j0, j1, cs, ce
    cdef Py_ssize_t m = end - start, n_grad = k * p + k
    cdef Py_ssize_t block = 2048
    cdef double *buf
    cdef double total = 0.0
    if n_chunks <= 1:
        for j in range(n_grad):
            work[j] = 0.0
        return _accumulate(X, y, sw, W, b, p, k, loss, rows, n_rows, start,
                           end, work)
    for c in prange(n_chunks, schedule='static', num_threads=n_threads):
        buf = work + c * width
        for j in range(n_grad):
            buf[j] = 0.0
        cs = start + (m * c) // n_chunks
        ce = start + (m * (c + 1)) // n_chunks
        buf[width - 1] = _accumulate(X, y, sw, W, b, p, k, loss, rows,
                                     n_rows, cs, ce, buf)
    # Fixed-order reduction, parallel over blocks of coordinates.
    for j0 in prange(0, n_grad, block, schedule='static',
                     num_threads=n_threads):
        j1 = j0 + block
        if j1 > n_grad:
            j1 = n_grad
        for c in range(1, n_chunks):
            buf = work + c * width
            for j in range(j0, j1):
                work[j] += buf[j]
    for c in range(n_chunks):
        total += work[c * width + width - 1]
    return total


cdef double _apply_step(floating *W, floating *b, const double *g,
                        Py_ssize_t p, int k, double eta, double scale,
                        double l2, bint fit_intercept,
                        double *wsq) noexcept nogil:
    """W = (1 - eta*l2) W - eta*scale*g;  b -= eta*scale*g_b (unpenalised).
    Returns the squared norm of the gradient (scale*g + l2*W) at the old
    point; adds ||W_old||^2 to *wsq."""
    cdef int c
    cdef double gsq, gbc
    gsq = _step(W, g, k * p, 1.0 - eta * l2, eta * scale, scale, l2, wsq)
    if fit_intercept:
        for c in range(k):
            gbc = scale * g[k * p + c]
            gsq += gbc * gbc
            b[c] = <floating>(b[c] - eta * gbc)
    return gsq



cdef enum:
    STATUS_RUNNING = 0
    STATUS_CONVERGED = 1
    STATUS_DIVERGED = 2


cdef inline bint _no_progress(double *stop, double objective) noexcept nogil:
    """The stopping rule on stop = [tol (< 0: off), n_iter_no_change, best,
    epochs without improvement]: True when the objective failed to beat the
    best by tol * max(1, |best|) for n_iter_no_change epochs in a row."""
    cdef double best = stop[2]
    if stop[0] < 0.0:
        return False
    if objective > best - stop[0] * (fabs(best) if fabs(best) > 1.0 else 1.0):
        stop[3] += 1.0
    else:
        stop[3] = 0.0
    if objective < best:
        stop[2] = objective
    return stop[3] >= stop[1]


cdef inline void _save(const floating *W, const floating *b, floating *W_keep,
                       floating *b_keep, Py_ssize_t kp, int k) noexcept nogil:
    memcpy(W_keep, W, kp * sizeof(floating))
    memcpy(b_keep, b, k * sizeof(floating))


def full_batch_epochs(const floating[:, ::1] X, const floating[::1] y,
                      const floating[::1] sw, floating[:, ::1] W,
                      floating[::1] b, floating[:, ::1] W_keep,
                      floating[::1] b_keep, double[:, ::1] work, int loss,
                      int schedule, double eta0, double power_t,
                      Py_ssize_t epochs_before, double l2,
                      bint fit_intercept, double sw_sum, double[::1] stop,
                      double[:, ::1] hist, int n_threads):
    """Up to hist.shape[0] epochs of batch gradient descent, ONE pass over X
    each: objective and gradient at W, then the step.  The objective
    recorded for an epoch is the one at its starting point.  ``eta0 = 0``
    evaluates objective and gradient without moving.  ``work``'s row count
    fixes the summation order (not the thread count).

    Returns (epochs recorded, status)."""
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], width = work.shape[1]
    cdef int k = W.shape[0]
    cdef Py_ssize_t e, n_epochs = hist.shape[0], done = 0
    cdef int status = STATUS_RUNNING
    cdef double total, gsq, wsq, eta, objective, scale = 1.0 / sw_sum
    cdef double t0 = omp_get_wtime()
    with nogil:
        for e in range(n_epochs):
            eta = _eta(schedule, eta0, power_t, <double>(epochs_before + e + 1))
            _save(&W[0, 0], &b[0], &W_keep[0, 0], &b_keep[0], k * p, k)
            total = _chunked_gradient(&X[0, 0], &y[0], &sw[0], &W[0, 0], &b[0],
                                      p, k, loss, NULL, n, 0, n, &work[0, 0],
                                      width, work.shape[0], n_threads)
            wsq = 0.0
            gsq = _apply_step(&W[0, 0], &b[0], &work[0, 0], p, k, eta, scale,
                              l2, fit_intercept, &wsq)
            objective = total * scale + 0.5 * l2 * wsq
            if not (isfinite(objective) and isfinite(gsq) and isfinite(wsq)):
                _save(&W_keep[0, 0], &b_keep[0], &W[0, 0], &b[0], k * p, k)
                status = STATUS_DIVERGED
                break
            hist[e, 0] = objective
            hist[e, 1] = sqrt(gsq)
            hist[e, 2] = eta
            hist[e, 3] = omp_get_wtime() - t0
            hist[e, 4] = <double>(epochs_before + e + 1)
            done = e + 1
            if _no_progress(&stop[0], objective):
                status = STATUS_CONVERGED
                break
    return done, status


def stochastic_epochs(const floating[:, ::1] X, const floating[::1] y,
                      const floating[::1] sw, floating[:, ::1] W,
                      floating[::1] b, floating[:, ::1] W_keep,
                      floating[::1] b_keep, int64_t[::1] perm,
                      uint64_t[::1] rng_state, bint shuffle,
                      Py_ssize_t batch_size, double[:, ::1] work, int loss,
                      int schedule, double eta0, double power_t,
                      double updates_before, double l2, bint fit_intercept,
                      double sw_sum, double[::1] stop, double[:, ::1] hist,
                      int n_threads):
    """Up to hist.shape[0] epochs of mini-batch (batch_size > 1) or
    per-sample SGD.

    Each epoch visits rows in the order ``perm`` (shuffled in place first
    when ``shuffle``, from ``rng_state``).  Each batch of B rows gives one
    update W = (1 - eta*l2) W - eta * n/(B sum(sw)) * sum_i sw_i dloss_i x_i,
    an unbiased estimate of the full gradient step.  The recorded objective
    is the running mean of each row's loss before its update, plus the
    penalty at the end of the epoch.

    Returns (epochs recorded, status)."""
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], width = work.shape[1]
    cdef int k = W.shape[0]
    cdef Py_ssize_t e, s, end, ii, i, n_chunks, n_epochs = hist.shape[0]
    cdef Py_ssize_t done = 0
    cdef int status = STATUS_RUNNING
    cdef double sw_scale = n / sw_sum, t = updates_before
    cdef double total, eta = eta0, scale, wsq, d, objective
    cdef LogBlock block
    cdef const floating *x
    cdef const floating *Xp = &X[0, 0]
    cdef floating *Wp = &W[0, 0]
    cdef const int64_t *rows = &perm[0]
    cdef double t0 = omp_get_wtime()
    with nogil:
        for e in range(n_epochs):
            _save(Wp, &b[0], &W_keep[0, 0], &b_keep[0], k * p, k)
            if shuffle:
                descend_shuffle(&perm[0], n, &rng_state[0])
            total = 0.0
            block.product = 1.0
            block.count = 0
            if batch_size == 1 and loss != DESCEND_MULTINOMIAL:
                # Per-sample fast path: the update is fused into one pass
                # over the row; rows a few visits ahead are prefetched meanwhile.
                for ii in range(n):
                    i = _row(Xp, &y[0], &sw[0], p, rows, n, ii)
                    x = Xp + i * p
                    total += _single_loss(loss, _dot(x, Wp, p) + b[0], y[i],
                                          sw[i], &d, &block)
                    d *= sw_scale
                    t += 1.0
                    eta = _eta(schedule, eta0, power_t, t)
                    if floating is float:
                        descend_decay_axpy_f32(Wp, 1.0 - eta * l2, eta * d, x, p)
                    else:
                        descend_decay_axpy_f64(Wp, 1.0 - eta * l2, eta * d, x, p)
                    if fit_intercept:
                        b[0] = <floating>(b[0] - eta * d)
                total += _flush(&block)
            else:
                s = 0
                while s < n:
                    end = s + batch_size
                    if end > n:
                        end = n
                    n_chunks = 1
                    if n_threads > 1 and (end - s) * p * k >= PARALLEL_MIN_WORK:
                        n_chunks = n_threads
                        if n_chunks > work.shape[0]:
                            n_chunks = work.shape[0]
                    total += _chunked_gradient(Xp, &y[0], &sw[0], Wp, &b[0], p,
                                               k, loss, rows, n, s, end,
                                               &work[0, 0], width, n_chunks,
                                               n_threads)
                    t += 1.0
                    eta = _eta(schedule, eta0, power_t, t)
                    scale = sw_scale / (end - s)
                    wsq = 0.0
                    _apply_step(Wp, &b[0], &work[0, 0], p, k, eta, scale, l2,
                                fit_intercept, &wsq)
                    s = end
            wsq = _sqnorm(Wp, k * p)
            objective = total / sw_sum + 0.5 * l2 * wsq
            if not (isfinite(objective) and isfinite(wsq)
                    and _finite(&b[0], k)):
                _save(&W_keep[0, 0], &b_keep[0], Wp, &b[0], k * p, k)
                status = STATUS_DIVERGED
                break
            hist[e, 0] = objective
            hist[e, 1] = NAN_VALUE
            hist[e, 2] = eta
            hist[e, 3] = omp_get_wtime() - t0
            hist[e, 4] = t
            done = e + 1
            if _no_progress(&stop[0], objective):
                status = STATUS_CONVERGED
                break
    return done, status
