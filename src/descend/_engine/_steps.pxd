# cython: language_level=3
"""The updates of one segment of an epoch, one function per mode (see
_kernels.pyx): per sample (general, fused sgd, saga), CSR mini-batches,
and the dense path (a batch's gradient by chunks, then every coordinate).
Each reads rows through _rows.pxd and updates coordinates through
_update.pxd."""
from cython cimport floating
from libc.math cimport copysign, fabs, fmax, sqrt
from libc.stdint cimport int64_t

from ._csrc cimport *
from ._codes cimport *
from ._rows cimport *
from ._update cimport *

cdef enum:
    # Hogwild threads add their intercept steps to the shared intercept every
    # this many rows (one cache line written every row bounced between cores).
    INTERCEPT_FLUSH = 64
    # the stop flag is read every STOP_EVERY + 1 updates
    STOP_EVERY = 255

cdef extern from *:
    """
    /* A batch's gradient is summed in one chunk per this many multiply-adds
       (at most DESCEND_BATCH_MAX_CHUNKS, codes.h), the chunks shared by the
       threads: the chunk count comes from the batch alone, so the result
       does not depend on the thread count. */
    #define DESCEND_PARALLEL_MIN_WORK 131072.0
    """
    double PARALLEL_MIN_WORK "DESCEND_PARALLEL_MIN_WORK"


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


cdef inline double _sample_steps(const Config *cfg, Lazy *lz, const floating *data,
                          const index_t *ind, const index_t *indptr,
                          const floating *y, const floating *sw, floating *W,
                          floating *b, const int64_t *rows, Py_ssize_t first,
                          Py_ssize_t end, Py_ssize_t stride, double sw_scale,
                          double *zs, Py_ssize_t *reached) noexcept nogil:
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
    cdef Py_ssize_t count = 0
    ii = first - stride
    while ii + stride < end:
        if (count & STOP_EVERY) == 0 and descend_stop_requested(lz.stop):
            break
        count += 1
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
    reached[0] = ii + stride
    return total + _flush(&block)


cdef inline double _saga_steps(const Config *cfg, Lazy *lz, const floating *data,
                        const index_t *ind, const index_t *indptr,
                        const floating *y, const floating *sw, floating *W,
                        floating *b, const int64_t *rows, Py_ssize_t first,
                        Py_ssize_t end, double sw_scale, double *memory,
                        double inv_n, double *zs, Py_ssize_t *reached) noexcept nogil:
    """SAGA (Defazio et al. 2014), per sample, one thread: the step of row i
    is along (d_i - m_i) [x_i, 1] + mean, d_i its weighted derivative now,
    m_i the one stored at its last visit (``memory``, K per row) and mean
    the mean of the stored gradients (state row SAGA_MEAN).  A coordinate
    outside the row moves by the mean alone, which only the rows touching
    it change: it is caught up lazily (A rows of the schedule, stamps in
    SAGA_STAMP), so an update costs O(K * nnz).  L2 is the decay S; L1 a
    proximal step of the touched coordinates (dense rows only: every
    coordinate is touched)."""
    cdef Py_ssize_t ii, i, nnz, c, j, jj, p = lz.p, kp = lz.kp
    cdef int k = lz.k
    cdef double total = 0.0, d, sb, a0, a1, diff, acc, v0, v1, w
    cdef const floating *x
    cdef const index_t *ix
    cdef Step st
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    for ii in range(first, end):
        if ((ii - first) & STOP_EVERY) == 0 and descend_stop_requested(lz.stop):
            reached[0] = ii
            return total + _flush(&block)
        i = rows[ii]
        _prefetch(data, ind, indptr, p, W, y, sw, rows, ii, end, 1)
        nnz = _row(data, ind, indptr, p, i, &x, &ix)
        _begin_step(cfg, lz, &st, ii, True)
        sb = lz.S[ii]
        a0 = lz.A[ii]
        a1 = lz.A[ii + 1]
        for c in range(k):  # catch the row's coordinates up, then its margins
            acc = 0.0
            for j in range(nnz):
                jj = c * p + _col(ix, j)
                W[jj] = <floating>(W[jj] - lz.gbar[jj] * (a0 - lz.astamp[jj]))
                lz.astamp[jj] = a0
                acc += <double>x[j] * <double>W[jj]
            zs[c] = sb * acc + b[c]
        if cfg.loss == DESCEND_LOSS_MULTINOMIAL:
            total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
            for c in range(k):
                zs[c] *= sw[i] * sw_scale
        else:
            total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d, &block)
            zs[0] = d * sw_scale
        for c in range(k):
            diff = zs[c] - memory[i * k + c]
            memory[i * k + c] = zs[c]
            for j in range(nnz):
                jj = c * p + _col(ix, j)
                v0 = W[jj]
                v1 = v0 - st.eta_sa * descend_opt_direction(
                    &cfg.opt, st.opt, diff * x[j] + lz.gbar[jj], &lz.m1[jj], &lz.m2[jj])
                if lz.has_l1:
                    w = st.sa * v1
                    v1 = copysign(fmax(fabs(w) - st.thr, 0.0), w) / st.sa
                W[jj] = <floating>v1
                lz.astamp[jj] = a1
                lz.gbar[jj] += diff * x[j] * inv_n
            jj = kp + c
            if cfg.fit_intercept:
                b[c] = <floating>(b[c] - st.eta * (diff + lz.gbar[jj]))
            lz.gbar[jj] += diff * inv_n
    reached[0] = end
    return total + _flush(&block)


