# cython: language_level=3
"""What the dense and the sparse kernels share: the configuration struct,
state layout, losses of a row, step sizes, the parameter update (optimizers,
penalties, clipping, averaging) and the stopping rule.  Inline, nogil, no
Python objects; each kernel file compiles its own copy."""
from cython cimport floating
from libc.math cimport M_PI, NAN, copysign, cos, fabs, fmax, fmin, isfinite, log, pow, sqrt
from libc.string cimport memcpy
from cython.parallel cimport prange

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
# penalty, the last gradient, the epoch's starting point (for rollback), the
# best point seen (keep_best) and the stamps of the CSR kernels' lazy updates
# (zero between epochs).
cdef enum:
    ROW_BUF1 = 0
    ROW_BUF2 = 1
    ROW_AVERAGE = 2
    ROW_L1_Q = 3
    ROW_GRAD = 4
    ROW_START = 5
    ROW_BEST = 6
    ROW_LAZY = 7        # CSR lazy updates: a coordinate's stamp (see _sparse)
    N_STATE_ROWS = 8

# Entries of the double ``scalars`` array carried across calls.
cdef enum:
    SC_T = 0            # updates made
    SC_L1_U = 1         # cumulative L1 penalty applied so far (per-sample)
    SC_BEST = 2         # best monitored value
    SC_NO_IMPROVE = 3   # epochs without sufficient improvement
    SC_ETA_ADAPTIVE = 4 # current step of the "adaptive" schedule
    SC_MIN_OBJECTIVE = 5  # smallest objective seen (blow-up detection)
    N_SCALARS = 6

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
    double epsilon          # margin of the huber / epsilon-insensitive losses
    bint regression         # validation score R^2 (else accuracy of sign(z))
    double intercept_decay  # multiplies the intercept's data gradient in stochastic updates
    bint blowup_check       # a finite 1e10-fold blow-up of the objective is divergence
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
    double optimal_alpha    # alpha of the "optimal" schedule (also without a penalty)
    double warmup_updates   # 0: no warm-up
    # stopping
    double tol              # < 0: off
    double n_iter_no_change
    bint early_stopping     # monitor -validation score instead of objective
    double val_sst          # regression: weighted total sum of squares of y_val
    bint keep_best
    bint evaluate_only      # compute objective and gradient at W; no update

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


cdef struct LogBlock:
    # (1 + e) factors of unit-weight rows not yet folded into a sum by a log
    double product
    int count


cdef inline double _single_loss(int loss, double epsilon, double z, double yi,
                                double wi, double *d, LogBlock *block) noexcept nogil:
    """Weighted loss of one row of a single-output model; sets *d to the
    weighted derivative wi * dloss/dz.  Log loss of unit-weight rows defers
    its log part to ``block`` (one log per DESCEND_LOG_BLOCK rows, added
    when the block fills; _flush adds the rest).  ``epsilon`` is the margin
    of the huber and epsilon-insensitive losses."""
    cdef double value, one_plus_e
    if loss == DESCEND_SQUARED:
        value = wi * descend_squared_loss(z, yi, d)
    elif loss != DESCEND_LOG:
        value = wi * descend_margin_loss(loss, z, yi, epsilon, d)
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
    # scikit-learn's MAX_DLOSS: one absurd row cannot throw w to 1e150
    d[0] = fmin(fmax(d[0], -DESCEND_MAX_DLOSS), DESCEND_MAX_DLOSS) * wi
    return value


cdef inline double _flush(LogBlock *block) noexcept nogil:
    cdef double value = log(block.product) if block.count else 0.0
    block.product = 1.0
    block.count = 0
    return value


cdef inline double _eta(const Config *cfg, double t, Py_ssize_t epoch,
                        double eta_adaptive, Py_ssize_t updates_per_epoch) noexcept nogil:
    """Step size of update t (1-based) in epoch ``epoch`` (1-based)."""
    cdef double eta
    if cfg.schedule == SCHEDULE_INVSCALING:
        eta = cfg.eta0 / pow(t, cfg.power_t)
    elif cfg.schedule == SCHEDULE_OPTIMAL:
        eta = 1.0 / cfg.optimal_alpha / (cfg.optimal_t0 + t - 1.0)
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


