/* Run-time CPU feature checks for choosing a kernel build. */
#ifndef DESCEND_CPU_H
#define DESCEND_CPU_H

/* 1 when the CPU and the OS support AVX2 and FMA (the `_avx2` kernel build). */
static inline int descend_cpu_has_avx2_fma(void)
{
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif
