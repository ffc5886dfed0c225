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
from libc.math cimport INFINITY, NAN, copysign, fabs, fmax, sqrt
from libc.stdlib cimport free, malloc
from libc.stdint cimport int32_t, int64_t, uint64_t
from openmp cimport omp_get_wtime

from ._csrc cimport *
from ._codes cimport *
from ._rows cimport *
from ._update cimport *
from ._stopping cimport *

from ._steps cimport *

cdef enum:
    MAX_HOGWILD = 256
    MODE_DENSE = 0
    MODE_SAMPLE = 1
    MODE_SGD = 2
    MODE_BATCH = 3
    MODE_SAGA = 4
    GRAM_GROUP = 8  # rows curvature_gram adds at a time (descend_gram_group8)
    QUAD_GROUP = 4  # rows max_row_quadratic reads at a time (unrolled below)


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
                           Py_ssize_t cap, double *memory, double *eta_last,
                           double *gsq, bint *interrupted) noexcept nogil:
    """One epoch of updates in segments (see _update.pxd); Hogwild over
    cfg.hogwild threads in the lazy CSR modes.  Returns the epoch's loss
    sum (per-thread partials added in thread order).  When the stop flag
    is raised the updates stop where they are, the lazy state is closed
    there (the coefficients are those of the updates made) and
    *interrupted is set."""
    cdef Py_ssize_t seg = 0, seg_end, stop_at, c, j, done_steps = 0
    cdef Py_ssize_t n_steps = (n + batch - 1) // batch
    cdef Py_ssize_t kp = lz.kp
    cdef Py_ssize_t bsum_off = lz.k if mode == MODE_SAMPLE else kp + 2 * lz.k
    cdef int hog = cfg.hogwild if mode < MODE_SAGA and mode != MODE_DENSE and cfg.hogwild > 1 else 1
    cdef int T
    cdef double total = 0.0, sw_scale = n / cfg.sw_sum
    cdef Py_ssize_t reached_by[MAX_HOGWILD]
    interrupted[0] = False
    if hog > n_work:
        hog = <int>n_work
    if hog > MAX_HOGWILD:
        hog = MAX_HOGWILD
    lz.t0 = sc[DESCEND_SC_T]
    lz.u_base = sc[DESCEND_SC_L1_U]
    if lz.has_avg:
        _open_average(lz, lz.t0)
    if mode == MODE_BATCH or mode == MODE_SAGA:  # scratch gradients start at zero
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
        stop_at = seg_end
        if mode == MODE_DENSE:
            total += _dense_steps(cfg, lz, data, ind, indptr, y, sw, W, b, We, be, mu,
                                  inv_sigma, rows, seg, seg_end, n, batch, sw_scale,
                                  avg_nnz, work, width, n_work, gsq, &stop_at)
        elif mode == MODE_SAGA and batch == 1:
            total += _saga_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg,
                                 seg_end, sw_scale, memory, 1.0 / n, work, &stop_at)
        elif mode == MODE_SAGA:
            total += _saga_batch_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg,
                                       seg_end, n, batch, sw_scale, memory, work, marks,
                                       touched, &stop_at)
        elif T == 1:
            if mode == MODE_SGD:
                total += _sgd_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                    seg, seg_end, 1, sw_scale, &stop_at)
            elif mode == MODE_SAMPLE:
                total += _sample_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                       seg, seg_end, 1, sw_scale, work, &stop_at)
            else:
                total += _batch_steps(cfg, lz, data, ind, indptr, y, sw, W, b, rows,
                                      seg, seg_end, 1, n, batch, sw_scale, work,
                                      marks, touched, &stop_at)
        else:
            for c in prange(T, schedule='static', chunksize=1, num_threads=T):
                if mode == MODE_SGD:
                    work[c * width + width - 1] = _sgd_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, sw_scale, &reached_by[c])
                elif mode == MODE_SAMPLE:
                    work[c * width + width - 1] = _sample_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, sw_scale, work + c * width, &reached_by[c])
                else:
                    work[c * width + width - 1] = _batch_steps(
                        cfg, lz, data, ind, indptr, y, sw, W, b, rows, seg + c,
                        seg_end, T, n, batch, sw_scale, work + c * width,
                        marks + c * kp, touched + c * cap, &reached_by[c])
            stop_at = seg
            for c in range(T):
                total += work[c * width + width - 1]
                if reached_by[c] < seg_end:
                    interrupted[0] = True
                if reached_by[c] > stop_at:  # (threads stopped unevenly: the furthest)
                    stop_at = reached_by[c] if reached_by[c] < seg_end else seg_end
        if stop_at > seg_end:
            stop_at = seg_end
        if stop_at < seg_end:
            interrupted[0] = True
        if lz.has_avg:
            for c in range(T):
                for j in range(lz.k):
                    lz.avg[kp + j] += work[c * width + bsum_off + j]
        _close_segment(lz, W, stop_at, cfg.n_threads)
        lz.u_base += lzrows[DESCEND_LZ_U * lz_stride + stop_at]
        done_steps += stop_at - seg
        seg = seg_end
        if interrupted[0]:
            break
    sc[DESCEND_SC_T] += done_steps
    sc[DESCEND_SC_L1_U] = lz.u_base
    eta_last[0] = lzrows[DESCEND_LZ_ETA * lz_stride + (done_steps - 1 if done_steps else 0)]
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
                            Py_ssize_t cap, double *memory, const unsigned char *stop,
                            Py_ssize_t epochs_before, double *hist,
                            Py_ssize_t n_epochs) noexcept nogil:
    """Up to n_epochs epochs; returns (epochs recorded, status)."""
    cdef Py_ssize_t kp = k * p, n_all = kp + k, e, epoch, done = 0
    cdef Py_ssize_t batch = cfg.batch_size if cfg.batch_size > 0 else n
    cdef int status = DESCEND_RUNNING, mode
    cdef double total, eta = cfg.sched.eta0, gsq = NAN, objective, penalty = 0.0
    cdef double val_score = NAN, t0 = omp_get_wtime()
    cdef Lazy lz
    cdef bint interrupted = False
    _init_lazy(&lz, cfg, lzrows, lz_stride, st, p, k)
    lz.stop = stop
    if cfg.opt.kind == DESCEND_OPT_SAGA and cfg.batch_size > 0:
        mode = MODE_SAGA
    elif cfg.batch_size == 0 or cfg.scale or (cfg.batch_size > 1 and indptr == NULL):
        mode = MODE_DENSE
    elif cfg.batch_size > 1:
        mode = MODE_BATCH
    elif (cfg.fused and k == 1 and cfg.opt.kind == DESCEND_OPT_SGD and not lz.has_l1
          and not lz.has_avg and cfg.loss != DESCEND_LOSS_MULTINOMIAL):
        mode = MODE_SGD
    else:
        mode = MODE_SAMPLE
    for e in range(n_epochs):
        if descend_stop_requested(stop):
            status = DESCEND_INTERRUPTED
            break
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
                               touched, cap, memory, &eta,
                               &gsq if cfg.batch_size == 0 else NULL, &interrupted)
        if interrupted:  # the epoch was cut short: nothing recorded for it
            status = DESCEND_INTERRUPTED
            break
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
    cdef double[:, ::1] memory = fit.memory
    cdef const unsigned char[::1] stop = fit.stop
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
                            &memory[0, 0], &stop[0], epochs_before, &hist[0, 0],
                            hist.shape[0])
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
                   const floating[::1] sw, const double[:, ::1] W,
                   const double[::1] b, int loss, double epsilon,
                   double[:, ::1] work, int groups, int n_threads,
                   const int64_t[::1] rows=None):
    """The certificate pass over the rows ``rows`` (default: all, in
    order) at the raw-space model (W, b), in float64 whatever X's dtype:
    per group of rows (``groups`` of them, see _rows._accumulate_groups),
    the gradient sums, T and L, in work[0] (work.shape[0] chunks, each
    row at least groups (K*p + K) + 2 groups + 2K wide).  Chunks are
    summed in order: any n_threads gives the same bits."""
    cdef const int64_t *visit = NULL if rows is None else &rows[0]
    cdef Py_ssize_t n = X.shape[0] if rows is None else rows.shape[0]
    with nogil:
        _chunked_certificate(&X[0, 0], <const int32_t *>NULL, <const int32_t *>NULL,
                             X.shape[1], &y[0], &sw[0], &W[0, 0], &b[0], W.shape[0],
                             loss, epsilon, visit, n, groups, &work[0, 0], work.shape[1],
                             work.shape[0], n_threads)


