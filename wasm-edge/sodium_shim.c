/* The four libsodium utilities that the Ed25519/SHA-2 sources call, defined
 * here so the wasm build does not need libsodium's sodium/utils.c and
 * sodium/core.c (which pull in randombytes, mlock and the CPU-dispatch runtime).
 * Semantics match libsodium's portable fallbacks. */
#include <stddef.h>
#include <stdlib.h>

#include "sodium/core.h"
#include "sodium/utils.h"

void sodium_memzero(void* const pnt, const size_t len) {
    /* volatile stores: the compiler may not drop them as dead. */
    volatile unsigned char* volatile p = (volatile unsigned char* volatile)pnt;
    for (size_t i = 0; i < len; i++)
        p[i] = 0U;
}

/* Constant time: 0 if equal, -1 otherwise. */
int sodium_memcmp(const void* const b1_, const void* const b2_, size_t len) {
    const volatile unsigned char* volatile b1 = (const volatile unsigned char* volatile)b1_;
    const volatile unsigned char* volatile b2 = (const volatile unsigned char* volatile)b2_;
    volatile unsigned char d = 0U;
    for (size_t i = 0; i < len; i++)
        d |= b1[i] ^ b2[i];
    return (1 & ((d - 1) >> 8)) - 1;
}

/* Constant time: 1 if all bytes are zero, 0 otherwise. */
int sodium_is_zero(const unsigned char* n, const size_t nlen) {
    volatile unsigned char d = 0U;
    for (size_t i = 0; i < nlen; i++)
        d |= n[i];
    return 1 & ((d - 1) >> 8);
}

/* libsodium calls this on API misuse (never on bad input); there is no handler. */
void sodium_misuse(void) {
    abort();
}
