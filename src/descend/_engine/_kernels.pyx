# cython: language_level=3
"""Epoch kernels: one set for dense and CSR data, per sample, mini-batch
and full batch.

Every kernel takes memoryviews and scalars, releases the GIL, and touches
no Python object inside its loops; validation happened before, in Python.
Rows are read through _rows.pxd (a dense row is a CSR row whose
coordinates are 0..p-1), updates go through _update.pxd, and the end of an
epoch through _stopping.pxd, so every layout and batch mode shares one
loss, one optimizer rule, one schedule and one stopping rule.

Model: K output columns (K = 1 for single-output losses, K = n_classes
for the multinomial loss); W is (K, p), b is (K,).  The objective is
sum_i sw_i loss_i / sum_i sw_i + l1 ||W||_1 + l2/2 ||W||^2.

How an epoch updates (chosen once per call):

* MODE_DENSE: the gradient of a batch (or of every row: full batch) is
  summed by chunks, then every coordinate takes its step.  Full batch,
  dense mini-batches, and any fit with scale_features (whose centred
  gradient is dense).  Full-batch chunks come from the data's shape, so
  the result is bitwise the same for any number of threads.
* MODE_SAMPLE: per-sample updates of the coordinates of the row (all of
  them for a dense row), lazily: O(K * nnz) per update.
* MODE_SGD: MODE_SAMPLE's fused fast path for one output, plain sgd, no
  L1, no averaging (equal to it to rounding, tested).
* MODE_BATCH: mini-batches of CSR rows, lazily: the batch's gradient in a
  dense scratch over the coordinates it touches, O(K * nnz of the batch).

The lazy semantics on CSR rows, per update t (rows R, J the coordinates
they touch; dense rows touch every coordinate, where all of this is the
plain dense update):

* sgd with L2, clip_norm, any schedule: exactly the dense update (the
  clipped norm is |d| sqrt(||x||^2 + fit_intercept), over J for a batch).
* L1, per sample: scikit-learn's cumulative penalty (Tsuruoka et al.
  2009), applied to J after the step; a coordinate outside J catches up at
  its next touch or at the epoch's end with the penalty of every update in
  between at once.  Exact without a decay.  With one (sgd elastic net,
  adamw + L1) the path is exact while the coordinate stays away from 0;
  one that reaches 0 between two touches keeps as credit the decayed
  penalty of the interval minus its decayed |w|.
* L1, mini-batch: soft-thresholding, which composes through the decay,
  so the lazy catch-up is exact (elastic net included).
* average: sum_t W_t = P + Q_t * V (Xu 2011), exact; with L1 it is the
  average of the coefficients as the lazy updates hold them.
* momentum, nesterov, adagrad, rmsprop, adam, adamw: as TensorFlow's
  LazyAdam / PyTorch's SparseAdam: only coordinates in J step and move
  their buffers, with gradient (data) + l2 w_j (coupled, on J only);
  adam's bias corrections use the global t; adamw's decoupled decay
  reaches every coordinate exactly, through S.  Intercepts take their
  full step every update.

Hogwild (Niu et al. 2011), CSR per-sample and mini-batch only, when
cfg.hogwild > 1: thread c makes updates c, c + T, c + 2T, ... of the
shuffled order (update i is number t0 + i + 1 whichever thread makes it,
so every schedule is unchanged) on shared coefficients, without locks;
not reproducible.  One thread is reproducible bit for bit.

Each epoch writes one row of ``hist`` (columns HistColumn).  A block of
epochs returns (epochs recorded, Status); DESCEND_DIVERGED restores the
coefficients of the epoch's start and records nothing for that epoch.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport NAN, copysign, fabs, fmax, sqrt
from libc.stdint cimport int32_t, int64_t, uint64_t
from openmp cimport omp_get_wtime

from ._csrc cimport *
from ._codes cimport *
from ._rows cimport *
from ._update cimport *
from ._stopping cimport *

# A batch's gradient is split across threads from this many multiply-adds on.
cdef double PARALLEL_MIN_WORK = 1 << 17

cdef enum:
    # Hogwild threads add their intercept steps to the shared intercept every
    # this many rows (one cache line written every row bounced between cores).
    INTERCEPT_FLUSH = 64
    MODE_DENSE = 0
    MODE_SAMPLE = 1
    MODE_SGD = 2
    MODE_BATCH = 3


cdef inline double _caught_up_dot(Lazy *lz, floating *W, Py_ssize_t off,
                                  const floating *x, const index_t *ix,
                                  Py_ssize_t nnz, double uv, double u, double s,
                                  double qb) noexcept nogil:
    """x . V[off:] after catching the row's coordinates up on L1."""
    cdef Py_ssize_t j, jj
    cdef double acc = 0.0, v0, v1
    for j in range(nnz):
        jj = off + _col(ix, j)
        v0 = W[jj]
        v1 = _l1_catch_up(v0, &lz.q[jj], &lz.stamp[jj], uv, u, s)
        if v1 != v0:
            W[jj] = <floating>v1
            if lz.has_avg:
                lz.avg[jj] -= qb * (W[jj] - v0)
        acc += <double>x[j] * <double>W[jj]
    return acc


