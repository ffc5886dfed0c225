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
from libc.math cimport M_PI, copysign, cos, fabs, fmax, fmin, isfinite, log, pow, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from openmp cimport omp_get_wtime

from ._csrc cimport *

# Step-size schedules (codes shared with _solver.py).
cdef enum:
    SCHEDULE_CONSTANT = 0
    SCHEDULE_INVSCALING = 1
    SCHEDULE_OPTIMAL = 2
    SCHEDULE_ADAPTIVE = 3
    SCHEDULE_EXPONENTIAL = 4
    SCHEDULE_STEP = 5
    SCHEDULE_COSINE = 6

# Optimizers (codes shared with _solver.py); PyTorch's update rules.
cdef enum:
    OPT_SGD = 0
    OPT_MOMENTUM = 1
    OPT_NESTEROV = 2
    OPT_ADAGRAD = 3
    OPT_RMSPROP = 4
    OPT_ADAM = 5
    OPT_ADAMW = 6

# Rows of the double ``state`` array, each of K*p + K entries (coefficients,
# then intercepts): optimizer buffers, the average, the cumulative L1
# penalty, the last gradient, the epoch's starting point (for rollback) and
# the best point seen (keep_best).
cdef enum:
    ROW_BUF1 = 0
    ROW_BUF2 = 1
    ROW_AVERAGE = 2
    ROW_L1_Q = 3
    ROW_GRAD = 4
    ROW_START = 5
    ROW_BEST = 6
    N_STATE_ROWS = 7

# Entries of the double ``scalars`` array carried across calls.
cdef enum:
    SC_T = 0            # updates made
    SC_L1_U = 1         # cumulative L1 penalty applied so far (per-sample)
    SC_BEST = 2         # best monitored value
    SC_NO_IMPROVE = 3   # epochs without sufficient improvement
    SC_ETA_ADAPTIVE = 4 # current step of the "adaptive" schedule
    N_SCALARS = 5

# One epoch's record in ``hist``.
cdef enum:
    H_OBJECTIVE = 0
    H_GRAD_NORM = 1
    H_ETA = 2
    H_SECONDS = 3
    H_UPDATES = 4
    H_VALIDATION = 5
    N_HIST = 6


cdef struct Config:
    # the model and data
    int loss
    bint fit_intercept
    bint scale              # implicit standardisation through mu/inv_sigma
    bint rows_identity      # full batch over rows 0..n-1 (no index array)
    Py_ssize_t batch_size   # 0: full batch
    bint shuffle
    double sw_sum           # sum of the training rows' weights
    int n_threads
    # the update
    int optimizer
    double momentum
    double beta_1
    double beta_2
    double rho
    double eps
    double l2
    double l1
    double clip_norm        # <= 0: off
    double average_start    # 0: off; else average from update t >= this
    # the step size
    int schedule
    double eta0
    double power_t
    double decay_rate
    Py_ssize_t decay_steps
    Py_ssize_t max_iter
    double optimal_t0
    double warmup_updates   # 0: no warm-up
    # stopping
    double tol              # < 0: off
    double n_iter_no_change
    bint early_stopping     # monitor -validation score instead of objective
    double val_sst          # regression: weighted total sum of squares of y_val
    bint keep_best
    bint evaluate_only      # compute objective and gradient at W; no update

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


cdef enum:
    STATUS_RUNNING = 0
    STATUS_CONVERGED = 1
    STATUS_DIVERGED = 2


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


