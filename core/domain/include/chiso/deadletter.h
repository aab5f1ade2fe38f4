/*
 * deadletter.h - the dead-letter record of CONTRACT.md and base64.
 */
#ifndef CHISO_DEADLETTER_H
#define CHISO_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "chiso/event.h"

/* Dead letters carry at most this much of the original payload (base64
 * grows it by a third; Kafka's default message limit is 1 MB). */
#define CHISO_DEAD_PAYLOAD_MAX (512 * 1024)

/* Build the dead-letter JSON for a rejected record. `payload` is the original
 * bytes (may be NULL when len is 0), cut to CHISO_DEAD_PAYLOAD_MAX (the
 * detail then says so). Returns a NUL-terminated string; caller frees with
 * free(). NULL on out of memory. */
char *chiso_deadletter_json(const char *source_topic, int32_t partition, int64_t offset,
                            const chiso_reject *rej, const void *payload, size_t len,
                            int64_t at_epoch);

/* Standard base64 (RFC 4648, with padding). Encoded length is 4*ceil(len/3).
 * chiso_b64_encode writes a NUL-terminated string into out (size must be at
 * least chiso_b64_encoded_len(len) + 1) and returns its length. */
size_t chiso_b64_encoded_len(size_t len);
size_t chiso_b64_encode(const void *data, size_t len, char *out);
/* Decode; returns the decoded length or CHISO_EINVAL on bad input. out must
 * hold at least 3*strlen/4 bytes. */
long chiso_b64_decode(const char *in, size_t len, void *out);

#endif