cdef double _sample_steps(const Config *cfg, Lazy *lz, const floating *data,
                          const index_t *ind, const index_t *indptr,
                          const floating *y, const floating *sw, floating *W,
                          floating *b, const int64_t *rows, Py_ssize_t first,
                          Py_ssize_t end, Py_ssize_t stride, double sw_scale,
                          double *zs) noexcept nogil:
    """Per-sample updates at positions first, first + stride, ... < end of
    the epoch's row order (one thread's share of a segment); returns the
    weighted sum of the rows' losses, each before its update.  zs: 2K
    doubles of scratch, the second K the thread's intercept sums for the
    average (zeroed by the caller)."""
    cdef Py_ssize_t ii, i, nnz, c, j, p = lz.p
    cdef int k = lz.k
    cdef double total = 0.0, d, sb, norm, uv0, u0
    cdef const floating *x
    cdef const index_t *ix
    cdef Step st
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        i = rows[ii]
        _prefetch(data, ind, indptr, p, W, y, sw, rows, ii, end, stride)
        nnz = _row(data, ind, indptr, p, i, &x, &ix)
        _begin_step(cfg, lz, &st, ii, False)
        sb = lz.S[ii]
        if lz.has_l1:
            uv0 = lz.UV[ii]
            u0 = lz.u_base + lz.U[ii]
            for c in range(k):
                zs[c] = sb * _caught_up_dot(lz, W, c * p, x, ix, nnz, uv0, u0, sb,
                                            st.qb) + b[c]
        else:
            for c in range(k):
                zs[c] = sb * _rdot(x, ix, nnz, W + c * p) + b[c]
        if cfg.loss == DESCEND_LOSS_MULTINOMIAL:
            total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
            for c in range(k):
                zs[c] *= sw[i] * sw_scale
        else:
            total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d, &block)
            zs[0] = d * sw_scale
        if cfg.clip_norm > 0.0:
            # ||d [x, 1]|| = |d| sqrt(||x||^2 + fit_intercept): O(nnz)
            norm = 0.0
            for c in range(k):
                norm += zs[c] * zs[c]
            norm = sqrt(norm * (_rsq(x, nnz) + cfg.fit_intercept))
            if norm > cfg.clip_norm:
                for c in range(k):
                    zs[c] *= cfg.clip_norm / norm
        for c in range(k):
            for j in range(nnz):
                _step_coord(cfg, lz, W, c * p + _col(ix, j), zs[c] * x[j], &st)
        for c in range(k):
            _intercept_step(cfg, lz, b, c, zs[c], &st, zs + k)
    return total + _flush(&block)


