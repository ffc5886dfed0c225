# cython: language_level=3
"""CSR epoch kernels: full batch, mini-batch and per-sample.

The same epochs as ``_dense`` (same configuration, state, update rule and
stopping rule, shared through ``_common.pxd``), reading rows of a CSR
matrix: float32/float64 values, int32/int64 indices, unsorted indices and
explicit zeros allowed.  Forming a row's margin and adding it to the
gradient cost O(nnz of the row).

Per-sample and mini-batch updates are LAZY: an update costs O(K * nnz of
its rows), never O(p) (only once per epoch is every coordinate visited: the
catch-up below, the rollback copy and the finiteness check).  Within an
epoch W = S * V, the scale S carrying the L2 decay of sgd (coupled weight
decay decays every coefficient) and of adamw (decoupled decay); the step
size depends on the update count t only, so the epoch's step sizes,
products of decays and cumulative penalties are precomputed (``lazy``).
With n_threads > 1 the epoch is Hogwild (Niu et al. 2011): thread c makes
updates c, c + T, c + 2T, ... of the shuffled order (update i is always
number t0 + i + 1, so every schedule is unchanged) on the shared W without
locks; non-deterministic.  n_threads = 1 is reproducible bit for bit.

The semantics, per update t (rows R, J = the coordinates they touch):

* sgd with L2, clip_norm, any schedule: exactly the dense update (the
  clipped norm is |d| sqrt(||x||^2 + fit_intercept), over J for a batch).
* L1, per sample: scikit-learn's cumulative penalty (Tsuruoka et al.
  2009), applied to J after the step; a coordinate outside J catches up
  at its next touch or at the epoch's end with the penalty of every
  update in between at once.  Exact without decay (pure L1, and L1 with
  the lazy optimizers other than adamw).  With a decay (sgd elastic net,
  adamw + L1) the trajectory is exact while the coordinate stays away from
  0; one that reaches 0 between two touches keeps as credit the decayed
  penalty of the interval minus its decayed |w| (the dense update does not
  decay the credit).
* L1, mini-batch: the dense update's soft-thresholding; thresholds compose
  through the decay, so the lazy catch-up is exact (elastic net included).
* average: sum_t W_t = P + Q_t * V (Xu 2011; scikit-learn's two scalars),
  exact; the intercepts' sums are kept per thread.  With L1 the average is
  that of the coefficients as the lazy updates hold them: the shrinkage of
  a coordinate between touches enters it from its next touch on.
* momentum, nesterov, adagrad, rmsprop, adam, adamw: lazy, as TensorFlow's
  LazyAdam / PyTorch's SparseAdam: only coordinates in J take a step and
  move their buffers, with gradient (data gradient) + l2 * w_j (PyTorch's
  coupled weight_decay, on J only); adam's bias corrections use the global
  t; adamw's decoupled decay reaches every coordinate (exactly, through S).
  The intercepts take their full optimizer step every update.
* scale_features=True: the centred gradient is dense, so these fits take
  the general O(K*p) update of _common._update.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, copysign, fabs, fmax, fmin, isfinite, pow, sqrt
from libc.stdint cimport int32_t, int64_t, uint64_t
from openmp cimport omp_get_wtime

from ._common cimport *
from ._csrc cimport *

ctypedef fused index_t:
    int32_t
    int64_t

# The decay scale S of the lazy updates is folded into the coefficients
# when it would fall below this (rare; O(K*p) each time).
cdef double MIN_SCALE = 1e-9
# A mini-batch is split across threads from this many multiply-adds on.
cdef double PARALLEL_MIN_WORK = 1 << 17


# Two-stage prefetch of shuffled CSR rows: the row's values and indices
# ROW_AHEAD visits ahead; the coefficients it points to WEIGHTS_AHEAD visits
# ahead, when its indices are already in cache.
cdef enum:
    INTERCEPT_FLUSH = 64
cdef enum:
    ROW_AHEAD = 16
    WEIGHTS_AHEAD = 8


cdef inline void _prefetch_csr(const floating *data, const index_t *ind,
                               const index_t *indptr, const floating *W,
                               const floating *y, const floating *sw,
                               const int64_t *rows, Py_ssize_t ii,
                               Py_ssize_t n_rows, Py_ssize_t stride) noexcept nogil:
    """See csrc/descend/sparse.h; a thread visiting every ``stride``-th
    position prefetches its own later visits."""
    cdef Py_ssize_t ra = ROW_AHEAD * stride, wa = WEIGHTS_AHEAD * stride
    if floating is float:
        if index_t is int32_t:
            descend_prefetch_csr_f32_i32(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ra, wa)
        else:
            descend_prefetch_csr_f32_i64(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ra, wa)
    else:
        if index_t is int32_t:
            descend_prefetch_csr_f64_i32(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ra, wa)
        else:
            descend_prefetch_csr_f64_i64(data, ind, indptr, W, y, sw, rows, ii,
                                         n_rows, ra, wa)


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
            _prefetch_csr(data, ind, indptr, W, y, sw, rows, ii, end, 1)
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


# ---------------------------------------------------------------------------
# Lazy (O(nnz)) per-sample and mini-batch updates.
#
# Within an epoch the coefficients are held as W = S * V (V in the W array),
# S a scale that carries the L2 decay of plain SGD (coupled weight decay is
# a decay of every coordinate) and AdamW (decoupled decay); S = 1 otherwise.
# The step size depends on the update count t only, so the epoch's step
# sizes and the running products and sums the lazy updates read are
# precomputed per epoch, indexed by the position of the update in the epoch
# (rows LZ_*).  A "segment" is a run of updates over which S stays above
# MIN_SCALE; at its end every coordinate is caught up and S is folded in
# (O(K*p), once per epoch in practice).

cdef enum:
    LZ_ETA = 0   # step size of the update at position i
    LZ_S = 1     # S[i]: product of the decays of the segment's updates < i
    LZ_UV = 2    # UV[i]: sum of eta*l1 / S over those updates (V units)
    LZ_U = 3     # U[i]: sum of eta*l1 over them (W units)
    LZ_Q = 4     # Q[i]: sum of S over those of them that are averaged
    N_LAZY_ROWS = 5


cdef struct Lazy:
    # the epoch's precomputed schedule (rows of the ``lazy`` array)
    const double *eta
    const double *S
    const double *UV
    const double *U
    const double *Q
    # per-coordinate state (rows of ``state``, K*p + K entries each)
    double *q        # cumulative L1 penalty received (dense semantics)
    double *stamp    # UV at the coordinate's last L1 catch-up (0 at a segment start)
    double *avg      # during an epoch: P, with sum_t W_t = P + Q * V
    double *m1       # optimizer buffers
    double *m2
    double t0        # updates made before this epoch
    double u_base    # cumulative raw L1 penalty before this segment
    double avg_start
    double l2c       # coupled L2 of the lazy optimizers (0 for sgd / adamw)
    bint has_l1
    bint has_avg
    bint decay       # S != 1: sgd or adamw with l2 > 0
    Py_ssize_t p
    Py_ssize_t kp
    int k


cdef Py_ssize_t _fill_segment(const Config *cfg, double *lz, Py_ssize_t stride,
                              Py_ssize_t seg, Py_ssize_t n_steps, double t0,
                              Py_ssize_t epoch, double eta_adaptive,
                              bint decay) noexcept nogil:
    """Schedule rows for the updates at positions seg, seg+1, ... until S
    would fall below MIN_SCALE (at least one update); returns the end."""
    cdef double *E = lz + LZ_ETA * stride
    cdef double *S = lz + LZ_S * stride
    cdef double *UV = lz + LZ_UV * stride
    cdef double *U = lz + LZ_U * stride
    cdef double *Q = lz + LZ_Q * stride
    cdef double eta, t, s_new
    cdef Py_ssize_t i = seg
    S[seg] = 1.0
    if cfg.l1 > 0.0:
        UV[seg] = 0.0
        U[seg] = 0.0
    if cfg.average_start > 0.0:
        Q[seg] = 0.0
    while i < n_steps:
        t = t0 + i + 1.0
        eta = _eta(cfg, t, epoch, eta_adaptive, n_steps)
        s_new = S[i] * (1.0 - eta * cfg.l2) if decay else 1.0
        if s_new < MIN_SCALE and i > seg:
            break
        E[i] = eta
        S[i + 1] = s_new
        if cfg.l1 > 0.0:
            UV[i + 1] = UV[i] + eta * cfg.l1 / s_new
            U[i + 1] = U[i] + eta * cfg.l1
        if cfg.average_start > 0.0:
            Q[i + 1] = Q[i] + (s_new if t >= cfg.average_start else 0.0)
        i += 1
    return i


cdef inline double _l1_catch_up(double v, double *q, double *stamp, double uv,
                                double u, double s) noexcept nogil:
    """The cumulative L1 penalty of the updates since the coordinate's last
    catch-up (UV went from *stamp to uv), applied at once to V = v; u is the
    raw cumulative penalty now and s the scale.  A nonzero coordinate was
    last left with no pending penalty, so it moves by the gap (in V units)
    or stops at 0, keeping the rest as credit in q (W units).  Exact
    for S = 1; with a decay, the credit of a coordinate stopped at 0 is
    measured in V units scaled by s (see the module docstring)."""
    cdef double gap = uv - stamp[0], nv
    stamp[0] = uv
    if v > 0.0:
        nv = v - gap
        if nv > 0.0:
            q[0] = -u
            return nv
        q[0] = s * (gap - v) - u
        return 0.0
    elif v < 0.0:
        nv = v + gap
        if nv < 0.0:
            q[0] = u
            return nv
        q[0] = u - s * (gap + v)
        return 0.0
    return v


cdef inline double _l1_apply(double w, double *q, double u) noexcept nogil:
    """The cumulative penalty of one update (Tsuruoka et al. 2009), as
    _common._update applies it to every coordinate."""
    cdef double w1 = w
    if w > 0.0:
        w1 = fmax(0.0, w - (u + q[0]))
    elif w < 0.0:
        w1 = fmin(0.0, w + (u - q[0]))
    q[0] += w1 - w
    return w1


cdef inline void _finish(Lazy *lz, floating *W, Py_ssize_t jj, double v0,
                         double v1, double sa, double u1, double uv1,
                         double qb) noexcept nogil:
    """Store the coordinate's new V after its step: the update's L1
    penalty (cumulative, in W units) and the average's correction."""
    if lz.has_l1:
        v1 = _l1_apply(sa * v1, &lz.q[jj], u1) / sa
        lz.stamp[jj] = uv1
    W[jj] = <floating>v1
    if lz.has_avg:
        lz.avg[jj] -= qb * (W[jj] - v0)