def evaluate_csr(const floating[::1] data, const index_t[::1] indices,
                 const index_t[::1] indptr, const floating[::1] y,
                 const floating[::1] sw, const double[:, ::1] W,
                 const double[::1] b, int loss, double epsilon,
                 double[:, ::1] work, int groups, int n_threads,
                 const int64_t[::1] rows=None):
    """evaluate_dense for a CSR matrix."""
    cdef const int64_t *visit = NULL if rows is None else &rows[0]
    cdef Py_ssize_t n = indptr.shape[0] - 1 if rows is None else rows.shape[0]
    with nogil:
        _chunked_certificate(&data[0] if data.shape[0] else NULL,
                             &indices[0] if indices.shape[0] else NULL, &indptr[0],
                             W.shape[1], &y[0], &sw[0], &W[0, 0], &b[0], W.shape[0],
                             loss, epsilon, visit, n, groups, &work[0, 0], work.shape[1],
                             work.shape[0], n_threads)


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


def log_loss_parts(const double[::1] z, double[::1] e, double[::1] inv):
    """e[i] = exp(-|z[i]|), inv[i] = 1 / (1 + e[i]) as the log loss's
    certificate pass computes them (loss.h's vectorised exp; for the tests
    that hold it to libm's)."""
    with nogil:
        descend_log_loss_parts(&z[0], &e[0], &inv[0], z.shape[0])


