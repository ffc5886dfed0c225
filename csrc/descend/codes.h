/* Every code the kernels and the Python layer share, defined once.
 *
 * Python reads these enums through descend._engine._codes (Cython's
 * `cpdef enum` over this header), so no integer is copied by hand.
 */
#ifndef DESCEND_CODES_H
#define DESCEND_CODES_H

/* The single-output losses, one row each: X(CODE_NAME, function_name).  A
 * row gives the loss its code DESCEND_LOSS_<CODE_NAME>, its case in
 * descend_loss() and its name for Python; the function is
 * descend_loss_<function_name> in loss.h.  Adding a loss: that function,
 * this row, and a row of descend/_rules.py (docs/architecture.md). */
#define DESCEND_SINGLE_LOSSES(X)                                               \
    X(SQUARED, squared)                                                        \
    X(LOG, log)                                                                \
    X(HINGE, hinge)                                                            \
    X(PERCEPTRON, perceptron)                                                  \
    X(SQUARED_HINGE, squared_hinge)                                            \
    X(MODIFIED_HUBER, modified_huber)                                          \
    X(HUBER, huber)                                                            \
    X(EPSILON_INSENSITIVE, epsilon_insensitive)                                \
    X(SQUARED_EPSILON_INSENSITIVE, squared_epsilon_insensitive)

#define DESCEND_CODE_LOSS(NAME, name) DESCEND_LOSS_##NAME,
#define DESCEND_NAME_OF(NAME, name, ...) #name,
enum descend_loss_kind {
    DESCEND_SINGLE_LOSSES(DESCEND_CODE_LOSS)
    DESCEND_LOSS_MULTINOMIAL,      /* logsumexp(z) - z_y, y a class index: K margins */
    DESCEND_N_LOSSES
};
static const char *const descend_loss_names[] = {
    DESCEND_SINGLE_LOSSES(DESCEND_NAME_OF) "multinomial"
};

/* Optimizers, one row each: X(CODE_NAME, function_name, buffers, l2 form).
 * The direction is descend_opt_<function_name> in optim.h; `buffers` how
 * many state rows (BUF1, BUF2) it keeps per coordinate; the L2 form how the
 * penalty enters (enum descend_l2_form).  PyTorch's update rules. */
#define DESCEND_OPTIMIZERS(X)                                                  \
    X(SGD, sgd, 0, DESCEND_L2_DECAY)                                           \
    X(MOMENTUM, momentum, 1, DESCEND_L2_COUPLED)                               \
    X(NESTEROV, nesterov, 1, DESCEND_L2_COUPLED)                               \
    X(ADAGRAD, adagrad, 1, DESCEND_L2_COUPLED)                                 \
    X(RMSPROP, rmsprop, 1, DESCEND_L2_COUPLED)                                 \
    X(ADAM, adam, 2, DESCEND_L2_COUPLED)                                       \
    X(ADAMW, adamw, 2, DESCEND_L2_DECAY)                                       \
    X(SAGA, saga, 0, DESCEND_L2_DECAY)

#define DESCEND_CODE_OPT(NAME, ...) DESCEND_OPT_##NAME,
enum descend_optimizer_kind {
    DESCEND_OPTIMIZERS(DESCEND_CODE_OPT)
    DESCEND_N_OPTIMIZERS
};
static const char *const descend_optimizer_names[] = {
    DESCEND_OPTIMIZERS(DESCEND_NAME_OF)
};

/* Step-size schedules, one row each: X(CODE_NAME, function_name); the rule
 * is descend_eta_<function_name> in schedule.h. */
#define DESCEND_SCHEDULES(X)                                                   \
    X(CONSTANT, constant)                                                      \
    X(INVSCALING, invscaling)                                                  \
    X(OPTIMAL, optimal)                                                        \
    X(ADAPTIVE, adaptive)                                                      \
    X(EXPONENTIAL, exponential)                                                \
    X(STEP, step)                                                              \
    X(COSINE, cosine)

