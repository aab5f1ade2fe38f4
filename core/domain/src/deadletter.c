/*
 * deadletter.c - the dead-letter record of CONTRACT.md, and base64.
 *
 * A record that fails validation is never dropped: it is republished on the
 * `deadletter` topic as one JSON object carrying where it came from (topic,
 * partition, offset), why it was rejected (the contract reason code and a
 * sentence) and its exact original bytes in standard base64, so an operator
 * can fix and replay it byte for byte.
 *
 * base64 is RFC 4648 section 4 (alphabet A-Z a-z 0-9 + /, '=' padding). The
 * decoder is strict: length a multiple of 4, padding only at the end, no
 * whitespace, and unused bits of the last group zero, so every accepted
 * string is the one chiso_b64_encode would have written.
 */
#include "chiso/deadletter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chiso/common.h"
#include "chiso/vntime.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t chiso_b64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

size_t chiso_b64_encode(const void *data, size_t len, char *out)
{
    const unsigned char *p = data;
    size_t i = 0, o = 0;

    for (; i + 3 <= len; i += 3) {
        uint32_t g = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64_alphabet[g >> 18];
        out[o++] = b64_alphabet[(g >> 12) & 63];
        out[o++] = b64_alphabet[(g >> 6) & 63];
        out[o++] = b64_alphabet[g & 63];
    }
    if (len - i == 1) {
        uint32_t g = (uint32_t)p[i] << 16;
        out[o++] = b64_alphabet[g >> 18];
        out[o++] = b64_alphabet[(g >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t g = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64_alphabet[g >> 18];
        out[o++] = b64_alphabet[(g >> 12) & 63];
        out[o++] = b64_alphabet[(g >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* Value of one alphabet character, or -1. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long chiso_b64_decode(const char *in, size_t len, void *out)
{
    unsigned char *o = out;
    size_t i, n = 0;

    if (len % 4 != 0)
        return CHISO_EINVAL;
    for (i = 0; i < len; i += 4) {
        int a = b64_value((unsigned char)in[i]);
        int b = b64_value((unsigned char)in[i + 1]);
        int c = b64_value((unsigned char)in[i + 2]);
        int d = b64_value((unsigned char)in[i + 3]);
        int last = i + 4 == len;
        uint32_t g;

        if (a < 0 || b < 0)
            return CHISO_EINVAL;
        if (last && in[i + 2] == '=' && in[i + 3] == '=') {
            if (b & 15) /* unused bits must be zero */
                return CHISO_EINVAL;
            o[n++] = (unsigned char)(a << 2 | b >> 4);
            break;
        }
        if (c < 0)
            return CHISO_EINVAL;
        if (last && in[i + 3] == '=') {
            if (c & 3)
                return CHISO_EINVAL;
            g = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
            o[n++] = (unsigned char)(g >> 16);
            o[n++] = (unsigned char)(g >> 8);
            break;
        }
        if (d < 0)
            return CHISO_EINVAL;
        g = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        o[n++] = (unsigned char)(g >> 16);
        o[n++] = (unsigned char)(g >> 8);
        o[n++] = (unsigned char)g;
    }
    return (long)n;
}

char *chiso_deadletter_json(const char *source_topic, int32_t partition, int64_t offset,
                            const chiso_reject *rej_in, const void *payload, size_t len,
                            int64_t at_epoch)
{
    chiso_reject cut = *rej_in;
    const chiso_reject *rej = &cut;
    if (len > CHISO_DEAD_PAYLOAD_MAX) {
        size_t used = strlen(cut.detail);
        snprintf(cut.detail + used, sizeof(cut.detail) - used,
                 " (payload cut to its first %d of %zu bytes)", CHISO_DEAD_PAYLOAD_MAX, len);
        len = CHISO_DEAD_PAYLOAD_MAX;
    }
    cJSON *root = NULL;
    char *b64 = NULL, *text = NULL;
    char at[CHISO_TIME_STRLEN];

    b64 = malloc(chiso_b64_encoded_len(len) + 1);
    root = cJSON_CreateObject();
    if (!b64 || !root)
        goto out;
    chiso_b64_encode(payload ? payload : "", payload ? len : 0, b64);
    chiso_time_format(at_epoch, at);

    /* A failed cJSON_Add* returns NULL and adds nothing; the size check
     * below catches it. Offsets are exact as JSON numbers up to 2^53. */
    cJSON_AddNumberToObject(root, "v", 1);
    cJSON_AddStringToObject(root, "source_topic", source_topic ? source_topic : "");
    cJSON_AddNumberToObject(root, "partition", partition);
    cJSON_AddNumberToObject(root, "offset", (double)offset);
    cJSON_AddStringToObject(root, "reason",
                            chiso_reject_code(rej ? rej->reason : CHISO_REJECT_NONE));
    cJSON_AddStringToObject(root, "detail", rej ? rej->detail : "");
    cJSON_AddStringToObject(root, "payload_b64", b64);
    cJSON_AddStringToObject(root, "at", at);
    if (cJSON_GetArraySize(root) != 8)
        goto out;
    text = cJSON_PrintUnformatted(root); /* cJSON's default allocator is malloc */

out:
    cJSON_Delete(root);
    free(b64);
    return text;
}
