/* rng.h - the only source of randomness in cnnctl.
 *
 * xoshiro256** seeded through splitmix64. Every random decision (weight init,
 * shuffling) draws from an explicit struct rng that the caller owns, so a run
 * is fully determined by its seed. Independent streams come from the same
 * seed with a different stream number, so that e.g. changing one layer's init
 * does not change the shuffle order. */
#ifndef CNNCTL_RNG_H
#define CNNCTL_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* The streams' low bytes: init, the shuffle of each epoch (epoch << 8),
 * dropout and augmentation (layer, step and image in the bits above),
 * and the tests' own. */
enum rng_stream {
    RNG_STREAM_INIT = 1,
    RNG_STREAM_SHUFFLE = 2,
    RNG_STREAM_DROPOUT = 3,
    RNG_STREAM_AUGMENT = 4,
    RNG_STREAM_TEST = 99
};

void rng_seed(struct rng *r, uint64_t seed, uint64_t stream);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 24 bits of precision. */
float rng_uniform(struct rng *r);
/* Standard normal (Box-Muller, no cached second value so the state is all in s). */
float rng_normal(struct rng *r);
/* Uniform integer in [0, n), unbiased (rejection). n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

#endif
