/* SHA-256 (FIPS 180-4), libc only: content addresses for the image store and cache keys for
 * compiled seccomp filters. Not constant-time; never use it for secrets.
 * The names carry the berth_ prefix because libraries we link (libcrypto, nettle) export
 * unprefixed sha256 symbols of their own. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BERTH_SHA256_SIZE 32
#define BERTH_SHA256_HEX_SIZE 65 /* 64 hex digits and the NUL */

struct berth_sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	uint8_t block[64];
	size_t used; /* bytes waiting in @block */
};

void berth_sha256_init(struct berth_sha256 *c);
void berth_sha256_update(struct berth_sha256 *c, const void *data, size_t len);
/* Write the digest to @out. The context must be initialised again before reuse. */
void berth_sha256_final(struct berth_sha256 *c, uint8_t out[BERTH_SHA256_SIZE]);

/* One call: the digest of @len bytes at @data. */
void berth_sha256(const void *data, size_t len, uint8_t out[BERTH_SHA256_SIZE]);

/* Lower-case hex of @digest into @out (NUL-terminated). */
void berth_sha256_hex(const uint8_t digest[BERTH_SHA256_SIZE], char out[BERTH_SHA256_HEX_SIZE]);