cdef double _sgd_steps(const Config *cfg, Lazy *lz, const floating *data,
                       const index_t *ind, const index_t *indptr,
                       const floating *y, const floating *sw, floating *W,
                       floating *b, const int64_t *rows, Py_ssize_t first,
                       Py_ssize_t end, Py_ssize_t stride,
                       double sw_scale) noexcept nogil:
    """_sample_steps for one output, plain sgd (L2 through S, clipping), no
    L1, no averaging: V moves by -eta d x / S on the row, in the same
    arithmetic as _sample_steps (tested to agree).  Under Hogwild
    (stride > 1) a thread adds its intercept steps to the shared
    intercept every INTERCEPT_FLUSH rows."""
    cdef Py_ssize_t ii, i, nnz, pending = 0, p = lz.p
    cdef double total = 0.0, d, eta, norm, z, db = 0.0, step
    cdef const floating *x
    cdef const index_t *ix
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        i = rows[ii]
        _prefetch(data, ind, indptr, p, W, y, sw, rows, ii, end, stride)
        nnz = _row(data, ind, indptr, p, i, &x, &ix)
        eta = lz.eta[ii]
        z = lz.S[ii] * _rdot(x, ix, nnz, W) + (b[0] + db)
        total += _single_loss(cfg.loss, cfg.epsilon, z, y[i], sw[i], &d, &block)
        d *= sw_scale
        if cfg.clip_norm > 0.0:  # (the general path's arithmetic, to the bit)
            norm = sqrt(d * d * (_rsq(x, nnz) + cfg.fit_intercept))
            if norm > cfg.clip_norm:
                d *= cfg.clip_norm / norm
        _rstep(W, eta / lz.S[ii + 1], d, x, ix, nnz)
        if cfg.fit_intercept:
            step = eta * (d * cfg.intercept_decay)
            if stride == 1:
                b[0] = <floating>(b[0] - step)
            else:
                db -= step
                pending += 1
                if pending == INTERCEPT_FLUSH:
                    b[0] = <floating>(b[0] + db)
                    db = 0.0
                    pending = 0
    if pending:
        b[0] = <floating>(b[0] + db)
    return total + _flush(&block)


cdef double _batch_steps(const Config *cfg, Lazy *lz, const floating *data,
                         const index_t *ind, const index_t *indptr,
                         const floating *y, const floating *sw, floating *W,
                         floating *b, const int64_t *rows, Py_ssize_t first,
                         Py_ssize_t end, Py_ssize_t stride, Py_ssize_t n_rows,
                         Py_ssize_t batch, double sw_scale, double *g,
                         unsigned char *marks, int64_t *touched) noexcept nogil:
    """Mini-batch updates number first, first + stride, ... < end of the
    epoch over CSR rows (batch i: rows[i*batch : (i+1)*batch]); the
    gradient is summed in the dense scratch g (K*p + K, zero outside an
    update) over the coordinates the batch touches (listed in ``touched``,
    flagged in ``marks``): O(nnz of the batch), never O(p)."""
    cdef Py_ssize_t ii, rr, r0, r1, i, nnz, c, j, jj, l, nt, p = lz.p
    cdef int k = lz.k
    cdef double total = 0.0, d, sb, acc, v0, v1, norm, factor, uv0
    cdef double *gb = g + lz.kp
    cdef double *zs = gb + k
    cdef double *bsum = zs + k
    cdef const floating *x
    cdef const index_t *ix
    cdef Step st
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    ii = first - stride
    while ii + stride < end:
        ii += stride
        r0 = ii * batch
        r1 = r0 + batch if r0 + batch < n_rows else n_rows
        _begin_step(cfg, lz, &st, ii, True)
        sb = lz.S[ii]
        uv0 = lz.UV[ii]
        nt = 0
        for c in range(k):
            gb[c] = 0.0
        for rr in range(r0, r1):
            i = rows[rr]
            _prefetch(data, ind, indptr, p, W, y, sw, rows, rr, n_rows, 1)
            nnz = _row(data, ind, indptr, p, i, &x, &ix)
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
                                    lz.avg[jj] -= st.qb * (W[jj] - v0)
                    acc += <double>x[j] * <double>W[jj]
                zs[c] = sb * acc + b[c]
            if cfg.loss == DESCEND_LOSS_MULTINOMIAL:
                total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
                for c in range(k):
                    zs[c] *= sw[i]
            else:
                total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d,
                                      &block)
                zs[0] = d
            for c in range(k):
                _racc(g + c * p, zs[c], x, ix, nnz)
                gb[c] += zs[c]
        factor = sw_scale / (r1 - r0)
        if cfg.clip_norm > 0.0:
            norm = 0.0
            for l in range(nt):
                norm += g[touched[l]] * g[touched[l]]
            if cfg.fit_intercept:
                for c in range(k):
                    norm += gb[c] * gb[c]
            norm = factor * sqrt(norm)
            if norm > cfg.clip_norm:
                factor *= cfg.clip_norm / norm
        for l in range(nt):
            jj = touched[l]
            _step_coord(cfg, lz, W, jj, factor * g[jj], &st)
            g[jj] = 0.0
            marks[jj] = 0
        for c in range(k):
            _intercept_step(cfg, lz, b, c, factor * gb[c], &st, bsum)
    return total + _flush(&block)


