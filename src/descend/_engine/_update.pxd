# cython: language_level=3
"""The parameter update, written once for every path (dense or CSR rows,
per sample, mini-batch, full batch): the optimizer direction (optim.h),
the L2 decay or coupled gradient, L1 (cumulative penalty per sample,
soft-thresholding for batches), clipping's factor, averaging.

Coefficients are held as W = S * V during an epoch (V in the W array): the
scale S carries the L2 decay of the optimizers whose L2 form is a decay
(sgd, adamw), so that an update touching the coordinates J costs O(|J|),
never O(p).  The step size depends on the update count t only, so an
epoch's steps, the products of decays and the cumulative penalties are
precomputed (rows LZ_* of the ``lazy`` array, indexed by the update's
position in the epoch).  A "segment" is a run of updates over which S
stays above MIN_SCALE; at its end every coordinate is caught up and S is
folded into V (O(K*p), about once per epoch).  Dense paths touch every
coordinate, so they are exact by construction; the CSR semantics are in
_kernels.pyx's docstring.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport copysign, fabs, fmax, fmin, isfinite

from ._csrc cimport *
from ._codes cimport *
from ._rows cimport _team

# A pass over every coordinate is split across threads from this many
# coordinates on (below, a team's start-up costs more than it saves).
cdef enum:
    PARALLEL_MIN_COORDS = 1 << 16

cdef extern from *:
    """
    /* S is folded into V when it would fall below this (O(K*p) each time). */
    #define DESCEND_MIN_SCALE 1e-9
    """
    double MIN_SCALE "DESCEND_MIN_SCALE"


cdef struct Lazy:
    # the epoch's precomputed schedule (rows of the ``lazy`` array)
    const double *eta
    const double *S
    const double *UV
    const double *U
    const double *Q
    const double *A
    # per-coordinate state (rows of ``state``, K*p + K entries each)
    double *q        # cumulative L1 penalty received (Tsuruoka et al. 2009)
    double *stamp    # UV at the coordinate's last L1 catch-up (0 at a segment start)
    double *avg      # during an epoch: P, with sum_t W_t = P + Q * V
    double *m1       # optimizer buffers
    double *m2
    double *gbar     # saga: the mean of the stored gradients (K*p + K)
    double *astamp   # saga: A at the coordinate's last catch-up (0 at a segment start)
    double t0        # updates made before this epoch
    double u_base    # cumulative raw L1 penalty before this segment
    double avg_start
    double l2c       # coupled L2 (optimizers whose L2 form is COUPLED)
    double pre_decay # decay applied to V before a segment's first update (< MIN_SCALE)
    bint has_l1
    bint has_avg
    bint decay       # S != 1: an optimizer of L2 form DECAY with l2 > 0
    bint saga        # untouched coordinates drift by the stored mean gradient
    Py_ssize_t p
    Py_ssize_t kp
    int k


cdef struct Step:
    # what the coordinates of one update share
    descend_opt_step opt
    double eta
    double t
    double sa        # S after the update
    double eta_sa    # eta / sa: the step in V units
    double u1        # cumulative raw L1 penalty after it (W units)
    double uv1       # UV after it (V units)
    double qb        # Q before it (averaging)
    double thr       # eta * l1: the soft-threshold of batch updates (W units)
    bint prox        # L1 by soft-thresholding (batches) or cumulative (per sample)


cdef inline void _init_lazy(Lazy *lz, const Config *cfg, double *lzrows,
                            Py_ssize_t stride, double *st, Py_ssize_t p,
                            int k) noexcept nogil:
    cdef Py_ssize_t n_all = k * p + k
    cdef bint decay_form = descend_opt_l2_form(cfg.opt.kind) == DESCEND_L2_DECAY
    lz.eta = lzrows + DESCEND_LZ_ETA * stride
    lz.S = lzrows + DESCEND_LZ_S * stride
    lz.UV = lzrows + DESCEND_LZ_UV * stride
    lz.U = lzrows + DESCEND_LZ_U * stride
    lz.Q = lzrows + DESCEND_LZ_Q * stride
    lz.A = lzrows + DESCEND_LZ_A * stride
    lz.q = st + DESCEND_ROW_L1_Q * n_all
    lz.stamp = st + DESCEND_ROW_LAZY * n_all
    lz.avg = st + DESCEND_ROW_AVERAGE * n_all
    lz.m1 = st + DESCEND_ROW_BUF1 * n_all
    lz.m2 = st + DESCEND_ROW_BUF2 * n_all
    lz.gbar = st + DESCEND_ROW_SAGA_MEAN * n_all
    lz.astamp = st + DESCEND_ROW_SAGA_STAMP * n_all
    lz.saga = cfg.opt.kind == DESCEND_OPT_SAGA
    lz.avg_start = cfg.average_start
    lz.l2c = 0.0 if decay_form else cfg.l2
    lz.pre_decay = 1.0
    lz.has_l1 = cfg.l1 > 0.0
    lz.has_avg = cfg.average_start > 0.0
    lz.decay = decay_form and cfg.l2 > 0.0
    lz.p = p
    lz.kp = k * p
    lz.k = k


cdef inline Py_ssize_t _fill_segment(const Config *cfg, Lazy *lz, double *lzrows,
                                     Py_ssize_t stride, Py_ssize_t seg,
                                     Py_ssize_t n_steps, Py_ssize_t epoch,
                                     double eta_adaptive) noexcept nogil:
    """Schedule rows for the updates at positions seg, seg+1, ... until S
    would fall below MIN_SCALE (at least one update); returns the end.  A
    first update whose own decay is below MIN_SCALE (eta * l2 close to or
    above 1) decays V directly (lz.pre_decay) and keeps S at 1."""
    cdef double *E = lzrows + DESCEND_LZ_ETA * stride
    cdef double *S = lzrows + DESCEND_LZ_S * stride
    cdef double *UV = lzrows + DESCEND_LZ_UV * stride
    cdef double *U = lzrows + DESCEND_LZ_U * stride
    cdef double *Q = lzrows + DESCEND_LZ_Q * stride
    cdef double *A = lzrows + DESCEND_LZ_A * stride
    cdef double eta, t, s_new, dec
    cdef Py_ssize_t i = seg
    S[seg] = 1.0
    UV[seg] = 0.0
    U[seg] = 0.0
    Q[seg] = 0.0
    A[seg] = 0.0
    lz.pre_decay = 1.0
    while i < n_steps:
        t = lz.t0 + i + 1.0
        eta = descend_eta(&cfg.sched, t, <double>epoch, eta_adaptive)
        dec = descend_l2_decay(eta, cfg.l2) if lz.decay else 1.0
        s_new = S[i] * dec
        if s_new < MIN_SCALE:
            if i > seg:
                break
            lz.pre_decay = dec
            s_new = 1.0
        E[i] = eta
        S[i + 1] = s_new
        UV[i + 1] = UV[i] + eta * cfg.l1 / s_new
        U[i + 1] = U[i] + eta * cfg.l1
        Q[i + 1] = Q[i] + (s_new if lz.has_avg and t >= lz.avg_start else 0.0)
        A[i + 1] = A[i] + eta / s_new
        i += 1
    return i


cdef inline void _begin_step(const Config *cfg, const Lazy *lz, Step *st,
                             Py_ssize_t ii, bint prox) noexcept nogil:
    """The Step of the update at position ii of the epoch."""
    st.t = lz.t0 + ii + 1.0
    st.opt = descend_opt_begin(&cfg.opt, st.t)
    st.eta = lz.eta[ii]
    st.sa = lz.S[ii + 1]
    st.eta_sa = st.eta / st.sa
    st.u1 = lz.u_base + lz.U[ii + 1]
    st.uv1 = lz.UV[ii + 1]
    st.qb = lz.Q[ii]
    st.thr = st.eta * cfg.l1
    st.prox = prox


cdef inline double _l1_catch_up(double v, double *q, double *stamp, double uv,
                                double u, double s) noexcept nogil:
    """The cumulative L1 penalty of the updates since the coordinate's last
    catch-up (UV went from *stamp to uv), applied at once to V = v; u is the
    raw cumulative penalty now and s the scale.  A nonzero coordinate was
    last left with no pending penalty, so it moves by the gap (in V units)
    or stops at 0, keeping the rest as credit in q (W units).  Exact for
    S = 1; with a decay, the credit of a coordinate stopped at 0 is
    measured in V units scaled by s."""
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
    """The cumulative penalty of one update (Tsuruoka et al. 2009)."""
    cdef double w1 = w
    if w > 0.0:
        w1 = fmax(0.0, w - (u + q[0]))
    elif w < 0.0:
        w1 = fmin(0.0, w + (u - q[0]))
    q[0] += w1 - w
    return w1


cdef inline void _step_coord(const Config *cfg, Lazy *lz, floating *W,
                             Py_ssize_t jj, double gdata,
                             const Step *st) noexcept nogil:
    """The update of coordinate jj (V units) from its data gradient: the
    coupled L2 gradient, the optimizer's direction, L1, the average's
    correction.  The only coordinate update of the package."""
    cdef double v0 = W[jj], v1, w
    v1 = v0 - st.eta_sa * descend_opt_direction(&cfg.opt, st.opt, gdata + lz.l2c * v0,
                                                &lz.m1[jj], &lz.m2[jj])
    if lz.has_l1:
        if st.prox:
            w = st.sa * v1
            v1 = copysign(fmax(fabs(w) - st.thr, 0.0), w) / st.sa
        else:
            v1 = _l1_apply(st.sa * v1, &lz.q[jj], st.u1) / st.sa
        lz.stamp[jj] = st.uv1
    W[jj] = <floating>v1
    if lz.has_avg:
        lz.avg[jj] -= st.qb * (W[jj] - v0)


cdef inline void _intercept_step(const Config *cfg, Lazy *lz, floating *b,
                                 int c, double gdata, const Step *st,
                                 double *bsum) noexcept nogil:
    """The intercept's update (never penalised, never scaled): its data
    gradient times intercept_decay, the optimizer's direction.  Its
    average is a plain sum of its values after each update, kept per
    thread in bsum (under Hogwild a shared intercept races on every
    update, and the P form would multiply a lost update by t)."""
    cdef Py_ssize_t jj = lz.kp + c
    cdef double b1
    if cfg.fit_intercept:
        b1 = b[c] - st.eta * descend_opt_direction(
            &cfg.opt, st.opt, gdata * cfg.intercept_decay, &lz.m1[jj], &lz.m2[jj])
        b[c] = <floating>b1
    if lz.has_avg and st.t >= lz.avg_start:
        bsum[c] += b[c]


cdef inline void _decay_all(Lazy *lz, floating *W, int n_threads) noexcept nogil:
    """V *= lz.pre_decay (a segment's first update, see _fill_segment)."""
    cdef Py_ssize_t jj
    cdef double d = lz.pre_decay
    for jj in prange(lz.kp, schedule='static',
                     num_threads=_team(n_threads, lz.kp // PARALLEL_MIN_COORDS)):
        W[jj] = <floating>(W[jj] * d)


cdef inline void _close_segment(Lazy *lz, floating *W, Py_ssize_t end,
                                int n_threads) noexcept nogil:
    """Catch every coordinate up (saga's drift, L1), add Q * V to P (the
    average's sum so far) and fold S into the coefficients: the segment's
    lazy state is then closed (stamps 0, S = 1)."""
    cdef Py_ssize_t jj
    cdef double s = lz.S[end], qe = 0.0, uv = 0.0, u = 0.0, ae = lz.A[end], v
    if lz.has_avg:
        qe = lz.Q[end]
    if lz.has_l1:
        uv = lz.UV[end]
        u = lz.u_base + lz.U[end]
    if not lz.has_l1 and not lz.has_avg and not lz.saga and s == 1.0:
        return
    for jj in prange(lz.kp, schedule='static',
                     num_threads=_team(n_threads, lz.kp // PARALLEL_MIN_COORDS)):
        v = W[jj]
        if lz.saga:
            v = v - lz.gbar[jj] * (ae - lz.astamp[jj])
            lz.astamp[jj] = 0.0
        if lz.has_avg:
            lz.avg[jj] += qe * v
        if lz.has_l1:
            v = _l1_catch_up(v, &lz.q[jj], &lz.stamp[jj], uv, u, s)
            lz.stamp[jj] = 0.0
        W[jj] = <floating>(v * s)


cdef inline void _open_average(Lazy *lz, double t) noexcept nogil:
    """DESCEND_ROW_AVERAGE from the average after t updates to P (the sum so far;
    the intercepts: their plain sum so far)."""
    cdef Py_ssize_t jj
    cdef double n0 = t - lz.avg_start + 1.0
    if n0 < 0.0:
        n0 = 0.0
    for jj in range(lz.kp + lz.k):
        lz.avg[jj] *= n0


cdef inline void _close_average(Lazy *lz, const floating *W, const floating *b,
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
    for jj in range(lz.kp + lz.k):
        lz.avg[jj] /= n1


cdef inline void _refresh_effective(const floating *W, const floating *b,
                                    double s, floating *We, floating *be,
                                    const double *mu, const double *inv_sigma,
                                    Py_ssize_t p, int k) noexcept nogil:
    """Raw-space twin of the scaled model (W = s * V): We = s V / sigma,
    be = b - mu . We, so that x . We + be = ((x - mu) / sigma) . W + b."""
    cdef Py_ssize_t c, j
    cdef double shift
    for c in range(k):
        shift = 0.0
        for j in range(p):
            We[c * p + j] = <floating>(s * W[c * p + j] * inv_sigma[j])
            shift += mu[j] * We[c * p + j]
        be[c] = <floating>(b[c] - shift)
