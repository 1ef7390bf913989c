/* getrandom(2) and getentropy(3) from a fixed-seed stream, loaded with LD_PRELOAD.
 *
 * An instruction count must come out the same every run. Rust's std seeds every
 * HashMap from libc's getrandom (std/src/sys/random/linux.rs, through a weak
 * symbol so that LD_PRELOAD can take its place), and with random keys the
 * iteration order, and so the work done, changes from run to run. Here the bytes
 * come from splitmix64 over a counter, starting at $MIND_BENCH_SEED: each seed is
 * a different stream of random-looking bytes, the same stream every run. Bytes
 * are never repeated between calls, so code that expects two draws to differ
 * keeps working as it does with real randomness.
 *
 * Built by mind_runner/measure/fixed_seed.py; used only for counting, never in a
 * program that needs real randomness.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

static uint64_t seed;
static uint64_t counter;

__attribute__((constructor)) static void read_seed(void) {
    const char *text = getenv("MIND_BENCH_SEED");
    seed = text != NULL ? strtoull(text, NULL, 10) : 0;
}

static uint64_t next_word(void) {
    /* splitmix64 in counter mode: one atomic step per word, so threads never share a word. */
    uint64_t index = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    uint64_t z = seed + index * 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(void *buffer, size_t length) {
    unsigned char *out = buffer;
    while (length > 0) {
        uint64_t word = next_word();
        for (int byte = 0; byte < 8 && length > 0; byte++, length--) {
            *out++ = (unsigned char)word;
            word >>= 8;
        }
    }
}

ssize_t getrandom(void *buffer, size_t length, unsigned int flags) {
    (void)flags;
    fill(buffer, length);
    return (ssize_t)length;
}

int getentropy(void *buffer, size_t length) {
    fill(buffer, length);
    return 0;
}
