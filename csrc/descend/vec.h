/* Vector helpers for the kernels: dot products accumulated in double,
 * gradient accumulation into double buffers, and fused parameter updates.
 * float32 and float64 variants; `omp simd` lets the compiler vectorise the
 * reductions (the order is fixed at compile time, so results are
 * reproducible run to run).
 */
#ifndef DESCEND_VEC_H
#define DESCEND_VEC_H

#include <stddef.h>
#include <stdint.h>

/* Dot products keep DESCEND_LANES independent partial sums (fixed order,
 * so results are reproducible) to hide the add latency; the inner loop is
 * vectorised by the compiler (SSE2 in the baseline build, AVX2+FMA in the
 * dispatched one). */
#define DESCEND_LANES 8

#define DESCEND_DEFINE_VEC(SUFFIX, T)                                          \
/* sum_j x[j] * w[j], accumulated in double */                                 \
static inline double descend_dot_##SUFFIX(const T *x, const T *w, ptrdiff_t n) \
{                                                                              \
    double acc[DESCEND_LANES] = {0.0};                                         \
    double s;                                                                  \
    ptrdiff_t j = 0, k;                                                        \
    for (; j + DESCEND_LANES <= n; j += DESCEND_LANES)                         \
        for (k = 0; k < DESCEND_LANES; k++)                                    \
            acc[k] += (double)x[j + k] * (double)w[j + k];                     \
    s = ((acc[0] + acc[4]) + (acc[1] + acc[5]))                                \
        + ((acc[2] + acc[6]) + (acc[3] + acc[7]));                             \
    for (; j < n; j++)                                                         \
        s += (double)x[j] * (double)w[j];                                      \
    return s;                                                                  \
}                                                                              \
/* g[j] += a * x[j]  (g is a double accumulator) */                            \
static inline void descend_acc_##SUFFIX(double *g, double a, const T *x,      \
                                        ptrdiff_t n)                           \
{                                                                              \
    ptrdiff_t j;                                                               \
    _Pragma("omp simd")                                                        \
    for (j = 0; j < n; j++)                                                    \
        g[j] += a * (double)x[j];                                              \
}                                                                              \
/* w[j] -= e * (d * x[j])  (one sgd step along a dense row, in the same    \
 * arithmetic as the general coordinate update) */                            \
static inline void descend_step_##SUFFIX(T *w, double e, double d,            \
                                         const T *x, ptrdiff_t n)              \
{                                                                              \
    ptrdiff_t j;                                                               \
    _Pragma("omp simd")                                                        \
    for (j = 0; j < n; j++)                                                    \
        w[j] = (T)((double)w[j] - e * (d * (double)x[j]));                     \
}                                                                              \
/* Software prefetch of the row, target and weight that a shuffled kernel   \
 * visits `ahead` steps after visit ii (three independent cache misses).      \
 * always_inline: a prefetch has no side effect GCC counts, so an outlined    \
 * helper would be judged pure and its calls deleted before inlining. */      \
static inline __attribute__((always_inline)) void                             \
descend_prefetch_row_##SUFFIX(const T *X, const T *y, const T *sw,            \
                              ptrdiff_t p, const int64_t *rows, ptrdiff_t ii,  \
                              ptrdiff_t n_rows, ptrdiff_t ahead)               \
{                                                                              \
    ptrdiff_t j, stride = (ptrdiff_t)(64 / sizeof(T));                         \
    const T *x;                                                                \
    int64_t r;                                                                 \
    __asm__ __volatile__("");  /* not pure: keep the calls (see sparse.h) */  \
    if (ii + ahead >= n_rows)                                                  \
        return;                                                                \
    r = rows[ii + ahead];                                                      \
    x = X + r * p;                                                             \
    for (j = 0; j < p && j < 32 * stride; j += stride)                         \
        __builtin_prefetch(x + j, 0, 3);                                       \
    __builtin_prefetch(y + r, 0, 3);                                           \
    __builtin_prefetch(sw + r, 0, 3);                                          \
}

DESCEND_DEFINE_VEC(f32, float)
DESCEND_DEFINE_VEC(f64, double)

/* The upper triangle of acc (d x d, row-major) += sum_g w[g] x_g x_g' over
 * the 8 rows x_g = x + g * d (the curvature Gram matrix, 8 rows at a time).
 * restrict (acc and the rows never overlap) lets the compiler vectorise
 * the inner loop without run-time alias checks between its nine arrays;
 * the sum's order is fixed (results reproducible run to run). */
static inline void descend_gram_group8(double *restrict acc, const double *restrict x,
                                       const double *restrict w, ptrdiff_t d)
{
    const double *x0 = x, *x1 = x + d, *x2 = x + 2 * d, *x3 = x + 3 * d;
    const double *x4 = x + 4 * d, *x5 = x + 5 * d, *x6 = x + 6 * d, *x7 = x + 7 * d;
    ptrdiff_t j, k;
    for (j = 0; j < d; j++) {
        double a0 = w[0] * x0[j], a1 = w[1] * x1[j], a2 = w[2] * x2[j], a3 = w[3] * x3[j];
        double a4 = w[4] * x4[j], a5 = w[5] * x5[j], a6 = w[6] * x6[j], a7 = w[7] * x7[j];
        double *restrict row = acc + j * d;
        _Pragma("omp simd")
        for (k = j; k < d; k++)
            row[k] += ((a0 * x0[k] + a1 * x1[k]) + (a2 * x2[k] + a3 * x3[k]))
                      + ((a4 * x4[k] + a5 * x5[k]) + (a6 * x6[k] + a7 * x7[k]));
    }
}

/* sum_j x[j] * w[j] of float32 values and float64 coefficients (the
 * certificate pass), accumulated like descend_dot_* */
static inline double descend_dot_f32_f64(const float *x, const double *w, ptrdiff_t n)
{
    double acc[DESCEND_LANES] = {0.0};
    double s;
    ptrdiff_t j = 0, k;
    for (; j + DESCEND_LANES <= n; j += DESCEND_LANES)
        for (k = 0; k < DESCEND_LANES; k++)
            acc[k] += (double)x[j + k] * w[j + k];
    s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++)
        s += (double)x[j] * w[j];
    return s;
}

#endif