def loss_curvatures(int loss, const double[::1] z, const double[::1] sw,
                    double[::1] out):
    """out[i] = sw[i] * loss''(z[i]) (loss.h's descend_loss_curvature; NaN
    for a loss without a second derivative)."""
    cdef Py_ssize_t i
    with nogil:
        for i in range(z.shape[0]):
            out[i] = sw[i] * descend_loss_curvature(loss, z[i])


cdef inline void _design_row(const floating *x, Py_ssize_t p, const double *mu,
                             const double *inv_sigma, bint intercept,
                             double *out) noexcept nogil:
    """A row of the design in z-coordinates: [(x - mu) * inv_sigma, 1]."""
    cdef Py_ssize_t j
    for j in range(p):
        out[j] = (x[j] - mu[j]) * inv_sigma[j]
    if intercept:
        out[p] = 1.0


cdef inline Py_ssize_t _group_row(const floating *X, Py_ssize_t p, const int64_t *index,
                                  Py_ssize_t stride, Py_ssize_t r, Py_ssize_t end,
                                  const double *mu, const double *inv_sigma, bint intercept,
                                  Py_ssize_t d, double *out) noexcept nogil:
    """Row r of the rows R (index[r], or r * stride without an index) as a
    design row into ``out``, returning its row of X; zeros and -1 from
    r >= end (a group's unused places)."""
    cdef Py_ssize_t i, j
    if r >= end:
        for j in range(d):
            out[j] = 0.0
        return -1
    i = r * stride if index == NULL else index[r]
    _design_row(X + i * p, p, mu, inv_sigma, intercept, out)
    return i