cdef double _dense_steps(const Config *cfg, Lazy *lz, const floating *data,
                         const index_t *ind, const index_t *indptr,
                         const floating *y, const floating *sw, floating *W,
                         floating *b, floating *We, floating *be,
                         const double *mu, const double *inv_sigma,
                         const int64_t *rows, Py_ssize_t first, Py_ssize_t end,
                         Py_ssize_t n_rows, Py_ssize_t batch, double sw_scale,
                         double avg_nnz, double *work, Py_ssize_t width,
                         Py_ssize_t max_chunks, double *gsq) noexcept nogil:
    """Updates first..end of the epoch, each from the gradient of its batch
    summed by chunks (full batch: cfg.n_chunks, from the shape alone;
    smaller batches: the threads, once big enough to pay), then a step of
    every coordinate.  With cfg.scale the gradient is read through the
    raw-space twin (We, be) and mapped to the scaled space.  A full batch
    stores the squared norm of its smooth gradient in *gsq."""
    cdef Py_ssize_t ii, r0, r1, c, j, jj, n_chunks, p = lz.p, kp = lz.kp
    cdef int k = lz.k
    cdef double total = 0.0, factor, norm, gj
    cdef double *g = work
    cdef double *gb = work + kp
    cdef const floating *Wr = We if cfg.scale else W
    cdef const floating *br = be if cfg.scale else b
    cdef const int64_t *visit = NULL if cfg.rows_identity else rows
    cdef Step st
    for ii in range(first, end):
        r0 = ii * batch
        r1 = r0 + batch if r0 + batch < n_rows else n_rows
        _begin_step(cfg, lz, &st, ii, batch > 1)
        if cfg.batch_size == 0:
            n_chunks = cfg.n_chunks
        elif cfg.n_threads > 1 and (r1 - r0) * avg_nnz * k >= PARALLEL_MIN_WORK:
            n_chunks = cfg.n_threads if cfg.n_threads < max_chunks else max_chunks
        else:
            n_chunks = 1
        total += _chunked_gradient(data, ind, indptr, p, y, sw, Wr, br,
                                   1.0 if cfg.scale else lz.S[ii], k, cfg.loss,
                                   cfg.epsilon, visit, n_rows, r0, r1, work, width,
                                   n_chunks, cfg.n_threads)
        if cfg.scale:
            for c in range(k):
                for j in range(p):
                    jj = c * p + j
                    g[jj] = (g[jj] - mu[j] * gb[c]) * inv_sigma[j]
        factor = sw_scale / (r1 - r0)
        if gsq != NULL:
            norm = 0.0
            for jj in range(kp):
                gj = factor * g[jj] + cfg.l2 * lz.S[ii] * W[jj]
                norm += gj * gj
            if cfg.fit_intercept:
                for c in range(k):
                    norm += (factor * gb[c]) * (factor * gb[c])
            gsq[0] = norm
        if cfg.clip_norm > 0.0:
            norm = 0.0
            for jj in range(kp):
                norm += g[jj] * g[jj]
            if cfg.fit_intercept:
                for c in range(k):
                    norm += gb[c] * gb[c]
            norm = factor * sqrt(norm)
            if norm > cfg.clip_norm:
                factor *= cfg.clip_norm / norm
        for jj in range(kp):
            _step_coord(cfg, lz, W, jj, factor * g[jj], &st)
        for c in range(k):
            _intercept_step(cfg, lz, b, c, factor * gb[c], &st, work + kp + 2 * k)
        if cfg.scale:
            _refresh_effective(W, b, st.sa, We, be, mu, inv_sigma, p, k)
    return total


