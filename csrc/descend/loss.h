/* Losses of one sample: value and derivative with respect to the margin z.
 *
 * Stateless static inline functions; no allocation.  Every loss is written
 * to stay finite for any finite z (no exp of a large positive number).
 */
#ifndef DESCEND_LOSS_H
#define DESCEND_LOSS_H

#include <math.h>

/* Which loss a kernel evaluates; chosen once per call, outside the loops. */
enum descend_loss_kind {
    DESCEND_SQUARED = 0,      /* 0.5 * (z - y)^2,           y real          */
    DESCEND_LOG = 1,          /* log(1 + e^z) - y z,        y in {0, 1}     */
    DESCEND_MULTINOMIAL = 2,  /* logsumexp(z) - z_y,        y class index   */
    /* scikit-learn's SGD losses (descend_margin_loss); classifiers take
     * y in {-1, +1}, regressors a real y, and eps is the loss's epsilon. */
    DESCEND_HINGE = 3,           /* max(0, 1 - y z)                           */
    DESCEND_PERCEPTRON = 4,      /* max(0, -y z)                              */
    DESCEND_SQUARED_HINGE = 5,   /* max(0, 1 - y z)^2                         */
    DESCEND_MODIFIED_HUBER = 6,  /* (1 - y z)^2 for y z >= -1, else -4 y z;
                                    0 from y z >= 1                           */
    DESCEND_HUBER = 7,           /* r^2/2 for |r| <= eps, else eps|r| - eps^2/2,
                                    r = z - y                                 */
    DESCEND_EPSILON_INSENSITIVE = 8,          /* max(0, |z - y| - eps)        */
    DESCEND_SQUARED_EPSILON_INSENSITIVE = 9   /* max(0, |z - y| - eps)^2      */
};


/* 0.5 (z - y)^2 and its derivative z - y. */
static inline double descend_squared_loss(double z, double y, double *dloss)
{
    double r = z - y;
    *dloss = r;
    return 0.5 * r * r;
}

/* Binary log loss log(1 + exp(z)) - y z for y in {0, 1}, finite for every
 * finite z (only exp(-|z|) <= 1 is formed), split for summing many rows: returns the part
 * max(z, 0) - y z, sets *dloss = sigmoid(z) - y and *one_plus_e = 1 +
 * exp(-|z|), so that loss = part + log(*one_plus_e).  A kernel multiplies
 * the (1 + e) factors of a block of rows (each in (1, 2], so 32 of them stay
 * below 2^32) and takes ONE log per block instead of one log1p per row; the
 * absolute error is at most one ulp of 1 per row. */
static inline double descend_log_loss_split(double z, double y, double *dloss,
                                            double *one_plus_e)
{
    double e = exp(-fabs(z));
    double inv = 1.0 / (1.0 + e);
    *dloss = ((z >= 0.0) ? inv : e * inv) - y;
    *one_plus_e = 1.0 + e;
    return (z > 0.0 ? z : 0.0) - y * z;
}

/* The largest |dloss| a kernel lets through (scikit-learn's MAX_DLOSS). */
#define DESCEND_MAX_DLOSS 1e12

/* Rows whose (1 + e) factors are multiplied before one log. */
#define DESCEND_LOG_BLOCK 32

/* Multinomial cross-entropy of K logits z (overwritten with the derivative
 * softmax(z) - onehot(y)).  The maximum is subtracted before exp. */
static inline double descend_multinomial_loss(double *z, int k, int y)
{
    double zmax = z[0], s = 0.0, lse;
    int j;
    for (j = 1; j < k; j++)
        if (z[j] > zmax) zmax = z[j];
    for (j = 0; j < k; j++)
        s += exp(z[j] - zmax);
    lse = zmax + log(s);
    double loss = lse - z[y];
    for (j = 0; j < k; j++)
        z[j] = exp(z[j] - lse);
    z[y] -= 1.0;
    return loss;
}

/* Value and derivative (*dloss, in z) of scikit-learn's SGD losses: kinds
 * DESCEND_HINGE .. DESCEND_SQUARED_EPSILON_INSENSITIVE.  Subgradients at
 * the kinks are scikit-learn's: hinge and perceptron count a margin equal
 * to the threshold as a mistake (so the perceptron moves from w = 0). */
static inline double descend_margin_loss(int kind, double z, double y,
                                         double eps, double *dloss)
{
    double m = y * z, r = z - y, a;
    switch (kind) {
    case DESCEND_HINGE:
    case DESCEND_PERCEPTRON:
        a = (kind == DESCEND_HINGE) ? 1.0 - m : -m;
        if (a >= 0.0) { *dloss = -y; return a; }
        *dloss = 0.0;
        return 0.0;
    case DESCEND_SQUARED_HINGE:
        a = 1.0 - m;
        if (a > 0.0) { *dloss = -2.0 * y * a; return a * a; }
        *dloss = 0.0;
        return 0.0;
    case DESCEND_MODIFIED_HUBER:
        if (m >= 1.0) { *dloss = 0.0; return 0.0; }
        if (m >= -1.0) { *dloss = -2.0 * (1.0 - m) * y; return (1.0 - m) * (1.0 - m); }
        *dloss = -4.0 * y;
        return -4.0 * m;
    case DESCEND_HUBER:
        if (fabs(r) <= eps) { *dloss = r; return 0.5 * r * r; }
        *dloss = (r > 0.0) ? eps : -eps;
        return eps * fabs(r) - 0.5 * eps * eps;
    case DESCEND_EPSILON_INSENSITIVE:
        a = fabs(r) - eps;
        if (a > 0.0) { *dloss = (r > 0.0) ? 1.0 : -1.0; return a; }
        *dloss = 0.0;
        return 0.0;
    default: /* DESCEND_SQUARED_EPSILON_INSENSITIVE */
        a = fabs(r) - eps;
        if (a > 0.0) { *dloss = (r > 0.0) ? 2.0 * a : -2.0 * a; return a * a; }
        *dloss = 0.0;
        return 0.0;
    }
}

#endif