cdef inline double _caught_up_dot(Lazy *lz, floating *W, Py_ssize_t off,
                                  const floating *x, const index_t *ix,
                                  Py_ssize_t nnz, double uv, double u, double s,
                                  double qb) noexcept nogil:
    """x . V[off:] after catching the row's coordinates up on L1."""
    cdef Py_ssize_t j, jj
    cdef double acc = 0.0, v0, v1
    for j in range(nnz):
        jj = off + ix[j]
        v0 = W[jj]
        v1 = _l1_catch_up(v0, &lz.q[jj], &lz.stamp[jj], uv, u, s)
        if v1 != v0:
            W[jj] = <floating>v1
            if lz.has_avg:
                lz.avg[jj] -= qb * (W[jj] - v0)
        acc += <double>x[j] * <double>W[jj]
    return acc


cdef inline void _coords_step(const Config *cfg, Lazy *lz, floating *W,
                              Py_ssize_t off, const floating *x,
                              const index_t *ix, Py_ssize_t nnz, double dc,
                              double eta, double sa, double t, double u1,
                              double uv1, double qb) noexcept nogil:
    """The update of the coordinates W[off + ix] of a data gradient
    dc * x (the optimizer chosen once here, outside the coordinate loops).
    The lazy optimizers add the coupled L2 gradient l2 * w of the touched
    coordinates and move only their state."""
    cdef Py_ssize_t j, jj
    cdef double g, v0, step, bias1, bias2, st
    cdef double mom = cfg.momentum, l2c = lz.l2c
    cdef double *m = lz.m1
    cdef double *v = lz.m2
    if cfg.optimizer == OPT_SGD:
        st = eta * dc / sa
        if not lz.has_l1 and not lz.has_avg:
            for j in range(nnz):
                jj = off + ix[j]
                W[jj] = <floating>(W[jj] - st * x[j])
        else:
            for j in range(nnz):
                jj = off + ix[j]
                v0 = W[jj]
                _finish(lz, W, jj, v0, v0 - st * x[j], sa, u1, uv1, qb)
    elif cfg.optimizer == OPT_MOMENTUM:
        for j in range(nnz):
            jj = off + ix[j]
            v0 = W[jj]
            g = dc * x[j] + l2c * v0
            m[jj] = mom * m[jj] + g
            _finish(lz, W, jj, v0, v0 - eta * m[jj] / sa, sa, u1, uv1, qb)
    elif cfg.optimizer == OPT_NESTEROV:
        for j in range(nnz):
            jj = off + ix[j]
            v0 = W[jj]
            g = dc * x[j] + l2c * v0
            m[jj] = mom * m[jj] + g
            _finish(lz, W, jj, v0, v0 - eta * (g + mom * m[jj]) / sa, sa, u1, uv1, qb)
    elif cfg.optimizer == OPT_ADAGRAD:
        for j in range(nnz):
            jj = off + ix[j]
            v0 = W[jj]
            g = dc * x[j] + l2c * v0
            m[jj] += g * g
            _finish(lz, W, jj, v0, v0 - eta * g / (sqrt(m[jj]) + cfg.eps) / sa,
                    sa, u1, uv1, qb)
    elif cfg.optimizer == OPT_RMSPROP:
        for j in range(nnz):
            jj = off + ix[j]
            v0 = W[jj]
            g = dc * x[j] + l2c * v0
            m[jj] = cfg.rho * m[jj] + (1.0 - cfg.rho) * g * g
            _finish(lz, W, jj, v0, v0 - eta * g / (sqrt(m[jj]) + cfg.eps) / sa,
                    sa, u1, uv1, qb)
    else:  # adam, adamw (adamw: l2c = 0, the decay is in S)
        bias1 = 1.0 - pow(cfg.beta_1, t)
        bias2 = 1.0 - pow(cfg.beta_2, t)
        for j in range(nnz):
            jj = off + ix[j]
            v0 = W[jj]
            g = dc * x[j] + l2c * v0
            m[jj] = cfg.beta_1 * m[jj] + (1.0 - cfg.beta_1) * g
            v[jj] = cfg.beta_2 * v[jj] + (1.0 - cfg.beta_2) * g * g
            _finish(lz, W, jj, v0, v0 - eta * (m[jj] / bias1)
                    / (sqrt(v[jj] / bias2) + cfg.eps) / sa, sa, u1, uv1, qb)


cdef inline void _intercept_step(const Config *cfg, Lazy *lz, floating *b,
                                 int c, double g, double eta, double t,
                                 double *bsum) noexcept nogil:
    """The intercept's update (every update: its gradient is never
    sparse).  Its average is a plain sum of the values after each update,
    kept per thread in bsum (a shared intercept races on every update, and
    the P form would multiply a lost update by t)."""
    cdef Py_ssize_t jj = lz.kp + c
    cdef double b0 = b[c], b1, step
    g *= cfg.intercept_decay
    cdef double *m = lz.m1
    cdef double *v = lz.m2
    if cfg.optimizer == OPT_SGD:
        step = g
    elif cfg.optimizer == OPT_MOMENTUM or cfg.optimizer == OPT_NESTEROV:
        m[jj] = cfg.momentum * m[jj] + g
        step = g + cfg.momentum * m[jj] if cfg.optimizer == OPT_NESTEROV else m[jj]
    elif cfg.optimizer == OPT_ADAGRAD:
        m[jj] += g * g
        step = g / (sqrt(m[jj]) + cfg.eps)
    elif cfg.optimizer == OPT_RMSPROP:
        m[jj] = cfg.rho * m[jj] + (1.0 - cfg.rho) * g * g
        step = g / (sqrt(m[jj]) + cfg.eps)
    else:
        m[jj] = cfg.beta_1 * m[jj] + (1.0 - cfg.beta_1) * g
        v[jj] = cfg.beta_2 * v[jj] + (1.0 - cfg.beta_2) * g * g
        step = ((m[jj] / (1.0 - pow(cfg.beta_1, t)))
                / (sqrt(v[jj] / (1.0 - pow(cfg.beta_2, t))) + cfg.eps))
    b1 = b0 - eta * step
    b[c] = <floating>b1
    if lz.has_avg and t >= lz.avg_start:
        bsum[c] += <floating>b1