cdef double _epoch_updates(const Config *cfg, Lazy *lz, double *lzrows,
                           Py_ssize_t lz_stride, int mode,
                           const floating *data, const index_t *ind,
                           const index_t *indptr, const floating *y,
                           const floating *sw, floating *W, floating *b,
                           floating *We, floating *be, const double *mu,
                           const double *inv_sigma, const int64_t *rows,
                           Py_ssize_t n, Py_ssize_t batch, Py_ssize_t epoch,
                           double *sc, double avg_nnz, double *work,
                           Py_ssize_t width, Py_ssize_t n_work,
                           unsigned char *marks, int64_t *touched,
                           Py_ssize_t cap, double *eta_last,
                           double *gsq) noexcept nogil:
    """One epoch of updates in segments (see _update.pxd); Hogwild over
    cfg.hogwild threads in the lazy CSR modes.  Returns the epoch's loss
    sum (per-thread partials added in thread order)."""
    cdef Py_ssize_t seg = 0, seg_end, c, j
    cdef Py_ssize_t n_steps = (n + batch - 1) // batch
    cdef Py_ssize_t kp = lz.kp
    cdef Py_ssize_t bsum_off = lz.k if mode == MODE_SAMPLE else kp + 2 * lz.k
    cdef int hog = cfg.hogwild if mode != MODE_DENSE and cfg.hogwild > 1 else 1
    cdef int T
    cdef double total = 0.0, sw_scale = n / cfg.sw_sum
    if hog > n_work:
        hog = <int>n_work
    lz.t0 = sc[DESCEND_SC_T]
    lz.u_base = sc[DESCEND_SC_L1_U]
    if lz.has_avg:
        _open_average(lz, lz.t0)
    if mode == MODE_BATCH:  # the scratch gradients start at zero (kept so by the updates)
        for c in prange(hog, schedule='static', num_threads=hog):
            for j in range(kp):
                work[c * width + j] = 0.0
    while seg < n_steps:
        seg_end = _fill_segment(cfg, lz, lzrows, lz_stride, seg, n_steps, epoch,
                                sc[DESCEND_SC_ETA_ADAPTIVE])
        if lz.pre_decay != 1.0:
            _decay_all(lz, W, cfg.n_threads)
            if cfg.scale:
                _refresh_effective(W, b, 1.0, We, be, mu, inv_sigma, lz.p, lz.k)
        for c in range(hog):
            for j in range(lz.k):
                work[c * width + bsum_off + j] = 0.0
        T = 1 if seg_end - seg < 2 * hog else hog
        if mode == MODE_DENSE:
            total += _dense_steps(cfg, lz, data, ind, indptr, y, sw, W, b, We, be, mu,
                                  inv_sigma, rows, seg, seg_end, n, batch, sw_scale,
                                  avg_nnz, work, width, n_work, gsq)
        elif T == 1:
            if mode == MODE_SGD:
                total += _sgd_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                    seg, seg_end, 1, sw_scale)
            elif mode == MODE_SAMPLE:
                total += _sample_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                       seg, seg_end, 1, sw_scale, work)
            else:
                total += _batch_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                      seg, seg_end, 1, n, batch, sw_scale, work,
                                      marks, touched)
        else:
            for c in prange(T, schedule='static', chunksize=1, num_threads=T):
                if mode == MODE_SGD:
                    work[c * width + width - 1] = _sgd_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, sw_scale)
                elif mode == MODE_SAMPLE:
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
        _close_segment(lz, W, seg_end, cfg.n_threads)
        lz.u_base += lzrows[DESCEND_LZ_U * lz_stride + seg_end]
        seg = seg_end
    sc[DESCEND_SC_T] += n_steps
    sc[DESCEND_SC_L1_U] = lz.u_base
    eta_last[0] = lzrows[DESCEND_LZ_ETA * lz_stride + n_steps - 1]
    if lz.has_avg:
        _close_average(lz, W, b, sc[DESCEND_SC_T])
    return total