cdef inline void _refresh_effective(const floating *W,
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


cdef inline double _update(const Config *cfg, floating *W, floating *b,
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
        g[kp + c] = factor * raw[kp + c] * cfg.intercept_decay if cfg.fit_intercept else 0.0
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


cdef inline int _monitor(const Config *cfg, double *scalars, double value) noexcept nogil:
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




cdef inline void _save_best(const Config *cfg, const floating *W,
                            const floating *b, double *st, Py_ssize_t kp,
                            int k) noexcept nogil:
    """keep_best: store the point the monitored value belongs to: the
    epoch's start for a full-batch objective, its end otherwise."""
    cdef Py_ssize_t n_all = kp + k
    if cfg.batch_size == 0 and not cfg.early_stopping:
        memcpy(st + ROW_BEST * n_all, st + ROW_START * n_all, n_all * sizeof(double))
    else:
        _copy_out(W, b, st + ROW_BEST * n_all, kp, k)


cdef inline bint _diverged(double *scalars, double objective,
                           bint blowup_check) noexcept nogil:
    """Non-finite, or blown up: more than 1e10 times the smallest objective
    seen, the all-zero model's included (and above 1e10).  A step size far too large grows the objective
    geometrically while it is still finite."""
    cdef double low = scalars[SC_MIN_OBJECTIVE]
    if not isfinite(objective):
        return True
    if blowup_check and objective > 1e10 * (low if low > 1.0 else 1.0):
        return True
    if objective < low:
        scalars[SC_MIN_OBJECTIVE] = objective
    return False


cdef inline int _end_epoch(const Config *cfg, floating *W, floating *b,
                           double *st, double *sc, double *record,
                           double objective, double grad_norm, double eta,
                           double seconds, double val_score, Py_ssize_t kp,
                           int k) noexcept nogil:
    """After an epoch: the divergence check (restoring the epoch's starting
    point), the record, the stopping rule and keep_best.  Returns the status
    (STATUS_DIVERGED: nothing recorded)."""
    cdef int flags
    cdef double monitor = -val_score if cfg.early_stopping else objective
    if (_diverged(sc, objective, cfg.blowup_check) or not isfinite(_penalty(cfg, W, kp))
            or not _finite(b, k)):
        _copy_in(W, b, st + ROW_START * (kp + k), kp, k)
        return STATUS_DIVERGED
    record[H_OBJECTIVE] = objective
    record[H_GRAD_NORM] = grad_norm
    record[H_ETA] = eta
    record[H_SECONDS] = seconds
    record[H_UPDATES] = sc[SC_T]
    record[H_VALIDATION] = val_score
    flags = _monitor(cfg, sc, monitor)
    if flags & 2 and cfg.keep_best:
        _save_best(cfg, W, b, st, kp, k)
    return STATUS_CONVERGED if flags & 1 else STATUS_RUNNING


cdef inline void _reduce_chunks(double *work, Py_ssize_t width,
                                Py_ssize_t n_grad, Py_ssize_t n_chunks,
                                int n_threads) noexcept nogil:
    """work[0, :n_grad] += work[c, :n_grad] for c = 1, 2, ... in that order
    (the fixed order that makes full batch independent of the thread
    count), parallel over blocks of coordinates."""
    cdef Py_ssize_t c, j, j0, j1
    cdef Py_ssize_t blk = 2048
    cdef double *buf
    for j0 in prange(0, n_grad, blk, schedule='static', num_threads=n_threads):
        j1 = j0 + blk
        if j1 > n_grad:
            j1 = n_grad
        for c in range(1, n_chunks):
            buf = work + c * width
            for j in range(j0, j1):
                work[j] += buf[j]
