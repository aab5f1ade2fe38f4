/*
 * event_cjson.h - the cJSON-based event parser kept as a test oracle for
 * chiso_event_parse() (event_cjson.c).
 */
#ifndef CHISO_EVENT_CJSON_H
#define CHISO_EVENT_CJSON_H

#include <stddef.h>

#include "chiso/event.h"

/* chiso_event_parse() as it was with cJSON: same contract. */
int chiso_event_parse_cjson(const char *buf, size_t len, chiso_event *ev, chiso_reject *rej);

#endif