cdef (Py_ssize_t, int) _run(const Config *cfg, const floating *data,
                            const index_t *ind, const index_t *indptr,
                            Py_ssize_t p, double avg_nnz, const floating *y,
                            const floating *sw, floating *W, floating *b,
                            floating *We, floating *be, const double *mu,
                            const double *inv_sigma, int64_t *rows, Py_ssize_t n,
                            const int64_t *val_rows, Py_ssize_t n_val, int k,
                            uint64_t *rng, double *work, Py_ssize_t width,
                            Py_ssize_t n_work, double *st, double *sc,
                            double *lzrows, Py_ssize_t lz_stride,
                            unsigned char *marks, int64_t *touched,
                            Py_ssize_t cap, Py_ssize_t epochs_before,
                            double *hist, Py_ssize_t n_epochs) noexcept nogil:
    """Up to n_epochs epochs; returns (epochs recorded, status)."""
    cdef Py_ssize_t kp = k * p, n_all = kp + k, e, epoch, done = 0
    cdef Py_ssize_t batch = cfg.batch_size if cfg.batch_size > 0 else n
    cdef int status = DESCEND_RUNNING, mode
    cdef double total, eta = cfg.sched.eta0, gsq = NAN, objective, penalty = 0.0
    cdef double val_score = NAN, t0 = omp_get_wtime()
    cdef Lazy lz
    _init_lazy(&lz, cfg, lzrows, lz_stride, st, p, k)
    if cfg.batch_size == 0 or cfg.scale or (cfg.batch_size > 1 and indptr == NULL):
        mode = MODE_DENSE
    elif cfg.batch_size > 1:
        mode = MODE_BATCH
    elif (cfg.fused and k == 1 and cfg.opt.kind == DESCEND_OPT_SGD and not lz.has_l1
          and not lz.has_avg and cfg.loss != DESCEND_LOSS_MULTINOMIAL):
        mode = MODE_SGD
    else:
        mode = MODE_SAMPLE
    for e in range(n_epochs):
        epoch = epochs_before + e + 1
        _copy_out(W, b, st + DESCEND_ROW_START * n_all, kp, k)
        if cfg.scale:
            _refresh_effective(W, b, 1.0, We, be, mu, inv_sigma, p, k)
        if cfg.batch_size == 0:
            penalty = _penalty(cfg, W, kp)  # the objective at the epoch's start
        elif cfg.shuffle:
            descend_shuffle(rows, n, rng)
        total = _epoch_updates(cfg, &lz, lzrows, lz_stride, mode, data, ind, indptr,
                               y, sw, W, b, We, be, mu, inv_sigma, rows, n, batch,
                               epoch, sc, avg_nnz, work, width, n_work, marks,
                               touched, cap, &eta,
                               &gsq if cfg.batch_size == 0 else NULL)
        if cfg.batch_size != 0:
            penalty = _penalty(cfg, W, kp)
        objective = total / cfg.sw_sum + penalty
        if cfg.early_stopping:
            if cfg.scale:
                _refresh_effective(W, b, 1.0, We, be, mu, inv_sigma, p, k)
            val_score = _validation_score(cfg, data, ind, indptr, p, y, sw,
                                          We if cfg.scale else W,
                                          be if cfg.scale else b, k, val_rows, n_val,
                                          work + kp + k)
        status = _end_epoch(cfg, W, b, st, sc, hist + e * DESCEND_N_HIST, objective,
                            sqrt(gsq) if cfg.batch_size == 0 else NAN, eta,
                            omp_get_wtime() - t0, val_score, kp, k)
        if status == DESCEND_DIVERGED:
            break
        done = e + 1
        if status == DESCEND_CONVERGED:
            break
    return done, status


cdef _run_fit(const floating *data, const index_t *ind, const index_t *indptr,
              Py_ssize_t p, double avg_nnz, const floating[::1] y,
              const floating[::1] sw, const int64_t[::1] val_rows, fit,
              KernelConfig config, Py_ssize_t epochs_before, double[:, ::1] hist):
    """_run on the arrays of a FitState (typed here, in X's dtype)."""
    cdef floating[:, ::1] W = fit.W
    cdef floating[::1] b = fit.b
    cdef floating[:, ::1] We = fit.W_eff
    cdef floating[::1] be = fit.b_eff
    cdef const double[::1] mu = fit.scaling.mu
    cdef const double[::1] inv_sigma = fit.scaling.inv_sigma
    cdef int64_t[::1] rows = fit.rows
    cdef uint64_t[::1] rng = fit.rng_state
    cdef double[:, ::1] work = fit.work
    cdef double[:, ::1] state = fit.state
    cdef double[::1] scalars = fit.scalars
    cdef double[:, ::1] lazy = fit.lazy
    cdef unsigned char[:, ::1] marks = fit.marks
    cdef int64_t[:, ::1] touched = fit.touched
    cdef Config cfg = config.c
    cdef Py_ssize_t done
    cdef int status
    with nogil:
        done, status = _run(&cfg, data, ind, indptr, p, avg_nnz, &y[0], &sw[0], &W[0, 0],
                            &b[0], &We[0, 0], &be[0], &mu[0], &inv_sigma[0], &rows[0],
                            rows.shape[0], &val_rows[0], val_rows.shape[0], W.shape[0],
                            &rng[0], &work[0, 0], work.shape[1], work.shape[0],
                            &state[0, 0], &scalars[0], &lazy[0, 0], lazy.shape[1],
                            &marks[0, 0], &touched[0, 0], touched.shape[1],
                            epochs_before, &hist[0, 0], hist.shape[0])
    return done, status