#: scratch per chunk: curvature_gram d*d + GRAM_ROWS*(d+1), max_row_quadratic
#: 2*QUAD_ROWS*d + 1 doubles
GRAM_ROWS, QUAD_ROWS = GRAM_GROUP, QUAD_GROUP


def curvature_gram(const floating[:, ::1] X, const int64_t[::1] rows, Py_ssize_t n,
                   Py_ssize_t stride, const floating[::1] sw, const double[::1] mu,
                   const double[::1] inv_sigma, bint intercept, const double[::1] z,
                   int loss, double[:, ::1] out, double[:, ::1] work, int n_threads):
    """out = sum_r sw[i] loss''(x_i . z) x_i x_i^T over the n rows i =
    rows[r] (or i = r * stride when ``rows`` is empty), with x_i = [(X[i] -
    mu) * inv_sigma, 1 when intercept] (d = p + intercept): the Hessian's
    lower bound of _newton.py, read from X without a copy.  Each of work.shape[0] chunks of rows (a fixed number:
    the sums do not depend on n_threads) adds GRAM_GROUP rows at a time
    into its upper triangle; the chunks are added in order.  ``work`` is
    (chunks, d * d + GRAM_GROUP * (d + 1)) doubles of scratch."""
    cdef Py_ssize_t p = X.shape[1], d = p + (1 if intercept else 0)
    cdef Py_ssize_t n_chunks = work.shape[0]
    cdef Py_ssize_t c, r, g, j, k, cs, ce, i
    cdef const int64_t *index = &rows[0] if rows.shape[0] else NULL
    cdef double *acc
    cdef double *buf
    cdef double *wgt
    with nogil:
        for c in prange(n_chunks, schedule='dynamic',
                        num_threads=_team(n_threads, n_chunks)):
            acc = &work[c, 0]
            buf = acc + d * d
            wgt = buf + GRAM_GROUP * d
            for j in range(d * d):
                acc[j] = 0.0
            cs = (n * c) // n_chunks
            ce = (n * (c + 1)) // n_chunks
            r = cs
            while r < ce:
                # the group's margins, their curvatures (one vectorised loop),
                # then the rows' weights (0 past the chunk's end)
                for g in range(GRAM_GROUP):
                    _group_row(&X[0, 0], p, index, stride, r + g, ce, &mu[0],
                               &inv_sigma[0], intercept, d, buf + g * d)
                    wgt[g] = descend_dot_f64(buf + g * d, &z[0], d)
                descend_loss_curvatures(loss, wgt, GRAM_GROUP)
                for g in range(GRAM_GROUP):
                    if r + g < ce:
                        i = (r + g) * stride if index == NULL else index[r + g]
                        wgt[g] = sw[i] * wgt[g]
                    else:
                        wgt[g] = 0.0
                descend_gram_group8(acc, buf, wgt, d)
                r = r + GRAM_GROUP
        for j in range(d):
            for k in range(j, d):
                out[j, k] = 0.0
        for c in range(n_chunks):
            for j in range(d):
                for k in range(j, d):
                    out[j, k] += work[c, j * d + k]
        for j in range(d):
            for k in range(j):
                out[j, k] = out[k, j]