cdef double _sample_steps(const Config *cfg, Lazy *lz, const floating *data,
                          const index_t *ind, const index_t *indptr,
                          const floating *y, const floating *sw, floating *W,
                          floating *b, const int64_t *rows, Py_ssize_t first,
                          Py_ssize_t end, Py_ssize_t stride, double sw_scale,
                          double *zs) noexcept nogil:
    """Per-sample updates at positions first, first + stride, ... < end of
    the epoch's row order (one thread's share of a segment); returns the
    weighted sum of the rows' losses (each before its update).  zs: 2K
    doubles of scratch, the second K the thread's sums of the intercepts
    for the average (zeroed by the caller)."""
    cdef Py_ssize_t ii, i, lo, nnz, c, j, p = lz.p
    cdef int k = lz.k
    cdef double total = 0.0, d, eta, sb, sa, t, sq, dsq, norm, qb = 0.0
    cdef double uv0 = 0.0, uv1 = 0.0, u0 = 0.0, u1 = 0.0
    cdef const floating *x
    cdef const index_t *ix
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        i = rows[ii]
        _prefetch_csr(data, ind, indptr, W, y, sw, rows, ii, end, stride)
        lo = indptr[i]
        nnz = indptr[i + 1] - lo
        x = data + lo
        ix = ind + lo
        eta = lz.eta[ii]
        sb = lz.S[ii]
        sa = lz.S[ii + 1]
        t = lz.t0 + ii + 1.0
        if lz.has_avg:
            qb = lz.Q[ii]
        if lz.has_l1:
            uv0 = lz.UV[ii]
            uv1 = lz.UV[ii + 1]
            u0 = lz.u_base + lz.U[ii]
            u1 = lz.u_base + lz.U[ii + 1]
            for c in range(k):
                zs[c] = sb * _caught_up_dot(lz, W, c * p, x, ix, nnz, uv0, u0, sb,
                                            qb) + b[c]
        else:
            for c in range(k):
                zs[c] = sb * _sdot(x, ix, nnz, W + c * p) + b[c]
        if cfg.loss == DESCEND_MULTINOMIAL:
            total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
            for c in range(k):
                zs[c] *= sw[i] * sw_scale
        else:
            total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d,
                                  &block)
            zs[0] = d * sw_scale
        if cfg.clip_norm > 0.0:
            # ||d [x, 1]|| = |d| sqrt(||x||^2 + fit_intercept): O(nnz)
            sq = 1.0 if cfg.fit_intercept else 0.0
            for j in range(nnz):
                sq += <double>x[j] * <double>x[j]
            dsq = 0.0
            for c in range(k):
                dsq += zs[c] * zs[c]
            norm = sqrt(dsq * sq)
            if norm > cfg.clip_norm:
                for c in range(k):
                    zs[c] *= cfg.clip_norm / norm
        for c in range(k):
            _coords_step(cfg, lz, W, c * p, x, ix, nnz, zs[c], eta, sa, t, u1, uv1,
                         qb)
        if cfg.fit_intercept:
            for c in range(k):
                _intercept_step(cfg, lz, b, c, zs[c], eta, t, zs + k)
        elif lz.has_avg and t >= lz.avg_start:
            for c in range(k):
                zs[k + c] += b[c]
    return total + _flush(&block)