#define DESCEND_CODE_SCHED(NAME, name) DESCEND_SCHED_##NAME,
enum descend_schedule_kind {
    DESCEND_SCHEDULES(DESCEND_CODE_SCHED)
    DESCEND_N_SCHEDULES
};
static const char *const descend_schedule_names[] = {
    DESCEND_SCHEDULES(DESCEND_NAME_OF)
};

/* How the L2 penalty enters an optimizer's update (optim.h). */
enum descend_l2_form {
    DESCEND_L2_DECAY = 0,    /* w *= max(0, 1 - eta * l2) before the step (sgd, adamw) */
    DESCEND_L2_COUPLED       /* g += l2 * w (PyTorch's weight_decay)                  */
};


/* Rows of the double `state` array of a fit, each K*p + K entries
 * (coefficients, then intercepts). */
enum descend_state_row {
    DESCEND_ROW_BUF1 = 0,     /* first optimizer buffer                           */
    DESCEND_ROW_BUF2,         /* second optimizer buffer (adam's v)               */
    DESCEND_ROW_AVERAGE,      /* averaged SGD's average                           */
    DESCEND_ROW_L1_Q,         /* cumulative L1 penalty each coordinate received   */
    DESCEND_ROW_START,        /* the epoch's starting point (rollback)            */
    DESCEND_ROW_BEST,         /* the best point seen (keep_best)                  */
    DESCEND_ROW_LAZY,         /* a coordinate's L1 stamp in lazy updates          */
    DESCEND_ROW_SAGA_MEAN,    /* saga: the mean of the stored gradients           */
    DESCEND_ROW_SAGA_STAMP,   /* saga: A at a coordinate's last catch-up          */
    DESCEND_N_STATE_ROWS
};

/* Entries of the double `scalars` array carried across kernel calls. */
enum descend_scalar {
    DESCEND_SC_T = 0,           /* updates made                                   */
    DESCEND_SC_L1_U,            /* cumulative L1 penalty applied so far           */
    DESCEND_SC_BEST,            /* best monitored value                           */
    DESCEND_SC_NO_IMPROVE,      /* epochs without sufficient improvement          */
    DESCEND_SC_ETA_ADAPTIVE,    /* current step of the "adaptive" schedule        */
    DESCEND_SC_MIN_OBJECTIVE,   /* smallest objective seen (blow-up detection)    */
    DESCEND_N_SCALARS
};

/* Columns of one epoch's record in the kernels' `hist` array. */
enum descend_hist_column {
    DESCEND_H_OBJECTIVE = 0,
    DESCEND_H_GRAD_NORM,
    DESCEND_H_ETA,
    DESCEND_H_SECONDS,
    DESCEND_H_UPDATES,
    DESCEND_H_VALIDATION,
    DESCEND_N_HIST
};

/* What a block of epochs ended with. */
enum descend_status {
    DESCEND_RUNNING = 0,
    DESCEND_CONVERGED,
    DESCEND_DIVERGED,
    DESCEND_INTERRUPTED   /* the stop flag was raised: the epoch was cut short */
};

/* Whether the stop flag a caller raises (from another thread) is up; the
 * volatile read keeps the compiler from hoisting it out of a loop. */
static inline int descend_stop_requested(const volatile unsigned char *flag)
{
    return flag != 0 && *flag != 0;
}

/* Limits of the kernels' scratch that the Python layer sizes it by. */
enum descend_limits {
    /* chunks of a mini-batch gradient, at most: the count comes from the
       batch's work alone, never from the thread count (_steps.pxd) */
    DESCEND_BATCH_MAX_CHUNKS = 16
};

/* Rows of the per-epoch schedule of the lazy updates (see _kernels.pyx). */
enum descend_lazy_row {
    DESCEND_LZ_ETA = 0,   /* step size of the update at position i              */
    DESCEND_LZ_S,         /* S[i]: product of the decays of the segment's updates < i */
    DESCEND_LZ_UV,        /* sum of eta*l1 / S over those updates (V units)     */
    DESCEND_LZ_U,         /* sum of eta*l1 over them (W units)                  */
    DESCEND_LZ_Q,         /* sum of S over those of them that are averaged      */
    DESCEND_LZ_A,         /* sum of eta / S after each of those updates (saga)  */
    DESCEND_N_LAZY_ROWS
};

#endif