cdef inline double _eta(const Config *cfg, double t, Py_ssize_t epoch,
                        double eta_adaptive, Py_ssize_t updates_per_epoch) noexcept nogil:
    """Step size of update t (1-based) in epoch ``epoch`` (1-based)."""
    cdef double eta
    if cfg.schedule == SCHEDULE_INVSCALING:
        eta = cfg.eta0 / pow(t, cfg.power_t)
    elif cfg.schedule == SCHEDULE_OPTIMAL:
        eta = 1.0 / (cfg.l2 + cfg.l1) / (cfg.optimal_t0 + t - 1.0)
    elif cfg.schedule == SCHEDULE_ADAPTIVE:
        eta = eta_adaptive
    elif cfg.schedule == SCHEDULE_EXPONENTIAL:
        eta = cfg.eta0 * pow(cfg.decay_rate, <double>(epoch - 1))
    elif cfg.schedule == SCHEDULE_STEP:
        eta = cfg.eta0 * pow(cfg.decay_rate, <double>((epoch - 1) // cfg.decay_steps))
    elif cfg.schedule == SCHEDULE_COSINE:
        eta = cfg.eta0 * 0.5 * (1.0 + cos(M_PI * (epoch - 1) / <double>cfg.max_iter))
    else:
        eta = cfg.eta0
    if cfg.warmup_updates > 0.0 and t < cfg.warmup_updates:
        eta *= t / cfg.warmup_updates
    return eta


cdef inline double _penalty(const Config *cfg, const floating *W,
                            Py_ssize_t kp) noexcept nogil:
    """l1 ||W||_1 + l2/2 ||W||^2 (NaN/inf propagate)."""
    cdef Py_ssize_t j
    cdef double a = 0.0, sq = 0.0
    if cfg.l1 > 0.0:
        for j in range(kp):
            a += fabs(W[j])
    sq = _sqnorm(W, kp)
    return cfg.l1 * a + 0.5 * cfg.l2 * sq  # l2 = 0: 0 * inf is NaN, still seen


cdef void _refresh_effective(const floating *W,
                             const floating *b, floating *We, floating *be,
                             const double *mu, const double *inv_sigma,
                             Py_ssize_t p, int k) noexcept nogil:
    """Raw-space parameters of the scaled model: We = W / sigma,
    be = b - mu . We, so that x . We + be = ((x - mu) / sigma) . W + b."""
    cdef Py_ssize_t c, j
    cdef double shift
    for c in range(k):
        shift = 0.0
        for j in range(p):
            We[c * p + j] = <floating>(W[c * p + j] * inv_sigma[j])
            shift += mu[j] * We[c * p + j]
        be[c] = <floating>(b[c] - shift)


cdef double _update(const Config *cfg, floating *W, floating *b,
                    const double *raw, double factor, double eta, double t,
                    double *state, double *scalars, const double *mu,
                    const double *inv_sigma, Py_ssize_t p,
                    int k) noexcept nogil:
    """One parameter update from the raw gradient sum ``raw`` (K*p + K
    entries: sum_i sw_i dloss_i [x_i, 1] over the batch, with the raw-space
    parameters), scaled by ``factor``.  Steps, in order: data gradient (in
    the scaled space when cfg.scale), clipping, L2 (coupled, or AdamW's
    decoupled decay), the optimizer, L1 (proximal, or the cumulative penalty
    for per-sample updates), averaging.  Returns the squared norm of the
    smooth gradient (data + L2) before clipping."""
    cdef Py_ssize_t kp = k * p, n_all = kp + k, j, c, jj
    cdef Py_ssize_t n_upd = n_all if cfg.fit_intercept else kp
    cdef double *g = state + ROW_GRAD * n_all
    cdef double *m = state + ROW_BUF1 * n_all
    cdef double *v = state + ROW_BUF2 * n_all
    cdef double gsq = 0.0, norm, scale, step, wj, bias1, bias2, u, q0, a
    cdef double *q
    cdef double *avg
    # 1. data gradient
    if cfg.scale:
        for c in range(k):
            for j in range(p):
                jj = c * p + j
                g[jj] = factor * (raw[jj] - mu[j] * raw[kp + c]) * inv_sigma[j]
    else:
        for j in range(kp):
            g[j] = factor * raw[j]
    for c in range(k):
        g[kp + c] = factor * raw[kp + c] if cfg.fit_intercept else 0.0
    # 2. clipping of the data gradient (coefficients and intercepts together)
    if cfg.clip_norm > 0.0:
        norm = sqrt(descend_sqnorm_d(g, n_all))
        if norm > cfg.clip_norm:
            scale = cfg.clip_norm / norm
            for j in range(n_all):
                g[j] *= scale
    # 3. L2: PyTorch's weight_decay (coupled), or AdamW's decoupled decay
    if cfg.l2 > 0.0:
        if cfg.optimizer == OPT_ADAMW and not cfg.evaluate_only:
            for j in range(kp):
                W[j] = <floating>(W[j] * (1.0 - eta * cfg.l2))
        else:
            for j in range(kp):
                g[j] += cfg.l2 * W[j]
    gsq = descend_sqnorm_d(g, n_all)
    if cfg.evaluate_only:
        return gsq
    # 4. the optimizer, on coefficients and (when fitted) intercepts
    if cfg.optimizer == OPT_SGD:
        for j in range(n_upd):
            _set(W, b, kp, j, _get(W, b, kp, j) - eta * g[j])
    elif cfg.optimizer == OPT_MOMENTUM or cfg.optimizer == OPT_NESTEROV:
        for j in range(n_upd):
            m[j] = g[j] if t == 1.0 else cfg.momentum * m[j] + g[j]
            step = g[j] + cfg.momentum * m[j] if cfg.optimizer == OPT_NESTEROV else m[j]
            _set(W, b, kp, j, _get(W, b, kp, j) - eta * step)
    elif cfg.optimizer == OPT_ADAGRAD:
        for j in range(n_upd):
            m[j] += g[j] * g[j]
            _set(W, b, kp, j, _get(W, b, kp, j) - eta * g[j] / (sqrt(m[j]) + cfg.eps))
    elif cfg.optimizer == OPT_RMSPROP:
        for j in range(n_upd):
            m[j] = cfg.rho * m[j] + (1.0 - cfg.rho) * g[j] * g[j]
            _set(W, b, kp, j, _get(W, b, kp, j) - eta * g[j] / (sqrt(m[j]) + cfg.eps))
    else:  # adam, adamw
        bias1 = 1.0 - pow(cfg.beta_1, t)
        bias2 = 1.0 - pow(cfg.beta_2, t)
        for j in range(n_upd):
            m[j] = cfg.beta_1 * m[j] + (1.0 - cfg.beta_1) * g[j]
            v[j] = cfg.beta_2 * v[j] + (1.0 - cfg.beta_2) * g[j] * g[j]
            _set(W, b, kp, j, _get(W, b, kp, j)
                 - eta * (m[j] / bias1) / (sqrt(v[j] / bias2) + cfg.eps))
    # 5. L1 on the coefficients
    if cfg.l1 > 0.0:
        if cfg.batch_size == 1:
            scalars[SC_L1_U] += eta * cfg.l1
            u = scalars[SC_L1_U]
            q = state + ROW_L1_Q * n_all
            for j in range(kp):
                q0 = W[j]
                if W[j] > 0.0:
                    W[j] = <floating>fmax(0.0, W[j] - (u + q[j]))
                elif W[j] < 0.0:
                    W[j] = <floating>fmin(0.0, W[j] + (u - q[j]))
                q[j] += W[j] - q0
        else:
            a = eta * cfg.l1
            for j in range(kp):
                wj = W[j]
                W[j] = <floating>(copysign(fmax(fabs(wj) - a, 0.0), wj))
    # 6. averaging
    if cfg.average_start > 0.0:
        avg = state + ROW_AVERAGE * n_all
        if t >= cfg.average_start:
            a = 1.0 / (t - cfg.average_start + 1.0)
            for j in range(n_all):
                avg[j] += (_get(W, b, kp, j) - avg[j]) * a
        else:
            for j in range(n_all):
                avg[j] = _get(W, b, kp, j)
    return gsq


cdef inline double _get(const floating *W, const floating *b, Py_ssize_t kp,
                        Py_ssize_t j) noexcept nogil:
    """Entry j of [W, b] (coefficients, then intercepts)."""
    return W[j] if j < kp else b[j - kp]


cdef inline void _set(floating *W, floating *b, Py_ssize_t kp, Py_ssize_t j,
                      double value) noexcept nogil:
    if j < kp:
        W[j] = <floating>value
    else:
        b[j - kp] = <floating>value


cdef inline void _copy_out(const floating *W, const floating *b, double *dst,
                           Py_ssize_t kp, int k) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(kp + k):
        dst[j] = _get(W, b, kp, j)


cdef inline void _copy_in(floating *W, floating *b, const double *src,
                          Py_ssize_t kp, int k) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(kp + k):
        _set(W, b, kp, j, src[j])


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
            if cfg.loss == DESCEND_SQUARED:
                r = zi - y[i]
                hit += sw[i] * r * r
            else:
                hit += sw[i] * ((zi > 0.0) == (y[i] > 0.5))
        total += sw[i]
    if cfg.loss == DESCEND_SQUARED:
        return 1.0 - hit / cfg.val_sst if cfg.val_sst > 0.0 else 0.0
    return hit / total


cdef int _monitor(const Config *cfg, double *scalars, double value) noexcept nogil:
    """The stopping rule on the monitored value (lower is better): returns
    1 when the fit should stop, 2 when ``value`` is a new best, else 0.
    The "adaptive" schedule divides its step by 5 instead of stopping, until
    the step falls below 1e-6."""
    cdef double best = scalars[SC_BEST]
    cdef int flags = 0
    if value < best:
        flags = 2
    if cfg.tol < 0.0:
        if flags:
            scalars[SC_BEST] = value
        return flags
    if value > best - cfg.tol * (fabs(best) if fabs(best) > 1.0 else 1.0):
        scalars[SC_NO_IMPROVE] += 1.0
    else:
        scalars[SC_NO_IMPROVE] = 0.0
    if flags:
        scalars[SC_BEST] = value
    if scalars[SC_NO_IMPROVE] >= cfg.n_iter_no_change:
        if cfg.schedule == SCHEDULE_ADAPTIVE and scalars[SC_ETA_ADAPTIVE] / 5.0 >= 1e-6:
            scalars[SC_ETA_ADAPTIVE] /= 5.0
            scalars[SC_NO_IMPROVE] = 0.0
        else:
            return flags | 1
    return flags


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
    cdef int status = STATUS_RUNNING, flags
    cdef double total, eta = cfg.eta0, gsq = NAN_VALUE, objective, d, monitor
    cdef double val_score = NAN_VALUE
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
                      and cfg.l1 == 0.0 and cfg.clip_norm <= 0.0
                      and cfg.average_start == 0.0 and not cfg.scale)
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
                                          cfg.loss, all_rows, n, 0, n,
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
                        total += _single_loss(cfg.loss, _dot(x, Wp, p) + bp[0],
                                              y[i], sw[i], &d, &block)
                        d *= sw_scale
                        sc[SC_T] += 1.0
                        eta = _eta(&cfg, sc[SC_T], epoch, sc[SC_ETA_ADAPTIVE],
                                   updates_per_epoch)
                        if floating is float:
                            descend_decay_axpy_f32(Wp, 1.0 - eta * cfg.l2, eta * d, x, p)
                        else:
                            descend_decay_axpy_f64(Wp, 1.0 - eta * cfg.l2, eta * d, x, p)
                        if cfg.fit_intercept:
                            bp[0] = <floating>(bp[0] - eta * d)
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
                                                   k, cfg.loss, rows, n, s, end,
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
            if not (isfinite(objective) and isfinite(_penalty(&cfg, Wp, kp))
                    and _finite(bp, k)):
                _copy_in(Wp, bp, st + ROW_START * n_all, kp, k)
                status = STATUS_DIVERGED
                break
            monitor = objective
            if cfg.early_stopping:
                if cfg.scale:
                    _refresh_effective(Wp, bp, &W_eff[0, 0], &b_eff[0],
                                       &mu[0], &inv_sigma[0], p, k)
                val_score = _validation_score(&cfg, Xp, &y[0], &sw[0], Wr, br, p, k,
                                              &val_rows[0], val_rows.shape[0],
                                              &work[0, 0] + kp + k)
                monitor = -val_score
            hist[e, H_OBJECTIVE] = objective
            hist[e, H_GRAD_NORM] = sqrt(gsq) if cfg.batch_size == 0 else NAN_VALUE
            hist[e, H_ETA] = eta
            hist[e, H_SECONDS] = omp_get_wtime() - t0
            hist[e, H_UPDATES] = sc[SC_T]
            hist[e, H_VALIDATION] = val_score
            done = e + 1
            flags = _monitor(&cfg, sc, monitor)
            if flags & 2 and cfg.keep_best:
                # the point the monitored value belongs to: the epoch's start
                # for a full-batch objective, its end otherwise
                if cfg.batch_size == 0 and not cfg.early_stopping:
                    memcpy(st + ROW_BEST * n_all, st + ROW_START * n_all,
                           n_all * sizeof(double))
                else:
                    _copy_out(Wp, bp, st + ROW_BEST * n_all, kp, k)
            if flags & 1:
                status = STATUS_CONVERGED
                break
    return done, status


def check_stop(Config cfg, double[::1] scalars, double value):
    """The kernels' stopping rule, for epochs run from Python (line search):
    bit 1 = stop, bit 2 = new best."""
    return _monitor(&cfg, &scalars[0], value)