cdef inline double _sdot4(const floating *x, const index_t *ix, Py_ssize_t nnz,
                          const floating *w) noexcept nogil:
    """x . w[ix] with four partial sums (latency of the adds hidden)."""
    cdef Py_ssize_t j = 0
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    while j + 4 <= nnz:
        a0 += <double>x[j] * <double>w[ix[j]]
        a1 += <double>x[j + 1] * <double>w[ix[j + 1]]
        a2 += <double>x[j + 2] * <double>w[ix[j + 2]]
        a3 += <double>x[j + 3] * <double>w[ix[j + 3]]
        j += 4
    while j < nnz:
        a0 += <double>x[j] * <double>w[ix[j]]
        j += 1
    return (a0 + a1) + (a2 + a3)


cdef double _sgd_steps(const Config *cfg, Lazy *lz, const floating *data,
                       const index_t *ind, const index_t *indptr,
                       const floating *y, const floating *sw, floating *W,
                       floating *b, const int64_t *rows, Py_ssize_t first,
                       Py_ssize_t end, Py_ssize_t stride,
                       double sw_scale) noexcept nogil:
    """_sample_steps for the common case, one output, plain SGD with L2 (and
    clipping), no L1, no averaging: V moves by -eta d x / S on the row.
    Under Hogwild (stride > 1) a thread adds its intercept steps to the
    shared intercept every INTERCEPT_FLUSH rows, not every row: the one
    cache line every row would write kept bouncing between the cores."""
    cdef Py_ssize_t ii, i, lo, nnz, j, pending = 0
    cdef double total = 0.0, d, eta, sa, sq, norm, st, z, db = 0.0
    cdef const floating *x
    cdef const index_t *ix
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        i = rows[ii]
        _prefetch_csr(data, ind, indptr, W, y, sw, rows, ii, end, stride)
        lo = indptr[i]
        nnz = indptr[i + 1] - lo
        x = data + lo
        ix = ind + lo
        eta = lz.eta[ii]
        sa = lz.S[ii + 1]
        z = lz.S[ii] * _sdot4(x, ix, nnz, W) + (b[0] + db)
        total += _single_loss(cfg.loss, cfg.epsilon, z, y[i], sw[i], &d, &block)
        d *= sw_scale
        if cfg.clip_norm > 0.0:
            sq = 1.0 if cfg.fit_intercept else 0.0
            for j in range(nnz):
                sq += <double>x[j] * <double>x[j]
            norm = fabs(d) * sqrt(sq)
            if norm > cfg.clip_norm:
                d *= cfg.clip_norm / norm
        st = eta * d / sa
        for j in range(nnz):
            W[ix[j]] = <floating>(W[ix[j]] - st * x[j])
        if cfg.fit_intercept:
            if stride == 1:
                b[0] = <floating>(b[0] - eta * d * cfg.intercept_decay)
            else:
                db -= eta * d * cfg.intercept_decay
                pending += 1
                if pending == INTERCEPT_FLUSH:
                    b[0] = <floating>(b[0] + db)
                    db = 0.0
                    pending = 0
    if pending:
        b[0] = <floating>(b[0] + db)
    return total + _flush(&block)


cdef inline void _finish_prox(Lazy *lz, floating *W, Py_ssize_t jj, double v0,
                              double v1, double sa, double thr,
                              double uv1, double qb) noexcept nogil:
    """_finish for a mini-batch: the dense update's proximal L1 step
    (soft-thresholding by eta*l1 in W units)."""
    cdef double w
    if lz.has_l1:
        w = sa * v1
        v1 = copysign(fmax(fabs(w) - thr, 0.0), w) / sa
        lz.stamp[jj] = uv1
    W[jj] = <floating>v1
    if lz.has_avg:
        lz.avg[jj] -= qb * (W[jj] - v0)


cdef inline void _touched_step(const Config *cfg, Lazy *lz, floating *W,
                               double *g, unsigned char *marks,
                               const int64_t *touched, Py_ssize_t nt,
                               double factor, double eta, double sa, double t,
                               double uv1, double qb) noexcept nogil:
    """One mini-batch update of the coordinates it touched (the optimizer
    chosen once, outside the loops); clears their gradient and marks."""
    cdef Py_ssize_t l, jj
    cdef double gj, v0, bias1, bias2
    cdef double mom = cfg.momentum, l2c = lz.l2c, thr = eta * cfg.l1
    cdef double *m = lz.m1
    cdef double *v = lz.m2
    if cfg.optimizer == OPT_SGD:
        for l in range(nt):
            jj = touched[l]
            gj = factor * g[jj]
            g[jj] = 0.0
            marks[jj] = 0
            v0 = W[jj]
            _finish_prox(lz, W, jj, v0, v0 - eta * gj / sa, sa, thr, uv1, qb)
    elif cfg.optimizer == OPT_MOMENTUM or cfg.optimizer == OPT_NESTEROV:
        for l in range(nt):
            jj = touched[l]
            v0 = W[jj]
            gj = factor * g[jj] + l2c * v0
            g[jj] = 0.0
            marks[jj] = 0
            m[jj] = mom * m[jj] + gj
            if cfg.optimizer == OPT_NESTEROV:  # loop-invariant: unswitched
                gj = gj + mom * m[jj]
            else:
                gj = m[jj]
            _finish_prox(lz, W, jj, v0, v0 - eta * gj / sa, sa, thr, uv1, qb)
    elif cfg.optimizer == OPT_ADAGRAD or cfg.optimizer == OPT_RMSPROP:
        for l in range(nt):
            jj = touched[l]
            v0 = W[jj]
            gj = factor * g[jj] + l2c * v0
            g[jj] = 0.0
            marks[jj] = 0
            if cfg.optimizer == OPT_ADAGRAD:  # loop-invariant: unswitched
                m[jj] += gj * gj
            else:
                m[jj] = cfg.rho * m[jj] + (1.0 - cfg.rho) * gj * gj
            _finish_prox(lz, W, jj, v0, v0 - eta * gj / (sqrt(m[jj]) + cfg.eps) / sa,
                         sa, thr, uv1, qb)
    else:
        bias1 = 1.0 - pow(cfg.beta_1, t)
        bias2 = 1.0 - pow(cfg.beta_2, t)
        for l in range(nt):
            jj = touched[l]
            v0 = W[jj]
            gj = factor * g[jj] + l2c * v0
            g[jj] = 0.0
            marks[jj] = 0
            m[jj] = cfg.beta_1 * m[jj] + (1.0 - cfg.beta_1) * gj
            v[jj] = cfg.beta_2 * v[jj] + (1.0 - cfg.beta_2) * gj * gj
            _finish_prox(lz, W, jj, v0, v0 - eta * (m[jj] / bias1)
                         / (sqrt(v[jj] / bias2) + cfg.eps) / sa, sa, thr, uv1, qb)


