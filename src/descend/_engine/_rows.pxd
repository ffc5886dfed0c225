# cython: language_level=3
"""Reading rows, dense or CSR, and what a pass over rows computes: margins,
losses, gradient sums (chunked, deterministic) and the validation score.

A row is (x, ix, nnz): its values x[0..nnz) at the coordinates ix, or at
0..nnz-1 when ix is NULL (a dense row, nnz = p).  Data are given as
(data, ind, indptr): CSR arrays, or a dense C-contiguous X as data with
ind = indptr = NULL.  Every helper branches on that once per row.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport fmax, fmin, log
from libc.stdint cimport int32_t, int64_t

from ._csrc cimport *
from ._codes cimport *

ctypedef fused index_t:
    int32_t
    int64_t

# Shuffled dense rows are prefetched this many visits ahead; CSR rows in
# three stages (sparse.h): row pointers 2 * CSR_ROW_AHEAD ahead, values and
# indices CSR_ROW_AHEAD ahead, the coefficients they point to
# CSR_WEIGHTS_AHEAD ahead.
cdef enum:
    DENSE_AHEAD = 4
    CSR_ROW_AHEAD = 16
    CSR_WEIGHTS_AHEAD = 8

# Rows of one block of the single-output certificate pass (_accumulate_groups).
cdef enum:
    CERT_BLOCK = 16


cdef inline Py_ssize_t _row(const floating *data, const index_t *ind,
                            const index_t *indptr, Py_ssize_t p, Py_ssize_t i,
                            const floating **x, const index_t **ix) noexcept nogil:
    """Row i: sets *x, *ix and returns its length."""
    cdef Py_ssize_t lo
    if indptr == NULL:
        x[0] = data + i * p
        ix[0] = NULL
        return p
    lo = <Py_ssize_t>indptr[i]
    x[0] = data + lo
    ix[0] = ind + lo
    return <Py_ssize_t>indptr[i + 1] - lo


cdef inline Py_ssize_t _col(const index_t *ix, Py_ssize_t j) noexcept nogil:
    """The coordinate of a row's j-th value."""
    return j if ix == NULL else <Py_ssize_t>ix[j]


cdef inline double _dot(const floating *x, const floating *w,
                        Py_ssize_t n) noexcept nogil:
    if floating is float:
        return descend_dot_f32(x, w, n)
    else:
        return descend_dot_f64(x, w, n)


cdef inline double _rdot(const floating *x, const index_t *ix, Py_ssize_t nnz,
                         const floating *w) noexcept nogil:
    """x . w[ix], in double (four partial sums hide the add latency)."""
    cdef Py_ssize_t j = 0
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    if ix == NULL:
        return _dot(x, w, nnz)
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


cdef inline double _rdot_d(const floating *x, const index_t *ix, Py_ssize_t nnz,
                           const double *w) noexcept nogil:
    """x . w[ix] for double coefficients (the certificate pass reads
    float32 rows against float64 coefficients: its line searches need the
    objective to float64 precision)."""
    cdef Py_ssize_t j = 0
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    if ix == NULL:
        if floating is float:
            return descend_dot_f32_f64(x, w, nnz)
        else:
            return descend_dot_f64(x, w, nnz)
    while j + 4 <= nnz:
        a0 += <double>x[j] * w[ix[j]]
        a1 += <double>x[j + 1] * w[ix[j + 1]]
        a2 += <double>x[j + 2] * w[ix[j + 2]]
        a3 += <double>x[j + 3] * w[ix[j + 3]]
        j += 4
    while j < nnz:
        a0 += <double>x[j] * w[ix[j]]
        j += 1
    return (a0 + a1) + (a2 + a3)


cdef inline void _racc(double *g, double a, const floating *x,
                       const index_t *ix, Py_ssize_t nnz) noexcept nogil:
    """g[ix] += a * x (g a double accumulator)."""
    cdef Py_ssize_t j
    if ix == NULL:
        if floating is float:
            descend_acc_f32(g, a, x, nnz)
        else:
            descend_acc_f64(g, a, x, nnz)
        return
    for j in range(nnz):
        g[ix[j]] += a * <double>x[j]


