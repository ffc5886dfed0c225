/* Losses of one sample: value and derivative with respect to the margin z.
 *
 * Stateless static inline functions; no allocation.  Every loss stays
 * finite for any finite z (no exp of a large positive number).
 *
 * A single-output loss is one function
 *     double descend_loss_<name>(double z, double y, double eps, double *dloss)
 * returning the loss and setting *dloss = d loss / d z (scikit-learn's
 * subgradients at kinks), plus one row of DESCEND_SINGLE_LOSSES in codes.h,
 * which gives it its code, its place in descend_loss() and its name for
 * Python.  The multinomial loss takes K margins and stands apart.
 */
#ifndef DESCEND_LOSS_H
#define DESCEND_LOSS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "codes.h"

/* The largest |dloss| a kernel lets through (scikit-learn's MAX_DLOSS). */
#define DESCEND_MAX_DLOSS 1e12

/* Rows whose (1 + e) factors are multiplied before one log. */
#define DESCEND_LOG_BLOCK 32

/* 0.5 (z - y)^2 */
static inline double descend_loss_squared(double z, double y, double eps, double *dloss)
{
    double r = z - y;
    (void)eps;
    *dloss = r;
    return 0.5 * r * r;
}

/* Binary log loss log(1 + exp(z)) - y z for y in {0, 1}, split for summing
 * many rows: returns max(z, 0) - y z, sets *dloss = sigmoid(z) - y and
 * *one_plus_e = 1 + exp(-|z|), so that loss = part + log(*one_plus_e).  A
 * kernel multiplies the (1 + e) factors of a block of rows (each in (1, 2],
 * so DESCEND_LOG_BLOCK = 32 of them stay below 2^32) and takes ONE log per
 * block instead of one log1p per row; the absolute error is at most one
 * ulp of 1 per row. */
static inline double descend_log_loss_split_e(double z, double y, double e, double inv,
                                              double *dloss, double *one_plus_e)
{
    *dloss = ((z >= 0.0) ? inv : e * inv) - y;
    *one_plus_e = 1.0 + e;
    return (z > 0.0 ? z : 0.0) - y * z;
}

static inline double descend_log_loss_split(double z, double y, double *dloss,
                                            double *one_plus_e)
{
    double e = exp(-fabs(z));
    return descend_log_loss_split_e(z, y, e, 1.0 / (1.0 + e), dloss, one_plus_e);
}

/* exp(a) for a <= 0, within 1 ulp of libm's (tests/test_certificate.py), with
 * no branch and no call, so that a loop over it vectorises: a = n ln2 + r,
 * |r| <= ln2 / 2 (n rounded by the 1.5 * 2^52 shift, ln2 in two parts),
 * exp(r) by its Taylor polynomial of degree 13 (truncation < 1e-17
 * relative), times 2^n built in the exponent bits.  Below -708 (where
 * exp leaves the normal range) it returns exp(-708) ~ 3.3e-308: the log
 * loss adds 1 + e and e z / (1 + e), in which that is nothing.  NaN gives
 * NaN. */
static inline double descend_exp_nonpositive(double a)
{
    const double shift = 6755399441055744.0;  /* 1.5 * 2^52 */
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    union { double d; uint64_t u; } t, scale;
    double n, r, p;
    a = a < -708.0 ? -708.0 : a;
    t.d = a * 1.4426950408889634 + shift;
    n = t.d - shift;
    r = (a - n * ln2_hi) - n * ln2_lo;
    p = 1.0 / 6227020800.0;                 /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    scale.u = (t.u + 1023u) << 52;          /* 2^n: n + 1023 in the exponent field */
    return p * scale.d;
}

/* For the rows of a block: e[i] = exp(-|z[i]|) and inv[i] = 1 / (1 + e[i]),
 * the parts of the log loss that cost (descend_log_loss_split_e takes
 * them), in one vectorised loop. */
static inline void descend_log_loss_parts(const double *restrict z, double *restrict e,
                                          double *restrict inv, ptrdiff_t n)
{
    ptrdiff_t i;
    _Pragma("omp simd")
    for (i = 0; i < n; i++) {
        double v = descend_exp_nonpositive(-fabs(z[i]));
        e[i] = v;
        inv[i] = 1.0 / (1.0 + v);
    }
}

/* log(1 + exp(z)) - y z, y in {0, 1} */
static inline double descend_loss_log(double z, double y, double eps, double *dloss)
{
    double one_plus_e, part = descend_log_loss_split(z, y, dloss, &one_plus_e);
    (void)eps;
    return part + log(one_plus_e);
}

/* max(0, 1 - y z); a margin of exactly 1 counts as a mistake (scikit-learn) */
static inline double descend_loss_hinge(double z, double y, double eps, double *dloss)
{
    double a = 1.0 - y * z;
    (void)eps;
    if (a >= 0.0) { *dloss = -y; return a; }
    *dloss = 0.0;
    return 0.0;
}

/* max(0, -y z); a margin of 0 is a mistake, so the perceptron moves from w = 0 */
static inline double descend_loss_perceptron(double z, double y, double eps, double *dloss)
{
    double a = -y * z;
    (void)eps;
    if (a >= 0.0) { *dloss = -y; return a; }
    *dloss = 0.0;
    return 0.0;
}

/* max(0, 1 - y z)^2 */
static inline double descend_loss_squared_hinge(double z, double y, double eps, double *dloss)
{
    double a = 1.0 - y * z;
    (void)eps;
    if (a > 0.0) { *dloss = -2.0 * y * a; return a * a; }
    *dloss = 0.0;
    return 0.0;
}

/* (1 - y z)^2 for -1 <= y z < 1, -4 y z below, 0 from 1 */
static inline double descend_loss_modified_huber(double z, double y, double eps, double *dloss)
{
    double m = y * z;
    (void)eps;
    if (m >= 1.0) { *dloss = 0.0; return 0.0; }
    if (m >= -1.0) { *dloss = -2.0 * (1.0 - m) * y; return (1.0 - m) * (1.0 - m); }
    *dloss = -4.0 * y;
    return -4.0 * m;
}

/* r^2/2 for |r| <= eps, eps |r| - eps^2/2 beyond; r = z - y */
static inline double descend_loss_huber(double z, double y, double eps, double *dloss)
{
    double r = z - y;
    if (fabs(r) <= eps) { *dloss = r; return 0.5 * r * r; }
    *dloss = (r > 0.0) ? eps : -eps;
    return eps * fabs(r) - 0.5 * eps * eps;
}

/* max(0, |z - y| - eps) */
static inline double descend_loss_epsilon_insensitive(double z, double y, double eps,
                                                      double *dloss)
{
    double r = z - y, a = fabs(r) - eps;
    if (a > 0.0) { *dloss = (r > 0.0) ? 1.0 : -1.0; return a; }
    *dloss = 0.0;
    return 0.0;
}

/* max(0, |z - y| - eps)^2 */
static inline double descend_loss_squared_epsilon_insensitive(double z, double y, double eps,
                                                              double *dloss)
{
    double r = z - y, a = fabs(r) - eps;
    if (a > 0.0) { *dloss = (r > 0.0) ? 2.0 * a : -2.0 * a; return a * a; }
    *dloss = 0.0;
    return 0.0;
}

/* The single-output loss `kind` (a DESCEND_SINGLE_LOSSES code). */
static inline double descend_loss(int kind, double z, double y, double eps, double *dloss)
{
#define DESCEND_LOSS_CASE(NAME, name) \
    case DESCEND_LOSS_##NAME: return descend_loss_##name(z, y, eps, dloss);
    switch (kind) {
    DESCEND_SINGLE_LOSSES(DESCEND_LOSS_CASE)
    default: *dloss = NAN; return NAN;
    }
#undef DESCEND_LOSS_CASE
}

/* The log loss's second derivative sigmoid(z) sigmoid(-z) from e = exp(-|z|). */
static inline double descend_log_curvature_e(double e)
{
    return e / ((1.0 + e) * (1.0 + e));
}

/* d^2 loss / dz^2 of the single-output losses that are twice
 * differentiable everywhere, for Newton's method and the curvature
 * certificate (_newton.py); NAN for the others.  Both satisfy
 * |loss'''| <= c loss'' with c = 1 (log loss: self-concordant) and c = 0
 * (squared loss). */
static inline double descend_loss_curvature(int kind, double z)
{
    double e;
    switch (kind) {
    case DESCEND_LOSS_SQUARED: return 1.0;
    case DESCEND_LOSS_LOG:
        e = exp(-fabs(z));
        return descend_log_curvature_e(e);
    default: return NAN;
    }
}

/* descend_loss_curvature of n margins, in place (z[i] becomes loss''(z[i])):
 * the log loss's exp vectorised (descend_exp_nonpositive), for the rows
 * of a group of the Hessian's Gram matrix. */
static inline void descend_loss_curvatures(int kind, double *z, ptrdiff_t n)
{
    ptrdiff_t i;
    if (kind == DESCEND_LOSS_LOG) {
        _Pragma("omp simd")
        for (i = 0; i < n; i++)
            z[i] = descend_log_curvature_e(descend_exp_nonpositive(-fabs(z[i])));
        return;
    }
    for (i = 0; i < n; i++)
        z[i] = descend_loss_curvature(kind, z[i]);
}

/* Multinomial cross-entropy of K logits z (overwritten with the derivative
 * softmax(z) - onehot(y)).  The maximum is subtracted before exp. */
static inline double descend_multinomial_loss(double *z, int k, int y)
{
    double zmax = z[0], s = 0.0, lse, loss;
    int j;
    for (j = 1; j < k; j++)
        if (z[j] > zmax) zmax = z[j];
    for (j = 0; j < k; j++)
        s += exp(z[j] - zmax);
    lse = zmax + log(s);
    loss = lse - z[y];
    for (j = 0; j < k; j++)
        z[j] = exp(z[j] - lse);
    z[y] -= 1.0;
    return loss;
}

#endif