cdef double _batch_steps(const Config *cfg, Lazy *lz, const floating *data,
                         const index_t *ind, const index_t *indptr,
                         const floating *y, const floating *sw, floating *W,
                         floating *b, const int64_t *rows, Py_ssize_t first,
                         Py_ssize_t end, Py_ssize_t stride, Py_ssize_t n_rows,
                         Py_ssize_t batch, double sw_scale, double *g,
                         unsigned char *marks, int64_t *touched) noexcept nogil:
    """Mini-batch updates number first, first + stride, ... < end of the
    epoch (batch i: rows[i*batch : (i+1)*batch]); the gradient is summed in
    the dense scratch g (K*p + K, zero outside an update) over the
    coordinates the batch touches (listed in ``touched``, flagged in
    ``marks``): O(nnz of the batch), never O(p)."""
    cdef Py_ssize_t ii, rr, r0, r1, i, lo, nnz, c, j, jj, nt, p = lz.p
    cdef int k = lz.k
    cdef double total = 0.0, d, eta, sb, sa, t, acc, v0, v1, norm, factor
    cdef double qb = 0.0, uv0 = 0.0, uv1 = 0.0, clip
    cdef double *gb = g + lz.kp
    cdef double *zs = gb + k
    cdef double *bsum = zs + k
    cdef const floating *x
    cdef const index_t *ix
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        r0 = ii * batch
        r1 = r0 + batch if r0 + batch < n_rows else n_rows
        eta = lz.eta[ii]
        sb = lz.S[ii]
        sa = lz.S[ii + 1]
        t = lz.t0 + ii + 1.0
        if lz.has_avg:
            qb = lz.Q[ii]
        if lz.has_l1:
            uv0 = lz.UV[ii]
            uv1 = lz.UV[ii + 1]
        nt = 0
        for c in range(k):
            gb[c] = 0.0
        for rr in range(r0, r1):
            i = rows[rr]
            _prefetch_csr(data, ind, indptr, W, y, sw, rows, rr, n_rows, 1)
            lo = indptr[i]
            nnz = indptr[i + 1] - lo
            x = data + lo
            ix = ind + lo
            for c in range(k):
                acc = 0.0
                for j in range(nnz):
                    jj = c * p + ix[j]
                    if not marks[jj]:
                        marks[jj] = 1
                        touched[nt] = jj
                        nt += 1
                        if lz.has_l1:  # soft-thresholds compose: one catch-up
                            v0 = W[jj]
                            v1 = copysign(fmax(fabs(v0) - (uv0 - lz.stamp[jj]), 0.0), v0)
                            lz.stamp[jj] = uv0
                            if v1 != v0:
                                W[jj] = <floating>v1
                                if lz.has_avg:
                                    lz.avg[jj] -= qb * (W[jj] - v0)
                    acc += <double>x[j] * <double>W[jj]
                zs[c] = sb * acc + b[c]
            if cfg.loss == DESCEND_MULTINOMIAL:
                total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
                for c in range(k):
                    zs[c] *= sw[i]
            else:
                total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d,
                                      &block)
                zs[0] = d
            for c in range(k):
                for j in range(nnz):
                    g[c * p + ix[j]] += zs[c] * x[j]
                gb[c] += zs[c]
        factor = sw_scale / (r1 - r0)
        if not cfg.fit_intercept:
            for c in range(k):
                gb[c] = 0.0
        if cfg.clip_norm > 0.0:
            norm = 0.0
            for j in range(nt):
                norm += g[touched[j]] * g[touched[j]]
            for c in range(k):
                norm += gb[c] * gb[c]
            norm = factor * sqrt(norm)
            if norm > cfg.clip_norm:
                factor *= cfg.clip_norm / norm
        _touched_step(cfg, lz, W, g, marks, touched, nt, factor, eta, sa, t, uv1, qb)
        if cfg.fit_intercept:
            for c in range(k):
                _intercept_step(cfg, lz, b, c, factor * gb[c], eta, t, bsum)
        elif lz.has_avg and t >= lz.avg_start:
            for c in range(k):
                bsum[c] += b[c]
    return total + _flush(&block)


