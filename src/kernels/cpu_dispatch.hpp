// The one place the kernels' x86-specific code generation is spelled out. On x86-64 GCC
// compiles a hot loop twice (AVX2 or POPCNT, and the baseline) and picks one at load time
// (target_clones); anywhere else — aarch64, or any build with -DLESSMORE_PORTABLE=ON, which
// CI builds and tests to keep the portable code honest (CONTRIBUTING.md, "Portable build") —
// the same loops compile once, for the baseline, with the same results.
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && !defined(LESSMORE_PORTABLE)
#define LESSMORE_X86_DISPATCH 1
#define LESSMORE_CLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#define LESSMORE_CLONES_POPCNT __attribute__((target_clones("popcnt", "default")))
#else
#define LESSMORE_X86_DISPATCH 0
#define LESSMORE_CLONES_AVX2
#define LESSMORE_CLONES_POPCNT
#endif