cdef inline void _rstep(floating *w, double e, double d, const floating *x,
                        const index_t *ix, Py_ssize_t nnz) noexcept nogil:
    """w[ix] -= e * (d * x): a plain sgd step along the row."""
    cdef Py_ssize_t j
    if ix == NULL:
        if floating is float:
            descend_step_f32(w, e, d, x, nnz)
        else:
            descend_step_f64(w, e, d, x, nnz)
        return
    for j in range(nnz):
        w[ix[j]] = <floating>(w[ix[j]] - e * (d * <double>x[j]))


cdef inline double _rsq(const floating *x, Py_ssize_t nnz) noexcept nogil:
    """||x||^2 of a row's values (or of coefficients), in double; NaN and
    inf propagate."""
    cdef Py_ssize_t j
    cdef double s = 0.0
    for j in range(nnz):
        s += <double>x[j] * <double>x[j]
    return s


cdef inline void _prefetch(const floating *data, const index_t *ind,
                           const index_t *indptr, Py_ssize_t p,
                           const floating *W, const floating *y,
                           const floating *sw, const int64_t *rows,
                           Py_ssize_t ii, Py_ssize_t n_rows,
                           Py_ssize_t stride) noexcept nogil:
    """Prefetch what later visits of a shuffled order read; a thread
    visiting every ``stride``-th position prefetches its own visits."""
    cdef Py_ssize_t ra = CSR_ROW_AHEAD * stride, wa = CSR_WEIGHTS_AHEAD * stride
    if indptr == NULL:
        if floating is float:
            descend_prefetch_row_f32(data, y, sw, p, rows, ii, n_rows, DENSE_AHEAD * stride)
        else:
            descend_prefetch_row_f64(data, y, sw, p, rows, ii, n_rows, DENSE_AHEAD * stride)
    elif floating is float:
        if index_t is int32_t:
            descend_prefetch_csr_f32_i32(data, ind, indptr, W, y, sw, rows, ii, n_rows, ra, wa)
        else:
            descend_prefetch_csr_f32_i64(data, ind, indptr, W, y, sw, rows, ii, n_rows, ra, wa)
    else:
        if index_t is int32_t:
            descend_prefetch_csr_f64_i32(data, ind, indptr, W, y, sw, rows, ii, n_rows, ra, wa)
        else:
            descend_prefetch_csr_f64_i64(data, ind, indptr, W, y, sw, rows, ii, n_rows, ra, wa)


cdef struct LogBlock:
    # (1 + e) factors of unit-weight log-loss rows not yet folded in by a log
    double product
    int count


cdef inline double _single_loss(int loss, double epsilon, double z, double yi,
                                double wi, double *d, LogBlock *block) noexcept nogil:
    """Weighted loss of one row of a single-output model; sets *d to the
    weighted derivative wi * dloss/dz, clipped at scikit-learn's MAX_DLOSS.
    Log loss of unit-weight rows defers its log part to ``block`` (one log
    per DESCEND_LOG_BLOCK rows; _flush adds the rest)."""
    cdef double value, one_plus_e
    if loss != DESCEND_LOSS_LOG:
        value = wi * descend_loss(loss, z, yi, epsilon, d)
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
    d[0] = fmin(fmax(d[0], -DESCEND_MAX_DLOSS), DESCEND_MAX_DLOSS) * wi
    return value


cdef inline double _flush(LogBlock *block) noexcept nogil:
    cdef double value = log(block.product) if block.count else 0.0
    block.product = 1.0
    block.count = 0
    return value