cdef void _close_segment(Lazy *lz, floating *W, Py_ssize_t end,
                         int n_threads) noexcept nogil:
    """Catch every coordinate up on L1, add Q * V to P (the average's sum
    so far) and fold S into the coefficients: the segment's lazy state is
    then closed (stamps 0, S = 1)."""
    cdef Py_ssize_t jj
    cdef double s = lz.S[end], qe = 0.0, uv = 0.0, u = 0.0, v
    if lz.has_avg:
        qe = lz.Q[end]
    if lz.has_l1:
        uv = lz.UV[end]
        u = lz.u_base + lz.U[end]
    if not lz.has_l1 and not lz.has_avg and s == 1.0:
        return
    for jj in prange(lz.kp, schedule='static', num_threads=n_threads):
        v = W[jj]
        if lz.has_avg:
            lz.avg[jj] += qe * v
        if lz.has_l1:
            v = _l1_catch_up(v, &lz.q[jj], &lz.stamp[jj], uv, u, s)
            lz.stamp[jj] = 0.0
        W[jj] = <floating>(v * s)


cdef void _open_average(Lazy *lz, const floating *W, const floating *b,
                        double t) noexcept nogil:
    """ROW_AVERAGE from the average after t updates to P (sum so far; the
    intercepts: their plain sum so far)."""
    cdef Py_ssize_t jj
    cdef double n0 = t - lz.avg_start + 1.0
    if n0 < 0.0:
        n0 = 0.0
    for jj in range(lz.kp):
        lz.avg[jj] *= n0
    for jj in range(lz.k):
        lz.avg[lz.kp + jj] *= n0


cdef void _close_average(Lazy *lz, const floating *W, const floating *b,
                         double t) noexcept nogil:
    """P back to the average after t updates (the coefficients while
    fewer than average_start updates were made)."""
    cdef Py_ssize_t jj
    cdef double n1 = t - lz.avg_start + 1.0
    if n1 <= 0.0:
        for jj in range(lz.kp):
            lz.avg[jj] = W[jj]
        for jj in range(lz.k):
            lz.avg[lz.kp + jj] = b[jj]
        return
    for jj in range(lz.kp):
        lz.avg[jj] /= n1
    for jj in range(lz.k):
        lz.avg[lz.kp + jj] /= n1


cdef double _lazy_epoch(const Config *cfg, Lazy *lz, double *lzrows,
                        Py_ssize_t lz_stride, const floating *data,
                        const index_t *ind, const index_t *indptr,
                        const floating *y, const floating *sw, floating *W,
                        floating *b, const int64_t *rows, Py_ssize_t n,
                        Py_ssize_t batch, Py_ssize_t epoch, double *sc,
                        double *work, Py_ssize_t width, unsigned char *marks,
                        int64_t *touched, Py_ssize_t cap, int n_threads,
                        double *eta_last) noexcept nogil:
    """One epoch of lazy per-sample (batch 1) or mini-batch updates, O(nnz);
    Hogwild over ``n_threads`` threads: thread c makes updates c, c + T, ...
    of the epoch (update i is t0 + i + 1 whichever thread makes it; its
    rows are positions i*batch ... of the shuffled order).  Returns the
    epoch's loss sum, summed from per-thread partials in thread order."""
    cdef Py_ssize_t seg = 0, seg_end, c, j
    cdef Py_ssize_t n_steps = (n + batch - 1) // batch
    cdef Py_ssize_t bsum_off = lz.k if batch == 1 else lz.kp + 2 * lz.k
    cdef Py_ssize_t kp = lz.kp
    cdef int T = n_threads
    cdef double total = 0.0, sw_scale = n / cfg.sw_sum
    cdef bint plain = (batch == 1 and lz.k == 1 and cfg.optimizer == OPT_SGD
                       and not lz.has_l1 and not lz.has_avg
                       and cfg.loss != DESCEND_MULTINOMIAL)
    lz.t0 = sc[SC_T]
    lz.u_base = sc[SC_L1_U]
    if lz.has_avg:
        _open_average(lz, W, b, lz.t0)
    if batch > 1:  # the scratch gradients start at zero (kept so by the updates)
        for c in prange(T, schedule='static', num_threads=T):
            for j in range(kp):
                work[c * width + j] = 0.0
    while seg < n_steps:
        seg_end = _fill_segment(cfg, lzrows, lz_stride, seg, n_steps, lz.t0, epoch,
                                sc[SC_ETA_ADAPTIVE], lz.decay)
        for c in range(T):
            for j in range(lz.k):
                work[c * width + bsum_off + j] = 0.0
        if T <= 1 or seg_end - seg < 2 * T:
            T = 1
            if plain:
                total += _sgd_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                    seg, seg_end, 1, sw_scale)
            elif batch == 1:
                total += _sample_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                       seg, seg_end, 1, sw_scale, work)
            else:
                total += _batch_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                      seg, seg_end, 1, n, batch, sw_scale, work,
                                      marks, touched)
        else:
            for c in prange(T, schedule='static', chunksize=1, num_threads=T):
                if plain:
                    work[c * width + width - 1] = _sgd_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, sw_scale)
                elif batch == 1:
                    work[c * width + width - 1] = _sample_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, sw_scale, work + c * width)
                else:
                    work[c * width + width - 1] = _batch_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, n, batch, sw_scale, work + c * width,
                        marks + c * kp, touched + c * cap)
            for c in range(T):
                total += work[c * width + width - 1]
        if lz.has_avg:
            for c in range(T):
                for j in range(lz.k):
                    lz.avg[kp + j] += work[c * width + bsum_off + j]
        T = n_threads
        _close_segment(lz, W, seg_end, n_threads)
        if lz.has_l1:
            lz.u_base += lzrows[LZ_U * lz_stride + seg_end]
        seg = seg_end
    sc[SC_T] += n_steps
    sc[SC_L1_U] = lz.u_base
    eta_last[0] = lzrows[LZ_ETA * lz_stride + n_steps - 1]
    if lz.has_avg:
        _close_average(lz, W, b, sc[SC_T])
    return total