def max_row_quadratic(const floating[:, ::1] X, const int64_t[::1] rows, Py_ssize_t n,
                      Py_ssize_t stride, const double[::1] mu, const double[::1] inv_sigma, bint intercept,
                      const double[:, ::1] upper, double[:, ::1] work, int n_threads):
    """max over r of |x_r @ upper|^2 (x_r as in curvature_gram, ``upper`` a
    d x d upper-triangular matrix, or 1 x d: a diagonal): with upper =
    L^-T for M = L L', the largest |x_r|^2 in M^-1.  QUAD_GROUP rows at a
    time, the products accumulated along upper's (contiguous) rows.
    ``work`` is (chunks, 2 QUAD_GROUP d + 1) doubles."""
    cdef Py_ssize_t p = X.shape[1], d = p + (1 if intercept else 0)
    cdef Py_ssize_t n_chunks = work.shape[0]
    cdef Py_ssize_t c, r, g, j, k, cs, ce, i
    cdef const int64_t *index = &rows[0] if rows.shape[0] else NULL
    cdef bint diagonal = upper.shape[0] == 1
    cdef double *buf
    cdef double *v
    cdef const double *u
    cdef double s, best, b0, b1, b2, b3
    cdef double result = 0.0
    with nogil:
        for c in prange(n_chunks, schedule='dynamic',
                        num_threads=_team(n_threads, n_chunks)):
            buf = &work[c, 0]
            v = buf + QUAD_GROUP * d
            best = 0.0
            cs = (n * c) // n_chunks
            ce = (n * (c + 1)) // n_chunks
            r = cs
            while r < ce:
                for g in range(QUAD_GROUP):
                    _group_row(&X[0, 0], p, index, stride, r + g, ce, &mu[0], &inv_sigma[0],
                               intercept, d, buf + g * d)
                if diagonal:
                    u = &upper[0, 0]
                    for g in range(QUAD_GROUP):
                        for j in range(d):
                            v[g * d + j] = buf[g * d + j] * u[j]
                else:
                    for j in range(QUAD_GROUP * d):
                        v[j] = 0.0
                    for k in range(d):
                        u = &upper[k, 0]
                        b0 = buf[k]
                        b1 = buf[d + k]
                        b2 = buf[2 * d + k]
                        b3 = buf[3 * d + k]
                        for j in range(k, d):
                            v[j] += b0 * u[j]
                            v[d + j] += b1 * u[j]
                            v[2 * d + j] += b2 * u[j]
                            v[3 * d + j] += b3 * u[j]
                for g in range(QUAD_GROUP):
                    s = 0.0
                    for j in range(d):
                        s = s + v[g * d + j] * v[g * d + j]
                    if s > best:
                        best = s
                r = r + QUAD_GROUP
            work[c, 2 * QUAD_GROUP * d] = best
        for c in range(n_chunks):
            if work[c, 2 * QUAD_GROUP * d] > result:
                result = work[c, 2 * QUAD_GROUP * d]
    return result


def max_abs_margin(const floating[:, ::1] X, const int64_t[::1] rows, Py_ssize_t n,
                   Py_ssize_t stride, const double[::1] u, double shift,
                   double[::1] work, int n_threads):
    """max over the rows i of |X[i] . u + shift| (the rows as in
    curvature_gram: a design row's margin x_i . v is X[i] . u + shift with
    u = inv_sigma * v, shift = v_intercept - mu . u).  ``work`` holds one
    double per chunk."""
    cdef Py_ssize_t p = X.shape[1], n_chunks = work.shape[0]
    cdef Py_ssize_t c, r, cs, ce, i
    cdef const int64_t *index = &rows[0] if rows.shape[0] else NULL
    cdef double s, best
    cdef double result = 0.0
    with nogil:
        for c in prange(n_chunks, schedule='dynamic',
                        num_threads=_team(n_threads, n_chunks)):
            best = 0.0
            cs = (n * c) // n_chunks
            ce = (n * (c + 1)) // n_chunks
            for r in range(cs, ce):
                i = r * stride if index == NULL else index[r]
                if floating is double:
                    s = fabs(descend_dot_f64(&X[i, 0], &u[0], p) + shift)
                else:
                    s = fabs(descend_dot_f32_f64(&X[i, 0], &u[0], p) + shift)
                if not s <= best:  # NaN wins
                    best = s
            work[c] = best
        for c in range(n_chunks):
            if not work[c] <= result:
                result = work[c]
    return result