cdef inline double _saga_batch_steps(const Config *cfg, Lazy *lz, const floating *data,
                                     const index_t *ind, const index_t *indptr,
                                     const floating *y, const floating *sw, floating *W,
                                     floating *b, const int64_t *rows, Py_ssize_t first,
                                     Py_ssize_t end, Py_ssize_t n_rows, Py_ssize_t batch,
                                     double sw_scale, double *memory, double *g,
                                     unsigned char *marks, int64_t *touched,
                                     Py_ssize_t *reached) noexcept nogil:
    """_saga_steps for mini-batches: the step of batch B is along the mean
    over its rows of (d_i - m_i) [x_i, 1], plus the stored mean; the
    batch's coordinates (listed in ``touched``, flagged in ``marks``) are
    caught up first, the others drift lazily as in _saga_steps.  g: K*p +
    3K doubles of scratch, zero outside an update."""
    cdef Py_ssize_t ii, rr, r0, r1, i, nnz, c, j, jj, l, nt, p = lz.p, kp = lz.kp
    cdef int k = lz.k
    cdef double total = 0.0, d, sb, a0, a1, diff, acc, v1, w, inv_b, inv_n = 1.0 / n_rows
    cdef double *gb = g + kp
    cdef double *zs = gb + k
    cdef const floating *x
    cdef const index_t *ix
    cdef Step st
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    for ii in range(first, end):
        if descend_stop_requested(lz.stop):  # (every batch: a batch is long)
            reached[0] = ii
            return total + _flush(&block)
        r0 = ii * batch
        r1 = r0 + batch if r0 + batch < n_rows else n_rows
        inv_b = 1.0 / (r1 - r0)
        _begin_step(cfg, lz, &st, ii, True)
        sb = lz.S[ii]
        a0 = lz.A[ii]
        a1 = lz.A[ii + 1]
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
                    jj = c * p + _col(ix, j)
                    if not marks[jj]:
                        marks[jj] = 1
                        touched[nt] = jj
                        nt += 1
                        W[jj] = <floating>(W[jj] - lz.gbar[jj] * (a0 - lz.astamp[jj]))
                    acc += <double>x[j] * <double>W[jj]
                zs[c] = sb * acc + b[c]
            if cfg.loss == DESCEND_LOSS_MULTINOMIAL:
                total += sw[i] * descend_multinomial_loss(zs, k, <int>y[i])
                for c in range(k):
                    zs[c] *= sw[i] * sw_scale
            else:
                total += _single_loss(cfg.loss, cfg.epsilon, zs[0], y[i], sw[i], &d, &block)
                zs[0] = d * sw_scale
            for c in range(k):
                diff = zs[c] - memory[i * k + c]
                memory[i * k + c] = zs[c]
                _racc(g + c * p, diff, x, ix, nnz)
                gb[c] += diff
        for l in range(nt):
            jj = touched[l]
            v1 = W[jj] - st.eta_sa * descend_opt_direction(
                &cfg.opt, st.opt, g[jj] * inv_b + lz.gbar[jj], &lz.m1[jj], &lz.m2[jj])
            if lz.has_l1:
                w = st.sa * v1
                v1 = copysign(fmax(fabs(w) - st.thr, 0.0), w) / st.sa
            W[jj] = <floating>v1
            lz.astamp[jj] = a1
            lz.gbar[jj] += g[jj] * inv_n
            g[jj] = 0.0
            marks[jj] = 0
        for c in range(k):
            jj = kp + c
            if cfg.fit_intercept:
                b[c] = <floating>(b[c] - st.eta * (gb[c] * inv_b + lz.gbar[jj]))
            lz.gbar[jj] += gb[c] * inv_n
    reached[0] = end
    return total + _flush(&block)