def run_epochs(const floating[::1] data, const index_t[::1] indices,
               const index_t[::1] indptr, Py_ssize_t n_features,
               const floating[::1] y, const floating[::1] sw,
               floating[:, ::1] W, floating[::1] b, floating[:, ::1] W_eff,
               floating[::1] b_eff, const double[::1] mu,
               const double[::1] inv_sigma, int64_t[::1] train_rows,
               const int64_t[::1] val_rows, uint64_t[::1] rng_state,
               double[:, ::1] work, double[:, ::1] state, double[::1] scalars,
               Config cfg, Py_ssize_t epochs_before, double[:, ::1] hist,
               double[:, ::1] lazy, unsigned char[:, ::1] marks,
               int64_t[:, ::1] touched):
    """_dense.run_epochs for a CSR matrix given as (data, indices, indptr).

    Scratch of the lazy per-sample and mini-batch updates (1-wide when
    unused): ``lazy`` (N_LAZY_ROWS, updates per epoch + 1) doubles; for
    mini-batches, per thread, ``marks`` (K*p flags, zero) and ``touched``
    (room for the K * nnz of the largest batch).  ``work`` has a row per
    thread of at least K*p + 3K + 1 doubles."""
    cdef Py_ssize_t n = train_rows.shape[0], p = n_features
    cdef Py_ssize_t width = work.shape[1], n_epochs = hist.shape[0]
    cdef int k = W.shape[0]
    cdef Py_ssize_t kp = k * p, n_all = kp + k
    cdef Py_ssize_t e, epoch, s, end, ii, i, j, lo, nnz, n_chunks, done = 0
    cdef Py_ssize_t batch = cfg.batch_size if cfg.batch_size > 0 else n
    cdef Py_ssize_t updates_per_epoch = (n + batch - 1) // batch
    cdef int status = STATUS_RUNNING
    cdef double total, eta = cfg.eta0, gsq = NAN, objective, d
    cdef double val_score = NAN
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
    cdef bint lazy_csr = cfg.batch_size >= 1 and not cfg.scale
    cdef double *lzp = &lazy[0, 0]
    cdef Py_ssize_t lz_stride = lazy.shape[1]
    cdef int n_threads = cfg.n_threads if cfg.n_threads < work.shape[0] else <int>work.shape[0]
    cdef Lazy lz
    lz.eta = lzp + LZ_ETA * lz_stride
    lz.S = lzp + LZ_S * lz_stride
    lz.UV = lzp + LZ_UV * lz_stride
    lz.U = lzp + LZ_U * lz_stride
    lz.Q = lzp + LZ_Q * lz_stride
    lz.q = st + ROW_L1_Q * n_all
    lz.stamp = st + ROW_LAZY * n_all
    lz.avg = st + ROW_AVERAGE * n_all
    lz.m1 = st + ROW_BUF1 * n_all
    lz.m2 = st + ROW_BUF2 * n_all
    lz.avg_start = cfg.average_start
    lz.l2c = 0.0 if cfg.optimizer == OPT_SGD or cfg.optimizer == OPT_ADAMW else cfg.l2
    lz.has_l1 = cfg.l1 > 0.0
    lz.has_avg = cfg.average_start > 0.0
    lz.decay = cfg.l2 > 0.0 and (cfg.optimizer == OPT_SGD or cfg.optimizer == OPT_ADAMW)
    lz.p = p
    lz.kp = kp
    lz.k = k
    if n_threads < 1:
        n_threads = 1
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
                if lazy_csr:
                    total = _lazy_epoch(&cfg, &lz, lzp, lz_stride, dp, ip, pp, &y[0],
                                        &sw[0], Wp, bp, rows, n, cfg.batch_size, epoch,
                                        sc, &work[0, 0], width, &marks[0, 0],
                                        &touched[0, 0], touched.shape[1], n_threads,
                                        &eta)
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
