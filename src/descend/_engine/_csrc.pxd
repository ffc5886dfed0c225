# Declarations of the inline C helpers in csrc/descend/*.h.
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from "descend/loss.h" nogil:
    cdef enum descend_loss_kind:
        DESCEND_SQUARED
        DESCEND_LOG
        DESCEND_MULTINOMIAL
        DESCEND_HINGE
        DESCEND_PERCEPTRON
        DESCEND_SQUARED_HINGE
        DESCEND_MODIFIED_HUBER
        DESCEND_HUBER
        DESCEND_EPSILON_INSENSITIVE
        DESCEND_SQUARED_EPSILON_INSENSITIVE
    double descend_margin_loss(int kind, double z, double y, double eps,
                               double *dloss)
    double descend_squared_loss(double z, double y, double *dloss)
    double descend_log_loss_split(double z, double y, double *dloss,
                                  double *one_plus_e)
    int DESCEND_LOG_BLOCK
    double DESCEND_MAX_DLOSS
    double descend_multinomial_loss(double *z, int k, int y)

cdef extern from "descend/vec.h" nogil:
    double descend_dot_f32(const float *x, const float *w, Py_ssize_t n)
    double descend_dot_f64(const double *x, const double *w, Py_ssize_t n)
    void descend_acc_f32(double *g, double a, const float *x, Py_ssize_t n)
    void descend_acc_f64(double *g, double a, const double *x, Py_ssize_t n)
    void descend_decay_axpy_f32(float *w, double decay, double step,
                                const float *x, Py_ssize_t n)
    void descend_decay_axpy_f64(double *w, double decay, double step,
                                const double *x, Py_ssize_t n)
    void descend_prefetch_row_f32(const float *X, const float *y,
                                  const float *sw, Py_ssize_t p,
                                  const int64_t *rows, Py_ssize_t ii,
                                  Py_ssize_t n_rows, Py_ssize_t ahead)
    void descend_prefetch_row_f64(const double *X, const double *y,
                                  const double *sw, Py_ssize_t p,
                                  const int64_t *rows, Py_ssize_t ii,
                                  Py_ssize_t n_rows, Py_ssize_t ahead)
    double descend_sqnorm_d(const double *v, Py_ssize_t n)
    void descend_prefetch(const void *p)

cdef extern from "descend/rng.h" nogil:
    uint64_t descend_rng_next(uint64_t *state)
    void descend_shuffle(int64_t *perm, int64_t n, uint64_t *state)

cdef extern from "descend/sparse.h" nogil:
    void descend_prefetch_csr_f32_i32(const float *data, const int32_t *ind,
                                      const int32_t *indptr, const float *w,
                                      const float *y, const float *sw,
                                      const int64_t *rows, Py_ssize_t ii,
                                      Py_ssize_t n_rows, Py_ssize_t row_ahead,
                                      Py_ssize_t weights_ahead)
    void descend_prefetch_csr_f32_i64(const float *data, const int64_t *ind,
                                      const int64_t *indptr, const float *w,
                                      const float *y, const float *sw,
                                      const int64_t *rows, Py_ssize_t ii,
                                      Py_ssize_t n_rows, Py_ssize_t row_ahead,
                                      Py_ssize_t weights_ahead)
    void descend_prefetch_csr_f64_i32(const double *data, const int32_t *ind,
                                      const int32_t *indptr, const double *w,
                                      const double *y, const double *sw,
                                      const int64_t *rows, Py_ssize_t ii,
                                      Py_ssize_t n_rows, Py_ssize_t row_ahead,
                                      Py_ssize_t weights_ahead)
    void descend_prefetch_csr_f64_i64(const double *data, const int64_t *ind,
                                      const int64_t *indptr, const double *w,
                                      const double *y, const double *sw,
                                      const int64_t *rows, Py_ssize_t ii,
                                      Py_ssize_t n_rows, Py_ssize_t row_ahead,
                                      Py_ssize_t weights_ahead)