cdef bint _factor(const double *M, Py_ssize_t d, const double *scale, double shift,
                  double *L) noexcept nogil:
    """The lower Cholesky factor L of S M S + shift I (S = diag(scale), or
    the identity when scale is NULL), d x d, row-major; False when that is
    not positive definite (or not finite)."""
    cdef Py_ssize_t i, j
    cdef double s, m
    for i in range(d):
        for j in range(i + 1):
            m = M[i * d + j]
            if scale != NULL:
                m = m * scale[i] * scale[j]
            if i == j:
                m = m + shift
            s = m - descend_dot_f64(L + i * d, L + j * d, j)
            if i == j:
                if not s > 0.0:  # also NaN
                    return False
                L[i * d + i] = sqrt(s)
            else:
                L[i * d + j] = s / L[j * d + j]
        for j in range(i + 1, d):
            L[i * d + j] = 0.0
    return True


cdef void _forward(const double *L, Py_ssize_t d, const double *b, double *x) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d):
        x[i] = (b[i] - descend_dot_f64(L + i * d, x, i)) / L[i * d + i]


cdef void _backward(const double *L, Py_ssize_t d, double *x) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef double s
    for i in range(d - 1, -1, -1):
        s = x[i]
        for j in range(i + 1, d):
            s = s - L[j * d + i] * x[j]
        x[i] = s / L[i * d + i]


def cholesky(const double[:, ::1] M, double[:, ::1] L, double shift=0.0):
    """The lower Cholesky factor of M + shift I, for a small symmetric M,
    into L (single-threaded: no BLAS, whose spinning threads would slow the
    next pass); False when it is not positive definite (or not finite)."""
    cdef bint ok
    with nogil:
        ok = _factor(&M[0, 0], M.shape[0], NULL, shift, &L[0, 0])
    return ok


def cholesky_solve(const double[:, ::1] L, const double[::1] b, double[::1] x,
                   bint forward_only):
    """x = (L L')^-1 b, or L^-1 b when ``forward_only``, for the lower
    factor L of ``cholesky``."""
    with nogil:
        _forward(&L[0, 0], L.shape[0], &b[0], &x[0])
        if not forward_only:
            _backward(&L[0, 0], L.shape[0], &x[0])


def half_norm(const double[:, ::1] M, const double[::1] g, double[:, ::1] L,
              double[::1] v):
    """g' M^-1 g / 2 for a small symmetric M (its Cholesky factor into L,
    L^-1 g into v): one call for what the curvature certificate computes
    many times; inf when M is not positive definite."""
    cdef Py_ssize_t d = M.shape[0], i
    cdef double total = 0.0
    with nogil:
        if _factor(&M[0, 0], d, NULL, 0.0, &L[0, 0]):
            _forward(&L[0, 0], d, &g[0], &v[0])
            for i in range(d):
                total += v[i] * v[i]
            total = 0.5 * total
        else:
            total = INFINITY
    return total


def scaled_solve(const double[:, ::1] H, const double[::1] g, double ridge,
                 double[:, ::1] L, double[::1] x):
    """x = H^-1 g through the Cholesky factor of S H S + ridge I, S the
    Jacobi scaling (diag(H)^-1/2, 1 where diag(H) <= 0): x = S (S H S +
    ridge I)^-1 S g.  False (x unset) when that is not positive definite."""
    cdef Py_ssize_t d = H.shape[0], i
    cdef double *s
    cdef bint ok
    s = <double *>malloc(d * sizeof(double))
    if s == NULL:
        raise MemoryError()
    with nogil:
        for i in range(d):
            s[i] = 1.0 / sqrt(H[i, i]) if H[i, i] > 0.0 else 1.0
            x[i] = s[i] * g[i]
        ok = _factor(&H[0, 0], d, s, ridge, &L[0, 0])
        if ok:
            _forward(&L[0, 0], d, &x[0], &x[0])
            _backward(&L[0, 0], d, &x[0])
            for i in range(d):
                x[i] = s[i] * x[i]
    free(s)
    return ok


