/* Step-size schedules and the L2 decay factor: the only implementation of
 * each, shared by every update path.
 *
 * Adding a schedule: a function descend_eta_<name> below with this
 * signature and its row in DESCEND_SCHEDULES (codes.h).
 */
#ifndef DESCEND_SCHEDULE_H
#define DESCEND_SCHEDULE_H

#include <math.h>
#include "codes.h"

typedef struct {
    int kind;               /* enum descend_schedule_kind */
    double eta0;
    double power_t;         /* invscaling */
    double decay_rate;      /* exponential, step */
    double decay_steps;     /* step: epochs between decays */
    double max_iter;        /* cosine: its period in epochs */
    double optimal_t0;      /* optimal: scikit-learn's t0 */
    double optimal_alpha;   /* optimal: the alpha of 1 / (alpha (t0 + t - 1)) */
    double warmup_updates;  /* linear warm-up over this many updates; 0: none */
} descend_schedule;

/* update t (1-based) of epoch `epoch` (1-based); `adaptive` is the current
 * step of the "adaptive" schedule, which the stopping rule divides */
#define DESCEND_ETA_ARGS const descend_schedule *s, double t, double epoch, double adaptive

static inline double descend_eta_constant(DESCEND_ETA_ARGS)
{
    (void)t; (void)epoch; (void)adaptive;
    return s->eta0;
}

/* eta0 / t^power_t */
static inline double descend_eta_invscaling(DESCEND_ETA_ARGS)
{
    (void)epoch; (void)adaptive;
    return s->eta0 / pow(t, s->power_t);
}

/* scikit-learn's 1 / (alpha (t0 + t - 1)) */
static inline double descend_eta_optimal(DESCEND_ETA_ARGS)
{
    (void)epoch; (void)adaptive;
    return 1.0 / s->optimal_alpha / (s->optimal_t0 + t - 1.0);
}

/* scikit-learn's: eta0, divided by 5 when the monitored value stalls */
static inline double descend_eta_adaptive(DESCEND_ETA_ARGS)
{
    (void)s; (void)t; (void)epoch;
    return adaptive;
}

/* eta0 decay_rate^(epoch - 1) */
static inline double descend_eta_exponential(DESCEND_ETA_ARGS)
{
    (void)t; (void)adaptive;
    return s->eta0 * pow(s->decay_rate, epoch - 1.0);
}

/* eta0 decay_rate^floor((epoch - 1) / decay_steps) */
static inline double descend_eta_step(DESCEND_ETA_ARGS)
{
    (void)t; (void)adaptive;
    return s->eta0 * pow(s->decay_rate, floor((epoch - 1.0) / s->decay_steps));
}

/* eta0 (1 + cos(pi (epoch - 1) / max_iter)) / 2 */
static inline double descend_eta_cosine(DESCEND_ETA_ARGS)
{
    (void)t; (void)adaptive;
    return s->eta0 * 0.5 * (1.0 + cos(M_PI * (epoch - 1.0) / s->max_iter));
}

/* The step size of update t under s->kind, with the linear warm-up. */
static inline double descend_eta(DESCEND_ETA_ARGS)
{
    double eta;
#define DESCEND_SCHED_CASE(NAME, name) \
    case DESCEND_SCHED_##NAME: eta = descend_eta_##name(s, t, epoch, adaptive); break;
    switch (s->kind) {
    DESCEND_SCHEDULES(DESCEND_SCHED_CASE)
    default: eta = NAN;
    }
#undef DESCEND_SCHED_CASE
    if (s->warmup_updates > 0.0 && t < s->warmup_updates)
        eta *= t / s->warmup_updates;
    return eta;
}

/* The factor an L2 decay multiplies w by in one update of step eta:
 * 1 - eta * l2, clamped at 0 (scikit-learn's rule: a step with eta * l2 >= 1
 * zeroes w rather than flipping its sign).  Every path uses this one. */
static inline double descend_l2_decay(double eta, double l2)
{
    double d = 1.0 - eta * l2;
    return d > 0.0 ? d : 0.0;
}

#undef DESCEND_ETA_ARGS
#endif
