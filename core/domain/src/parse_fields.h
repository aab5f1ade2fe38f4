/*
 * parse_fields.h - field validators shared by the parsers of outside input
 * that parse_util.h does not have: RFC 3339 times, booleans, and quoting an
 * untrusted value for a detail sentence. Internal to libchiso: not an
 * installed header.
 *
 * Each returns 0, or CHISO_EINVAL with *rej (may be NULL) filled with the
 * contract reason and a sentence naming the field, so a parser can return
 * the result as it is.
 */
#ifndef CHISO_PARSE_FIELDS_H
#define CHISO_PARSE_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "chiso/event.h"
#include "chiso/vntime.h"

/* Epoch bounds of local years 0000..9999: every accepted time formats back
 * to RFC 3339. */
#define CHISO_PU_EPOCH_MIN (-62167219200LL - CHISO_VN_OFFSET_S)
#define CHISO_PU_EPOCH_MAX (253402300799LL - CHISO_VN_OFFSET_S)

/* `item` (the value of `field`, present) is an RFC 3339 string with an
 * offset inside CHISO_PU_EPOCH_MIN..MAX; *out receives epoch seconds.
 * Not a string -> bad_value; bad format or range -> bad_value. */
int chiso_pu_time_item(const cJSON *item, const char *field, int64_t *out, chiso_reject *rej);

/* The same check on a string already read: `s` NULL when the value is not
 * a string. */
int chiso_pu_time_str(const char *s, const char *field, int64_t *out, chiso_reject *rej);

/* Required time field `field` of records of type `type`: absent ->
 * missing_field ("required for type '<type>'"), else chiso_pu_time_item(). */
int chiso_pu_req_time(const cJSON *root, const char *field, const char *type, int64_t *out,
                      chiso_reject *rej);

/* Optional boolean: absent -> *out = false; present, a JSON boolean or
 * bad_value. */
int chiso_pu_opt_bool(const cJSON *root, const char *field, bool *out, chiso_reject *rej);

/* The same on a value already read: absent -> *out = false; present and a
 * boolean -> *out = value; else bad_value. */
int chiso_pu_bool_value(bool present, bool is_bool, bool value, const char *field, bool *out,
                        chiso_reject *rej);

/* Required boolean of records of type `type`: absent -> missing_field. */
int chiso_pu_req_bool(const cJSON *root, const char *field, const char *type, bool *out,
                      chiso_reject *rej);

/* At most 24 bytes of untrusted `s` for a detail sentence, printable ASCII
 * only ('?' for anything else, "..." when cut), so the sentence stays valid
 * UTF-8. Returns out. */
const char *chiso_pu_quote_safe(const char *s, char out[32]);

#endif