def sum_of_squares(const floating[::1] values, double[::1] work, int n_threads):
    """The sum of values[i]^2 in float64, over work.shape[0] fixed chunks
    added in order (the result does not depend on n_threads): not finite
    when an entry is not (or the sum overflows), so one parallel read
    checks both (_inputs.py)."""
    cdef Py_ssize_t n = values.shape[0], n_chunks = work.shape[0], c, cs, ce
    cdef double total = 0.0
    if n == 0:
        return 0.0
    with nogil:
        for c in prange(n_chunks, schedule='static', num_threads=_team(n_threads, n_chunks)):
            cs = (n * c) // n_chunks
            ce = (n * (c + 1)) // n_chunks
            if floating is double:
                work[c] = descend_dot_f64(&values[cs], &values[cs], ce - cs)
            else:
                work[c] = descend_dot_f32(&values[cs], &values[cs], ce - cs)
        for c in range(n_chunks):
            total = total + work[c]
    return total


def zero_model_sums(int loss, double epsilon, const floating[::1] y,
                    const floating[::1] sw):
    """(sum_i sw[i] loss(0, y[i]), sum_i sw[i]) for a single-output loss, in
    one sequential read (the all-zero model's objective, _problem.py)."""
    cdef Py_ssize_t i
    cdef double d, total = 0.0, weight = 0.0
    with nogil:
        for i in range(y.shape[0]):
            total += sw[i] * descend_loss(loss, 0.0, y[i], epsilon, &d)
            weight += sw[i]
    return total, weight


def column_moments(const floating[:, ::1] X, const floating[::1] sw,
                   const int64_t[::1] rows, double[::1] mean, double[::1] var,
                   double[:, ::1] work, int n_threads):
    """Weighted mean and variance of each column of a dense X over ``rows``
    (all rows when it is empty), in one parallel pass: each of
    work.shape[0] chunks of rows (a fixed number: the result does not
    depend on n_threads) keeps a running (weight, mean, M2) per column
    (Welford, stable for large means), and the chunks are merged in order
    (Chan et al.).  ``work`` is (chunks, 2 p + 1) doubles of scratch."""
    cdef Py_ssize_t p = X.shape[1], n = rows.shape[0] if rows.shape[0] else X.shape[0]
    cdef Py_ssize_t n_chunks = work.shape[0], c, ii, i, j, cs, ce
    cdef double wi, total, tw, delta, wa, wb
    cdef double *mu
    cdef double *m2
    cdef const floating *x
    cdef const int64_t *visit = &rows[0] if rows.shape[0] else NULL
    with nogil:
        for c in prange(n_chunks, schedule='dynamic',
                        num_threads=_team(n_threads, n_chunks)):
            mu = &work[c, 0]
            m2 = mu + p
            for j in range(2 * p + 1):
                mu[j] = 0.0
            tw = 0.0
            cs = (n * c) // n_chunks
            ce = (n * (c + 1)) // n_chunks
            for ii in range(cs, ce):
                i = ii if visit == NULL else visit[ii]
                wi = sw[i]
                if wi <= 0.0:
                    continue
                tw = tw + wi
                x = &X[i, 0]
                for j in range(p):
                    delta = x[j] - mu[j]
                    mu[j] += delta * (wi / tw)
                    m2[j] += wi * delta * (x[j] - mu[j])
            mu[2 * p] = tw
        total = 0.0
        for j in range(p):
            mean[j] = 0.0
            var[j] = 0.0
        for c in range(n_chunks):
            wb = work[c, 2 * p]
            if wb <= 0.0:
                continue
            wa = total
            total = wa + wb
            for j in range(p):
                delta = work[c, j] - mean[j]
                mean[j] += delta * (wb / total)
                var[j] += work[c, p + j] + delta * delta * (wa * wb / total)
        for j in range(p):
            var[j] = var[j] / total if total > 0.0 else 0.0