cdef inline double _sgd_steps(const Config *cfg, Lazy *lz, const floating *data,
                       const index_t *ind, const index_t *indptr,
                       const floating *y, const floating *sw, floating *W,
                       floating *b, const int64_t *rows, Py_ssize_t first,
                       Py_ssize_t end, Py_ssize_t stride,
                       double sw_scale, Py_ssize_t *reached) noexcept nogil:
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
    cdef Py_ssize_t count = 0
    ii = first - stride
    while ii + stride < end:
        if (count & STOP_EVERY) == 0 and descend_stop_requested(lz.stop):
            break
        count += 1
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
    reached[0] = ii + stride
    return total + _flush(&block)


cdef inline double _batch_steps(const Config *cfg, Lazy *lz, const floating *data,
                         const index_t *ind, const index_t *indptr,
                         const floating *y, const floating *sw, floating *W,
                         floating *b, const int64_t *rows, Py_ssize_t first,
                         Py_ssize_t end, Py_ssize_t stride, Py_ssize_t n_rows,
                         Py_ssize_t batch, double sw_scale, double *g,
                         unsigned char *marks, int64_t *touched,
                         Py_ssize_t *reached) noexcept nogil:
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
        if descend_stop_requested(lz.stop):  # (every batch: a batch is long)
            break
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
    reached[0] = ii + stride
    return total + _flush(&block)


cdef inline double _dense_steps(const Config *cfg, Lazy *lz, const floating *data,
                         const index_t *ind, const index_t *indptr,
                         const floating *y, const floating *sw, floating *W,
                         floating *b, floating *We, floating *be,
                         const double *mu, const double *inv_sigma,
                         const int64_t *rows, Py_ssize_t first, Py_ssize_t end,
                         Py_ssize_t n_rows, Py_ssize_t batch, double sw_scale,
                         double avg_nnz, double *work, Py_ssize_t width,
                         Py_ssize_t max_chunks, double *gsq,
                         Py_ssize_t *reached) noexcept nogil:
    """Updates first..end of the epoch, each from the gradient of its batch
    summed by chunks (full batch: cfg.n_chunks, from the shape alone;
    smaller batches: one per PARALLEL_MIN_WORK multiply-adds, at most
    BATCH_MAX_CHUNKS, shared by the threads), then a step of
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
        if ii > first and descend_stop_requested(lz.stop):
            reached[0] = ii
            return total
        r0 = ii * batch
        r1 = r0 + batch if r0 + batch < n_rows else n_rows
        _begin_step(cfg, lz, &st, ii, batch > 1)
        if cfg.batch_size == 0:
            n_chunks = cfg.n_chunks
        else:  # from the batch's work alone (never from the thread count)
            n_chunks = <Py_ssize_t>((r1 - r0) * avg_nnz * k / PARALLEL_MIN_WORK)
            if n_chunks > DESCEND_BATCH_MAX_CHUNKS:
                n_chunks = DESCEND_BATCH_MAX_CHUNKS
            if n_chunks > max_chunks:
                n_chunks = max_chunks
            if n_chunks < 1:
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
    reached[0] = end
    return total
