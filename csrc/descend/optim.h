/* Optimizer directions: the only implementation of each update rule.
 *
 * A coordinate with gradient g and buffers m, v moves by
 *     w -= eta * descend_opt_direction(...)
 * (PyTorch's documented formulas, dampening 0, no lr decay).  Every update
 * path (dense and CSR rows, per-sample, mini-batch, full batch, the
 * intercepts) calls this one dispatch.  The caller first adds the coupled
 * L2 gradient l2 * w to g, or decays w by descend_l2_decay (schedule.h),
 * as the optimizer's row of DESCEND_OPTIMIZERS (codes.h) says.
 *
 * Each rule reads its buffers once and writes them once, and its direction
 * comes from the values it wrote: under Hogwild another thread may update
 * the same coordinate at the same time, and a direction mixing one
 * thread's m with another's v (adam's m / sqrt(v) with v = 0) would be
 * unbounded; this way a race can only lose an update.
 *
 * Adding an optimizer: a function descend_opt_<name> below with this
 * signature, and its row in DESCEND_OPTIMIZERS (docs/architecture.md).
 */
#ifndef DESCEND_OPTIM_H
#define DESCEND_OPTIM_H

#include <math.h>
#include "codes.h"

/* The hyperparameters of an optimizer (fixed during a fit). */
typedef struct {
    int kind;          /* enum descend_optimizer_kind */
    double momentum;   /* momentum, nesterov */
    double beta_1;     /* adam, adamw */
    double beta_2;
    double rho;        /* rmsprop (PyTorch's alpha) */
    double eps;        /* adagrad, rmsprop, adam, adamw */
} descend_opt_params;

/* What the coordinates of one update t (1-based) share. */
typedef struct {
    double bias1;      /* adam: 1 - beta_1^t */
    double bias2;      /* adam: 1 - beta_2^t */
} descend_opt_step;

static inline descend_opt_step descend_opt_begin(const descend_opt_params *o, double t)
{
    descend_opt_step s;
    s.bias1 = 1.0 - pow(o->beta_1, t);
    s.bias2 = 1.0 - pow(o->beta_2, t);
    return s;
}

#define DESCEND_OPT_ARGS const descend_opt_params *o, descend_opt_step s, \
                         double g, double *m, double *v

/* w -= eta g */
static inline double descend_opt_sgd(DESCEND_OPT_ARGS)
{
    (void)o; (void)s; (void)m; (void)v;
    return g;
}

/* buf = momentum buf + g (buf = g at the first step: buffers start at 0) */
static inline double descend_opt_momentum(DESCEND_OPT_ARGS)
{
    double m1 = o->momentum * *m + g;
    (void)s; (void)v;
    *m = m1;
    return m1;
}

/* the same buffer; the direction g + momentum buf */
static inline double descend_opt_nesterov(DESCEND_OPT_ARGS)
{
    double m1 = o->momentum * *m + g;
    (void)s; (void)v;
    *m = m1;
    return g + o->momentum * m1;
}

/* S += g^2; g / (sqrt(S) + eps) */
static inline double descend_opt_adagrad(DESCEND_OPT_ARGS)
{
    double m1 = *m + g * g;
    (void)s; (void)v;
    *m = m1;
    return g / (sqrt(m1) + o->eps);
}

/* V = rho V + (1 - rho) g^2; g / (sqrt(V) + eps) */
static inline double descend_opt_rmsprop(DESCEND_OPT_ARGS)
{
    double m1 = o->rho * *m + (1.0 - o->rho) * g * g;
    (void)s; (void)v;
    *m = m1;
    return g / (sqrt(m1) + o->eps);
}

/* bias-corrected first and second moments */
static inline double descend_opt_adam(DESCEND_OPT_ARGS)
{
    double m1 = o->beta_1 * *m + (1.0 - o->beta_1) * g;
    double v1 = o->beta_2 * *v + (1.0 - o->beta_2) * g * g;
    *m = m1;
    *v = v1;
    return (m1 / s.bias1) / (sqrt(v1 / s.bias2) + o->eps);
}

/* Adam's direction; the decoupled decay is the caller's (L2 form DECAY) */
static inline double descend_opt_adamw(DESCEND_OPT_ARGS)
{
    return descend_opt_adam(o, s, g, m, v);
}

/* saga's variance-reduced gradient (the kernel forms it: the row's new
 * gradient minus its stored one plus the stored mean) is stepped along
 * as is */
static inline double descend_opt_saga(DESCEND_OPT_ARGS)
{
    (void)o; (void)s; (void)m; (void)v;
    return g;
}

/* The direction of one coordinate under o->kind; updates *m, *v.  The
 * kind is the same for every coordinate of a fit, so the branch is taken
 * the same way every time (GCC unswitches the callers' loops). */
static inline __attribute__((always_inline)) double
descend_opt_direction(DESCEND_OPT_ARGS)
{
#define DESCEND_OPT_CASE(NAME, name, ...) \
    case DESCEND_OPT_##NAME: return descend_opt_##name(o, s, g, m, v);
    switch (o->kind) {
    DESCEND_OPTIMIZERS(DESCEND_OPT_CASE)
    default: return NAN;
    }
#undef DESCEND_OPT_CASE
}

/* State rows (BUF1, BUF2) the optimizer keeps per coordinate. */
static inline int descend_opt_buffers(int kind)
{
#define DESCEND_OPT_BUFFERS(NAME, name, buffers, l2) \
    case DESCEND_OPT_##NAME: return buffers;
    switch (kind) {
    DESCEND_OPTIMIZERS(DESCEND_OPT_BUFFERS)
    default: return -1;
    }
#undef DESCEND_OPT_BUFFERS
}

/* How the L2 penalty enters its update (enum descend_l2_form). */
static inline int descend_opt_l2_form(int kind)
{
#define DESCEND_OPT_L2(NAME, name, buffers, l2) \
    case DESCEND_OPT_##NAME: return l2;
    switch (kind) {
    DESCEND_OPTIMIZERS(DESCEND_OPT_L2)
    default: return -1;
    }
#undef DESCEND_OPT_L2
}

#undef DESCEND_OPT_ARGS
#endif