def run_dense(const floating[:, ::1] X, const floating[::1] y,
              const floating[::1] sw, const int64_t[::1] val_rows, fit,
              KernelConfig config, Py_ssize_t epochs_before,
              double[:, ::1] hist):
    """Up to hist.shape[0] epochs over the rows ``fit.rows`` of a dense X;
    returns (epochs recorded, status).  ``fit`` holds the fit state (see
    descend._fitstate.FitState): W, b (the model in the solver's space),
    W_eff, b_eff (their raw-space twin with scale_features), scaling (mu,
    inv_sigma), rows (training rows, shuffled in place), rng_state, work,
    state, scalars, lazy, and the CSR mini-batch scratch marks and touched."""
    return _run_fit(&X[0, 0], <const int32_t *>NULL, <const int32_t *>NULL, X.shape[1],
                    <double>X.shape[1], y, sw, val_rows, fit, config, epochs_before, hist)


def run_csr(const floating[::1] data, const index_t[::1] indices,
            const index_t[::1] indptr, Py_ssize_t n_features,
            const floating[::1] y, const floating[::1] sw,
            const int64_t[::1] val_rows, fit, KernelConfig config,
            Py_ssize_t epochs_before, double[:, ::1] hist):
    """run_dense for a CSR matrix given as (data, indices, indptr)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    return _run_fit(&data[0] if data.shape[0] else NULL,
                    &indices[0] if indices.shape[0] else NULL, &indptr[0], n_features,
                    indptr[n_rows] / <double>(n_rows if n_rows > 0 else 1), y, sw,
                    val_rows, fit, config, epochs_before, hist)


def evaluate_dense(const floating[:, ::1] X, const floating[::1] y,
                   const floating[::1] sw, const floating[:, ::1] W,
                   const floating[::1] b, int loss, double epsilon,
                   double[:, ::1] work, Py_ssize_t n_chunks, int n_threads):
    """One pass over every row at the raw-space model (W, b): returns
    sum_i sw_i loss_i and leaves the gradient sum sum_i sw_i dloss_i [x_i,
    1] in work[0, :K*p + K] (chunks summed in order: any n_threads gives
    the same bits)."""
    cdef double total
    with nogil:
        total = _chunked_gradient(&X[0, 0], <const int32_t *>NULL, <const int32_t *>NULL,
                                  X.shape[1], &y[0], &sw[0], &W[0, 0], &b[0], 1.0,
                                  W.shape[0], loss, epsilon, NULL, X.shape[0], 0,
                                  X.shape[0], &work[0, 0], work.shape[1], n_chunks,
                                  n_threads)
    return total


def evaluate_csr(const floating[::1] data, const index_t[::1] indices,
                 const index_t[::1] indptr, const floating[::1] y,
                 const floating[::1] sw, const floating[:, ::1] W,
                 const floating[::1] b, int loss, double epsilon,
                 double[:, ::1] work, Py_ssize_t n_chunks, int n_threads):
    """evaluate_dense for a CSR matrix."""
    cdef double total
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1
    with nogil:
        total = _chunked_gradient(&data[0] if data.shape[0] else NULL,
                                  &indices[0] if indices.shape[0] else NULL, &indptr[0],
                                  W.shape[1], &y[0], &sw[0], &W[0, 0], &b[0], 1.0,
                                  W.shape[0], loss, epsilon, NULL, n_rows, 0, n_rows,
                                  &work[0, 0], work.shape[1], n_chunks, n_threads)
    return total


def check_stop(KernelConfig config, double[::1] scalars, double value):
    """The kernels' no-improvement rule, for epochs run from Python (line
    search): bit 1 = stop, bit 2 = new best."""
    return _monitor(&config.c, &scalars[0], value)


def loss_values(int loss, double epsilon, const double[::1] z,
                const double[::1] y, double[::1] out):
    """out[i] = loss(z[i], y[i]) for a single-output loss (loss.h's own
    functions, so Python never writes a loss twice)."""
    cdef Py_ssize_t i
    cdef double d
    with nogil:
        for i in range(z.shape[0]):
            out[i] = descend_loss(loss, z[i], y[i], epsilon, &d)