cdef inline double _accumulate(const floating *data, const index_t *ind,
                               const index_t *indptr, Py_ssize_t p,
                               const floating *y, const floating *sw,
                               const floating *W, const floating *b, double s,
                               int k, int loss, double epsilon,
                               const int64_t *rows, Py_ssize_t n_rows,
                               Py_ssize_t start, Py_ssize_t end,
                               double *g) noexcept nogil:
    """Add sum_i sw_i dloss_i [x_i, 1] to g (K*p, then K) over the visits
    start..end (row rows[ii], or ii when rows is NULL) and return sum_i
    sw_i loss_i, the margins being s * x.W + b.  One read of each row: its
    margins, loss and derivative, then the row is added to the gradient
    while in cache.  g[K*p + K : K*p + 2K] is scratch for the logits."""
    cdef Py_ssize_t ii, i, c, nnz
    cdef const floating *x
    cdef const index_t *ix
    cdef double total = 0.0, d, wi
    cdef double *gb = g + k * p
    cdef double *zs = gb + k
    cdef LogBlock block
    block.product = 1.0
    block.count = 0
    for ii in range(start, end):
        if rows != NULL:
            i = rows[ii]
            _prefetch(data, ind, indptr, p, W, y, sw, rows, ii, n_rows, 1)
        else:
            i = ii
        nnz = _row(data, ind, indptr, p, i, &x, &ix)
        wi = sw[i]
        if loss == DESCEND_LOSS_MULTINOMIAL:
            for c in range(k):
                zs[c] = s * _rdot(x, ix, nnz, W + c * p) + b[c]
            total += wi * descend_multinomial_loss(zs, k, <int>y[i])
            for c in range(k):
                d = wi * zs[c]
                _racc(g + c * p, d, x, ix, nnz)
                gb[c] += d
        else:
            total += _single_loss(loss, epsilon, s * _rdot(x, ix, nnz, W) + b[0], y[i],
                                  wi, &d, &block)
            _racc(g, d, x, ix, nnz)
            gb[0] += d
    return total + _flush(&block)


cdef inline void _accumulate_groups(const floating *data, const index_t *ind,
                                    const index_t *indptr, Py_ssize_t p,
                                    const floating *y, const floating *sw,
                                    const double *W, const double *b, int k,
                                    int loss, double epsilon, const int64_t *rows,
                                    Py_ssize_t start, Py_ssize_t end, double *g,
                                    int m) noexcept nogil:
    """The certificate pass over visits start..end (row rows[ii], or ii
    when rows is NULL), split into m groups of
    rows: for each group, its gradient sum sum sw_i dloss_i [x_i, 1] (K*p,
    then K, at g + group * (K*p + K)), then T_g = sum sw_i dloss_i . z_i
    and L_g = sum sw_i loss_i (at g + m (K*p + K): the m T's, then the m
    L's); K + K doubles of logit scratch follow.  Groups: the row's class
    for the multinomial loss (m = K); else dloss > 0 (group 1) or not
    (group 0), which for the log loss is y = 0 or y = 1.  dloss is not
    clipped here: the certificate needs the loss's own derivative."""
    cdef Py_ssize_t ii, i, c, nnz, blk = k * p + k, off
    cdef const floating *x
    cdef const index_t *ix
    cdef double wi, d, z, value, one_plus_e, tz
    cdef double *T = g + m * blk
    cdef double *L = T + m
    cdef double *zs = L + m
    cdef double *z0 = zs + k
    cdef int grp
    cdef Py_ssize_t ii0, jb, nb
    cdef double zb[CERT_BLOCK]
    cdef double eb[CERT_BLOCK]
    cdef double ib[CERT_BLOCK]
    cdef LogBlock blocks[2]
    blocks[0].product = 1.0
    blocks[0].count = 0
    blocks[1].product = 1.0
    blocks[1].count = 0
    if loss == DESCEND_LOSS_MULTINOMIAL:
        for ii in range(start, end):
            i = ii if rows == NULL else rows[ii]
            nnz = _row(data, ind, indptr, p, i, &x, &ix)
            wi = sw[i]
            grp = <int>y[i]
            for c in range(k):
                zs[c] = _rdot_d(x, ix, nnz, W + c * p) + b[c]
                z0[c] = zs[c]
            value = descend_multinomial_loss(zs, k, grp)
            tz = 0.0
            for c in range(k):
                tz += zs[c] * z0[c]
            L[grp] += wi * value
            T[grp] += wi * tz
            off = grp * blk
            for c in range(k):
                d = wi * zs[c]
                _racc(g + off + c * p, d, x, ix, nnz)
                g[off + k * p + c] += d
        return
    # single output: CERT_BLOCK rows' margins, then (log loss) their
    # exp(-|z|) and 1 / (1 + exp(-|z|)) in one vectorised loop, then each
    # row's terms in order
    ii0 = start
    while ii0 < end:
        nb = end - ii0 if end - ii0 < CERT_BLOCK else CERT_BLOCK
        for jb in range(nb):
            i = ii0 + jb if rows == NULL else rows[ii0 + jb]
            nnz = _row(data, ind, indptr, p, i, &x, &ix)
            zb[jb] = _rdot_d(x, ix, nnz, W) + b[0]
        if loss == DESCEND_LOSS_LOG:
            descend_log_loss_parts(zb, eb, ib, nb)
        for jb in range(nb):
            i = ii0 + jb if rows == NULL else rows[ii0 + jb]
            nnz = _row(data, ind, indptr, p, i, &x, &ix)
            wi = sw[i]
            z = zb[jb]
            if loss == DESCEND_LOSS_LOG:
                grp = 1 if y[i] < 0.5 else 0
                value = descend_log_loss_split_e(z, y[i], eb[jb], ib[jb], &d, &one_plus_e)
                if wi == 1.0:
                    blocks[grp].product *= one_plus_e
                    blocks[grp].count += 1
                    if blocks[grp].count == DESCEND_LOG_BLOCK:
                        L[grp] += log(blocks[grp].product)
                        blocks[grp].product = 1.0
                        blocks[grp].count = 0
                else:
                    value += log(one_plus_e)
            else:
                value = descend_loss(loss, z, y[i], epsilon, &d)
                grp = 1 if d > 0.0 else 0
            d *= wi
            L[grp] += wi * value
            T[grp] += d * z
            off = grp * blk
            _racc(g + off, d, x, ix, nnz)
            g[off + k * p] += d
        ii0 += nb
    L[0] += _flush(&blocks[0])
    L[1] += _flush(&blocks[1])


