# cython: language_level=3
"""After an epoch: the penalty, the divergence check (with rollback), the
record, the stopping rule and keep_best."""
from cython cimport floating
from libc.math cimport fabs, isfinite
from libc.string cimport memcpy

from ._codes cimport *
from ._rows cimport _rsq


cdef inline double _penalty(const Config *cfg, const floating *W,
                            Py_ssize_t kp) noexcept nogil:
    """l1 ||W||_1 + l2/2 ||W||^2 (NaN/inf propagate)."""
    cdef Py_ssize_t j
    cdef double a = 0.0
    if cfg.l1 > 0.0:
        for j in range(kp):
            a += fabs(W[j])
    return cfg.l1 * a + 0.5 * cfg.l2 * _rsq(W, kp)  # l2 = 0: 0 * inf is NaN, still seen


cdef inline bint _finite(const floating *v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        if not isfinite(v[j]):
            return False
    return True


cdef inline void _copy_out(const floating *W, const floating *b, double *dst,
                           Py_ssize_t kp, int k) noexcept nogil:
    """[W, b] into a double row."""
    cdef Py_ssize_t j
    for j in range(kp):
        dst[j] = W[j]
    for j in range(k):
        dst[kp + j] = b[j]


cdef inline void _copy_in(floating *W, floating *b, const double *src,
                          Py_ssize_t kp, int k) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(kp):
        W[j] = <floating>src[j]
    for j in range(k):
        b[j] = <floating>src[kp + j]


cdef inline int _monitor(const Config *cfg, double *scalars, double value) noexcept nogil:
    """The no-improvement rule on the monitored value (lower is better):
    returns bit 1 when the fit should stop, bit 2 when ``value`` is a new
    best.  The "adaptive" schedule divides its step by 5 instead of
    stopping, until the step falls below 1e-6."""
    cdef double best = scalars[DESCEND_SC_BEST]
    cdef int flags = 0
    if value < best:
        flags = 2
    if cfg.tol < 0.0:
        if flags:
            scalars[DESCEND_SC_BEST] = value
        return flags
    if value > best - cfg.tol * (fabs(best) if fabs(best) > 1.0 else 1.0):
        scalars[DESCEND_SC_NO_IMPROVE] += 1.0
    else:
        scalars[DESCEND_SC_NO_IMPROVE] = 0.0
    if flags:
        scalars[DESCEND_SC_BEST] = value
    if scalars[DESCEND_SC_NO_IMPROVE] >= cfg.n_iter_no_change:
        if cfg.sched.kind == DESCEND_SCHED_ADAPTIVE and scalars[DESCEND_SC_ETA_ADAPTIVE] / 5.0 >= 1e-6:
            scalars[DESCEND_SC_ETA_ADAPTIVE] /= 5.0
            scalars[DESCEND_SC_NO_IMPROVE] = 0.0
        else:
            return flags | 1
    return flags


cdef inline bint _diverged(double *scalars, double objective,
                           bint blowup_check) noexcept nogil:
    """Non-finite, or blown up: more than 1e10 times the smallest objective
    seen, the all-zero model's included (and above 1e10).  A step size far
    too large grows the objective geometrically while it is still finite."""
    cdef double low = scalars[DESCEND_SC_MIN_OBJECTIVE]
    if not isfinite(objective):
        return True
    if blowup_check and objective > 1e10 * (low if low > 1.0 else 1.0):
        return True
    if objective < low:
        scalars[DESCEND_SC_MIN_OBJECTIVE] = objective
    return False


cdef inline int _end_epoch(const Config *cfg, floating *W, floating *b,
                           double *st, double *sc, double *record,
                           double objective, double grad_norm, double eta,
                           double seconds, double val_score, Py_ssize_t kp,
                           int k) noexcept nogil:
    """The divergence check (restoring the epoch's starting point), the
    record, the stopping rule and keep_best.  Returns the status (DESCEND_DIVERGED:
    nothing recorded).  keep_best stores the point the monitored value
    belongs to: the epoch's start for a full-batch objective, its end
    otherwise."""
    cdef int flags
    cdef Py_ssize_t n_all = kp + k
    cdef double monitor = -val_score if cfg.early_stopping else objective
    if (_diverged(sc, objective, cfg.blowup_check) or not isfinite(_penalty(cfg, W, kp))
            or not _finite(b, k)):
        _copy_in(W, b, st + DESCEND_ROW_START * n_all, kp, k)
        return DESCEND_DIVERGED
    record[DESCEND_H_OBJECTIVE] = objective
    record[DESCEND_H_GRAD_NORM] = grad_norm
    record[DESCEND_H_ETA] = eta
    record[DESCEND_H_SECONDS] = seconds
    record[DESCEND_H_UPDATES] = sc[DESCEND_SC_T]
    record[DESCEND_H_VALIDATION] = val_score
    flags = _monitor(cfg, sc, monitor)
    if flags & 2 and cfg.keep_best:
        if cfg.batch_size == 0 and not cfg.early_stopping:
            memcpy(st + DESCEND_ROW_BEST * n_all, st + DESCEND_ROW_START * n_all, n_all * sizeof(double))
        else:
            _copy_out(W, b, st + DESCEND_ROW_BEST * n_all, kp, k)
    return DESCEND_CONVERGED if flags & 1 else DESCEND_RUNNING
