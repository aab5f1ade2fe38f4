/*
 * upstream.h - forwarding a province's request, unchanged, to the national
 * portal (bridge.upstream.url) and bringing back the portal's answer, with
 * libcurl. The server ingests first (the events are durable in Kafka), then
 * forwards: a portal that is down, slow or wrong costs the province the
 * portal's answer, never chiso's copy.
 *
 *   - the request goes to base_url + path + "?" + query, as a POST with the
 *     body as given and only the allow-listed headers of the province
 *     (Content-Type, Accept, Charset, dstcode, Authorization); Host,
 *     Content-Length and the rest are the connection's own;
 *   - no redirect is followed, TLS peers are verified, the answer is read up
 *     to BRIDGE_UPSTREAM_ANSWER_MAX bytes, and every call is bounded by the
 *     connect and total timeouts;
 *   - thread-safe: the server's threads call bridge_upstream_post at once.
 *     Each call takes an easy handle from a small pool (a handle keeps its
 *     connection to the portal, so consecutive calls reuse it); the handles
 *     share the DNS and TLS session caches. libcurl does not support one
 *     connection cache shared by concurrent threads, hence the pool.
 *
 * libcurl's global state: the first bridge_upstream_new calls
 * curl_global_init and the last bridge_upstream_free curl_global_cleanup
 * (counted under a mutex of this module). A program that uses libcurl
 * elsewhere too calls curl_global_init itself, before its threads start.
 */
#ifndef CHISO_BRIDGE_UPSTREAM_H
#define CHISO_BRIDGE_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

/* The largest answer read from the portal; a bigger one is dropped and
 * counted as an http_error with the status 502 (Bad Gateway, what a proxy
 * answers then), the portal's own status in the note. */
#define BRIDGE_UPSTREAM_ANSWER_MAX     (1024 * 1024)
#define BRIDGE_UPSTREAM_TOO_BIG_STATUS 502

/* The idle easy handles (and so connections) kept between calls. */
#define BRIDGE_UPSTREAM_IDLE_MAX 16

typedef struct bridge_upstream bridge_upstream;

typedef enum bridge_upstream_outcome {
    BRIDGE_UP_OK = 0,      /* answered with a status below 400 */
    BRIDGE_UP_HTTP_ERROR,  /* answered with a status >= 400, or an answer too big */
    BRIDGE_UP_TIMEOUT,     /* no (whole) answer within the timeouts */
    BRIDGE_UP_UNREACHABLE, /* refused, DNS, reset, TLS, a broken answer */
    BRIDGE_UP_OUTCOME_COUNT
} bridge_upstream_outcome;

typedef struct bridge_upstream_answer {
    bridge_upstream_outcome outcome;
    long status;            /* the portal's HTTP status; 502 for an answer too big; 0 for a
                               timeout or unreachable */
    char *body;             /* the portal's answer body, malloc'd and NUL-terminated; NULL when
                               empty, too big, or no answer */
    size_t len;             /* bytes in body, the NUL not counted */
    char content_type[128]; /* the answer's Content-Type; "" when none (or longer than this) */
    double seconds;         /* the time the call took */
    char note[256];         /* for the log when outcome is not ok: what went wrong */
} bridge_upstream_answer;

/* A forwarder to base_url: http:// or https://, with a host, optionally a
 * port and a path, no query, fragment or user:password (the province's
 * Authorization header is what passes). Timeouts in milliseconds, both > 0:
 * connecting, and the whole call. Returns NULL with a sentence in errstr
 * (bad URL or timeouts, libcurl failing to start, OOM). */
bridge_upstream *bridge_upstream_new(const char *base_url, long connect_timeout_ms, long timeout_ms,
                                     char *errstr, size_t errstr_size);

/* Frees the forwarder; no call may be under way. NULL is allowed. */
void bridge_upstream_free(bridge_upstream *u);

/* Whether a request header of that name is passed to the portal
 * (case-insensitive): Content-Type, Accept, Charset, dstcode, Authorization. */
bool bridge_upstream_header_forwarded(const char *name);

/* POST body (len bytes; body may be NULL when len is 0) to base_url + path +
 * "?" + query.
 *   - path is the part of the province's URL after the bridge's root
 *     ("/DongBoHoSoMC"), may be "" or NULL (the base URL alone); a '/' is put
 *     between base and path when path has none, and the base's trailing '/'
 *     is not doubled;
 *   - query is the province's query string without the '?' (one is skipped),
 *     may be NULL or "" (no '?' then);
 *   - both pass as given, for byte-exact forwarding the raw (still
 *     percent-encoded) forms: a byte that cannot stand in a URL (controls,
 *     space, non-ASCII, "<>\^`{|}, '#', and '?' in the path) is
 *     percent-encoded, '%' and everything else is kept;
 *   - header_pairs is name, value, name, value, ..., NULL (may be NULL): the
 *     province's headers; those bridge_upstream_header_forwarded allows are
 *     sent unchanged (a value with CR or LF is dropped), the others ignored.
 *     libcurl adds no Content-Type, Accept or Expect of its own.
 * Returns 0 with *out filled whatever the portal did (outcome says; free
 * with bridge_upstream_answer_free), or an error for a local failure only:
 * CHISO_EINVAL (u or out NULL, or body NULL with len > 0), CHISO_ENOMEM, or
 * CHISO_EIO (libcurl refusing an option); out is then empty but for its
 * note, with the outcome unreachable. */
int bridge_upstream_post(bridge_upstream *u, const char *path, const char *query,
                         const char *const *header_pairs, const char *body, size_t len,
                         bridge_upstream_answer *out);

/* Frees the body and empties the answer. NULL is allowed. */
void bridge_upstream_answer_free(bridge_upstream_answer *a);

/* The outcome's label for metrics: "ok", "http_error", "timeout",
 * "unreachable" ("unknown" for anything else). */
const char *bridge_upstream_outcome_name(bridge_upstream_outcome outcome);

#endif