cdef inline int _team(int n_threads, Py_ssize_t n_tasks) noexcept nogil:
    """Threads worth starting for n_tasks independent tasks: never more
    threads than tasks (an idle member of an OpenMP team still costs its
    wake-up and the barrier, which on a busy machine is milliseconds)."""
    if n_tasks < n_threads:
        return <int>(n_tasks if n_tasks > 1 else 1)
    return n_threads if n_threads > 1 else 1


cdef inline void _reduce_chunks(double *work, Py_ssize_t width,
                                Py_ssize_t n_grad, Py_ssize_t n_chunks,
                                int n_threads) noexcept nogil:
    """work[0, :n_grad] += work[c, :n_grad] for c = 1, 2, ... in that order
    (the fixed order that makes a full batch independent of the thread
    count), parallel over blocks of coordinates."""
    cdef Py_ssize_t c, j, j0, j1
    cdef Py_ssize_t blk = 2048
    cdef double *buf
    cdef int team = _team(n_threads, (n_grad + blk - 1) // blk)
    if team == 1:
        for c in range(1, n_chunks):
            buf = work + c * width
            for j in range(n_grad):
                work[j] += buf[j]
        return
    for j0 in prange(0, n_grad, blk, schedule='dynamic', num_threads=team):
        j1 = j0 + blk
        if j1 > n_grad:
            j1 = n_grad
        for c in range(1, n_chunks):
            buf = work + c * width
            for j in range(j0, j1):
                work[j] += buf[j]


cdef inline double _chunked_gradient(const floating *data, const index_t *ind,
                                     const index_t *indptr, Py_ssize_t p,
                                     const floating *y, const floating *sw,
                                     const floating *W, const floating *b,
                                     double s, int k, int loss, double epsilon,
                                     const int64_t *rows, Py_ssize_t n_rows,
                                     Py_ssize_t start, Py_ssize_t end,
                                     double *work, Py_ssize_t width,
                                     Py_ssize_t n_chunks, int n_threads) noexcept nogil:
    """The gradient sum of visits start..end into work[0, :K*p + K];
    returns the weighted loss sum.  The visits are cut into ``n_chunks``
    static blocks, each summed in its own row of ``work`` (of ``width``
    doubles, the last one its loss), then added in chunk order: the result
    depends on ``n_chunks``, never on the number of threads."""
    cdef Py_ssize_t c, j, cs, ce
    cdef Py_ssize_t m = end - start, n_grad = k * p + k
    cdef double *buf
    cdef double total = 0.0
    if n_chunks <= 1:  # (no parallel region: mini-batches come here per update)
        for j in range(n_grad):
            work[j] = 0.0
        return _accumulate(data, ind, indptr, p, y, sw, W, b, s, k, loss, epsilon,
                           rows, n_rows, start, end, work)
    for c in prange(n_chunks, schedule='dynamic', num_threads=_team(n_threads, n_chunks)):
        buf = work + c * width
        for j in range(n_grad):
            buf[j] = 0.0
        cs = start + (m * c) // n_chunks
        ce = start + (m * (c + 1)) // n_chunks
        buf[width - 1] = _accumulate(data, ind, indptr, p, y, sw, W, b, s, k, loss,
                                     epsilon, rows, n_rows, cs, ce, buf)
    _reduce_chunks(work, width, n_grad, n_chunks, n_threads)
    for c in range(n_chunks):
        total += work[c * width + width - 1]
    return total


cdef inline void _chunked_certificate(const floating *data, const index_t *ind,
                                      const index_t *indptr, Py_ssize_t p,
                                      const floating *y, const floating *sw,
                                      const double *W, const double *b, int k,
                                      int loss, double epsilon, const int64_t *rows,
                                      Py_ssize_t n, int m, double *work,
                                      Py_ssize_t width, Py_ssize_t n_chunks,
                                      int n_threads) noexcept nogil:
    """The certificate pass (_accumulate_groups) over visits 0..n in
    ``n_chunks`` static blocks, summed in chunk order into work[0]: the
    sums depend on the chunk count only, never on the threads."""
    cdef Py_ssize_t c, j, cs, ce
    cdef Py_ssize_t n_red = m * (k * p + k) + 2 * m
    cdef double *buf
    if n_chunks <= 1:  # (small data: no parallel region)
        for j in range(n_red):
            work[j] = 0.0
        _accumulate_groups(data, ind, indptr, p, y, sw, W, b, k, loss, epsilon, rows,
                           0, n, work, m)
        return
    for c in prange(n_chunks, schedule='dynamic', num_threads=_team(n_threads, n_chunks)):
        buf = work + c * width
        for j in range(n_red):
            buf[j] = 0.0
        cs = (n * c) // n_chunks
        ce = (n * (c + 1)) // n_chunks
        _accumulate_groups(data, ind, indptr, p, y, sw, W, b, k, loss, epsilon, rows,
                           cs, ce, buf, m)
    _reduce_chunks(work, width, n_red, n_chunks, n_threads)


cdef inline double _validation_score(const Config *cfg, const floating *data,
                                     const index_t *ind, const index_t *indptr,
                                     Py_ssize_t p, const floating *y,
                                     const floating *sw, const floating *W,
                                     const floating *b, int k,
                                     const int64_t *rows, Py_ssize_t n_rows,
                                     double *z) noexcept nogil:
    """Weighted accuracy (classifiers) or R^2 (regression) on the given rows."""
    cdef Py_ssize_t ii, i, c, best, nnz
    cdef const floating *x
    cdef const index_t *ix
    cdef double hit = 0.0, total = 0.0, r, zi
    for ii in range(n_rows):
        i = rows[ii]
        nnz = _row(data, ind, indptr, p, i, &x, &ix)
        if cfg.loss == DESCEND_LOSS_MULTINOMIAL:
            best = 0
            for c in range(k):
                z[c] = _rdot(x, ix, nnz, W + c * p) + b[c]
                if z[c] > z[best]:
                    best = c
            hit += sw[i] * (best == <Py_ssize_t>y[i])
        else:
            zi = _rdot(x, ix, nnz, W) + b[0]
            if cfg.regression:
                r = zi - y[i]
                hit += sw[i] * r * r
            else:
                hit += sw[i] * ((zi > 0.0) == (y[i] > 0.5))
        total += sw[i]
    if cfg.regression:
        return 1.0 - hit / cfg.val_sst if cfg.val_sst > 0.0 else 0.0
    return hit / total
