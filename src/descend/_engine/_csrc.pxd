# Declarations of the inline C helpers in csrc/descend/*.h (codes in _codes.pxd).
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from "descend/optim.h" nogil:
    ctypedef struct descend_opt_params:
        int kind
        double momentum
        double beta_1
        double beta_2
        double rho
        double eps
    ctypedef struct descend_opt_step:
        double bias1
        double bias2
    descend_opt_step descend_opt_begin(const descend_opt_params *o, double t)
    double descend_opt_direction(const descend_opt_params *o, descend_opt_step s,
                                 double g, double *m, double *v)
    int descend_opt_buffers(int kind)
    int descend_opt_l2_form(int kind)

cdef extern from "descend/schedule.h" nogil:
    ctypedef struct descend_schedule:
        int kind
        double eta0
        double power_t
        double decay_rate
        double decay_steps
        double max_iter
        double optimal_t0
        double optimal_alpha
        double warmup_updates
    double descend_eta(const descend_schedule *s, double t, double epoch, double adaptive)
    double descend_l2_decay(double eta, double l2)

cdef extern from "descend/loss.h" nogil:
    double descend_loss(int kind, double z, double y, double eps, double *dloss)
    double descend_log_loss_split(double z, double y, double *dloss, double *one_plus_e)
    double descend_log_loss_split_e(double z, double y, double e, double inv, double *dloss,
                                    double *one_plus_e)
    void descend_log_loss_parts(const double *z, double *e, double *inv, Py_ssize_t n)
    void descend_loss_curvatures(int kind, double *z, Py_ssize_t n)
    double descend_multinomial_loss(double *z, int k, int y)
    double descend_loss_curvature(int kind, double z)
    int DESCEND_LOG_BLOCK
    double DESCEND_MAX_DLOSS

cdef extern from "descend/vec.h" nogil:
    double descend_dot_f32(const float *x, const float *w, Py_ssize_t n)
    double descend_dot_f64(const double *x, const double *w, Py_ssize_t n)
    double descend_dot_f32_f64(const float *x, const double *w, Py_ssize_t n)
    void descend_gram_group8(double *acc, const double *x, const double *w, Py_ssize_t d)
    void descend_acc_f32(double *g, double a, const float *x, Py_ssize_t n)
    void descend_acc_f64(double *g, double a, const double *x, Py_ssize_t n)
    void descend_step_f32(float *w, double e, double d, const float *x, Py_ssize_t n)
    void descend_step_f64(double *w, double e, double d, const double *x, Py_ssize_t n)
    void descend_prefetch_row_f32(const float *X, const float *y,
                                  const float *sw, Py_ssize_t p,
                                  const int64_t *rows, Py_ssize_t ii,
                                  Py_ssize_t n_rows, Py_ssize_t ahead)
    void descend_prefetch_row_f64(const double *X, const double *y,
                                  const double *sw, Py_ssize_t p,
                                  const int64_t *rows, Py_ssize_t ii,
                                  Py_ssize_t n_rows, Py_ssize_t ahead)

cdef extern from "descend/rng.h" nogil:
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
