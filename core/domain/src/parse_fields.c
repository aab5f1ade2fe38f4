/*
 * parse_fields.c - field validators shared by the parsers (parse_fields.h).
 */
#include "parse_fields.h"

#include "chiso/common.h"
#include "parse_util.h"

int chiso_pu_time_item(const cJSON *item, const char *field, int64_t *out, chiso_reject *rej)
{
    return chiso_pu_time_str(cJSON_IsString(item) ? item->valuestring : NULL, field, out, rej);
}

int chiso_pu_time_str(const char *s, const char *field, int64_t *out, chiso_reject *rej)
{
    if (!s)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be a string", field);
    if (chiso_time_parse(s, out) != 0)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field '%s' is not an RFC 3339 time with an offset", field);
    if (*out < CHISO_PU_EPOCH_MIN || *out > CHISO_PU_EPOCH_MAX)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE,
                               "field '%s' is outside local years 0000..9999", field);
    return 0;
}

int chiso_pu_req_time(const cJSON *root, const char *field, const char *type, int64_t *out,
                      chiso_reject *rej)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    if (!item)
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                               "field '%s' is required for type '%s'", field, type);
    return chiso_pu_time_item(item, field, out, rej);
}

int chiso_pu_opt_bool(const cJSON *root, const char *field, bool *out, chiso_reject *rej)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, field);
    return chiso_pu_bool_value(item != NULL, cJSON_IsBool(item), cJSON_IsTrue(item), field, out,
                               rej);
}

int chiso_pu_bool_value(bool present, bool is_bool, bool value, const char *field, bool *out,
                        chiso_reject *rej)
{
    if (!present) {
        *out = false;
        return 0;
    }
    if (!is_bool)
        return chiso_pu_reject(rej, CHISO_REJECT_BAD_VALUE, "field '%s' must be true or false",
                               field);
    *out = value;
    return 0;
}

int chiso_pu_req_bool(const cJSON *root, const char *field, const char *type, bool *out,
                      chiso_reject *rej)
{
    if (!cJSON_GetObjectItemCaseSensitive(root, field))
        return chiso_pu_reject(rej, CHISO_REJECT_MISSING_FIELD,
                               "field '%s' is required for type '%s'", field, type);
    return chiso_pu_opt_bool(root, field, out, rej);
}

const char *chiso_pu_quote_safe(const char *s, char out[32])
{
    size_t i;
    for (i = 0; s[i] && i < 24; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
    if (s[i])
        out[i++] = '.', out[i++] = '.', out[i++] = '.';
    out[i] = '\0';
    return out;
}
