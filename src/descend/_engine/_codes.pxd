# The codes of csrc/descend/codes.h (cpdef: Python reads them from
# descend._engine._codes), the kernel configuration, and its typed builder.
from ._csrc cimport descend_opt_params, descend_schedule

cdef extern from "descend/codes.h":
    # codes the kernels branch on (the full lists: LOSS_NAMES etc.)
    enum:
        DESCEND_LOSS_SQUARED
        DESCEND_LOSS_LOG
        DESCEND_LOSS_MULTINOMIAL
        DESCEND_N_LOSSES
        DESCEND_OPT_SGD
        DESCEND_OPT_SAGA
        DESCEND_N_OPTIMIZERS
        DESCEND_SCHED_ADAPTIVE
        DESCEND_N_SCHEDULES
    # scratch limits (Python reads them from descend._engine._codes)
    enum:
        DESCEND_BATCH_MAX_CHUNKS
    # the rows, slots, columns and statuses, for the kernels (Python reads
    # the same C values through the cpdef enums below)
    enum:
        DESCEND_ROW_BUF1
        DESCEND_ROW_BUF2
        DESCEND_ROW_AVERAGE
        DESCEND_ROW_L1_Q
        DESCEND_ROW_START
        DESCEND_ROW_BEST
        DESCEND_ROW_LAZY
        DESCEND_ROW_SAGA_MEAN
        DESCEND_ROW_SAGA_STAMP
        DESCEND_SC_T
        DESCEND_SC_L1_U
        DESCEND_SC_BEST
        DESCEND_SC_NO_IMPROVE
        DESCEND_SC_ETA_ADAPTIVE
        DESCEND_SC_MIN_OBJECTIVE
        DESCEND_H_OBJECTIVE
        DESCEND_H_GRAD_NORM
        DESCEND_H_ETA
        DESCEND_H_SECONDS
        DESCEND_H_UPDATES
        DESCEND_H_VALIDATION
        DESCEND_N_HIST
        DESCEND_RUNNING
        DESCEND_CONVERGED
        DESCEND_DIVERGED
        DESCEND_INTERRUPTED
        DESCEND_LZ_ETA
        DESCEND_LZ_S
        DESCEND_LZ_UV
        DESCEND_LZ_U
        DESCEND_LZ_Q
        DESCEND_LZ_A
        DESCEND_L2_DECAY
    int descend_stop_requested(const unsigned char *flag) nogil
    const char *descend_loss_names[]
    const char *descend_optimizer_names[]
    const char *descend_schedule_names[]

    cpdef enum L2Form "descend_l2_form":
        L2_DECAY "DESCEND_L2_DECAY"
        L2_COUPLED "DESCEND_L2_COUPLED"

    cpdef enum StateRow "descend_state_row":
        ROW_BUF1 "DESCEND_ROW_BUF1"
        ROW_BUF2 "DESCEND_ROW_BUF2"
        ROW_AVERAGE "DESCEND_ROW_AVERAGE"
        ROW_L1_Q "DESCEND_ROW_L1_Q"
        ROW_START "DESCEND_ROW_START"
        ROW_BEST "DESCEND_ROW_BEST"
        ROW_LAZY "DESCEND_ROW_LAZY"
        ROW_SAGA_MEAN "DESCEND_ROW_SAGA_MEAN"
        ROW_SAGA_STAMP "DESCEND_ROW_SAGA_STAMP"
        N_STATE_ROWS "DESCEND_N_STATE_ROWS"

    cpdef enum Scalar "descend_scalar":
        SC_T "DESCEND_SC_T"
        SC_L1_U "DESCEND_SC_L1_U"
        SC_BEST "DESCEND_SC_BEST"
        SC_NO_IMPROVE "DESCEND_SC_NO_IMPROVE"
        SC_ETA_ADAPTIVE "DESCEND_SC_ETA_ADAPTIVE"
        SC_MIN_OBJECTIVE "DESCEND_SC_MIN_OBJECTIVE"
        N_SCALARS "DESCEND_N_SCALARS"

    cpdef enum HistColumn "descend_hist_column":
        H_OBJECTIVE "DESCEND_H_OBJECTIVE"
        H_GRAD_NORM "DESCEND_H_GRAD_NORM"
        H_ETA "DESCEND_H_ETA"
        H_SECONDS "DESCEND_H_SECONDS"
        H_UPDATES "DESCEND_H_UPDATES"
        H_VALIDATION "DESCEND_H_VALIDATION"
        N_HIST "DESCEND_N_HIST"

    cpdef enum Status "descend_status":
        RUNNING "DESCEND_RUNNING"
        CONVERGED "DESCEND_CONVERGED"
        DIVERGED "DESCEND_DIVERGED"
        INTERRUPTED "DESCEND_INTERRUPTED"

    cpdef enum LazyRow "descend_lazy_row":
        LZ_ETA "DESCEND_LZ_ETA"
        LZ_S "DESCEND_LZ_S"
        LZ_UV "DESCEND_LZ_UV"
        LZ_U "DESCEND_LZ_U"
        LZ_Q "DESCEND_LZ_Q"
        LZ_A "DESCEND_LZ_A"
        N_LAZY_ROWS "DESCEND_N_LAZY_ROWS"


cdef struct Config:
    # the model and data
    int loss
    double epsilon          # margin of the huber / epsilon-insensitive losses
    bint regression         # validation score R^2 (else accuracy of sign(z))
    double intercept_decay  # multiplies the intercept's step in stochastic updates
    bint blowup_check       # a finite 1e10-fold blow-up of the objective is divergence
    bint fit_intercept
    bint scale              # implicit standardisation through mu / inv_sigma
    bint rows_identity      # full batch over rows 0..n-1 (no index array)
    Py_ssize_t batch_size   # 0: full batch
    bint shuffle
    double sw_sum           # sum of the training rows' weights
    int n_threads           # threads of the chunked gradients
    int hogwild             # threads of lock-free per-sample / mini-batch CSR epochs (1: off)
    Py_ssize_t n_chunks     # chunks of the full-batch gradient (from the shape alone)
    bint fused              # allow the fused per-sample sgd path (tests turn it off)
    # the update
    descend_opt_params opt
    double l2
    double l1
    double clip_norm        # <= 0: off
    double average_start    # 0: off; else average from update t >= this
    descend_schedule sched
    # stopping
    double tol              # < 0: off
    double n_iter_no_change
    bint early_stopping     # monitor -validation score instead of the objective
    double val_sst          # regression: weighted total sum of squares of y_val
    bint keep_best


cdef class KernelConfig:
    cdef Config c
