/* A small seeded random number generator (SplitMix64) and an unbiased
 * Fisher-Yates shuffle.  The state is one uint64 owned by the caller, so a
 * fit is reproducible from its seed and the state can carry across epochs.
 */
#ifndef DESCEND_RNG_H
#define DESCEND_RNG_H

#include <stdint.h>

static inline uint64_t descend_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform integer in [0, n) without modulo bias (Lemire's method). */
static inline uint64_t descend_rng_below(uint64_t *state, uint64_t n)
{
    uint64_t x = descend_rng_next(state);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = (0 - n) % n;
        while (low < threshold) {
            x = descend_rng_next(state);
            m = (__uint128_t)x * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

/* In-place uniform shuffle of perm[0..n). */
static inline void descend_shuffle(int64_t *perm, int64_t n, uint64_t *state)
{
    int64_t i, j, tmp;
    for (i = n - 1; i > 0; i--) {
        j = (int64_t)descend_rng_below(state, (uint64_t)(i + 1));
        tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
}

#endif
