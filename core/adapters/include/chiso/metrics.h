/*
 * metrics.h - Prometheus metrics: a registry of counters, gauges and
 * histograms, rendered in the text exposition format and served over HTTP
 * (/metrics, /healthz) by a libmicrohttpd thread.
 *
 * Updates are lock-free (C11 atomics) so the hot path never blocks on a
 * scrape. A metric name may carry labels: `chiso_deadletter_total{reason="bad_value"}`;
 * HELP and TYPE are written once per family (the name before '{').
 */
#ifndef CHISO_METRICS_H
#define CHISO_METRICS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef struct chiso_metrics chiso_metrics;
typedef struct chiso_counter chiso_counter;
typedef struct chiso_gauge chiso_gauge;
typedef struct chiso_histogram chiso_histogram;

/* Caller frees with chiso_metrics_destroy(), which also stops the server. */
chiso_metrics *chiso_metrics_new(void);
void chiso_metrics_destroy(chiso_metrics *m);

/* Register (or find, when the same name is registered again) a metric. The
 * registry owns it; the pointer stays valid until chiso_metrics_destroy(). */
chiso_counter *chiso_metrics_counter(chiso_metrics *m, const char *name, const char *help);
chiso_gauge *chiso_metrics_gauge(chiso_metrics *m, const char *name, const char *help);
/* `bounds` are the upper bounds of the buckets, ascending (copied). */
chiso_histogram *chiso_metrics_histogram(chiso_metrics *m, const char *name, const char *help,
                                         const double *bounds, int nbounds);

void chiso_counter_add(chiso_counter *c, uint64_t n);
uint64_t chiso_counter_value(const chiso_counter *c);
void chiso_gauge_set(chiso_gauge *g, double v);
void chiso_histogram_observe(chiso_histogram *h, double v);
/* The n values at v observed at once (NaN ignored, as by the one above). */
void chiso_histogram_observe_many(chiso_histogram *h, const double *v, size_t n);
/* Estimate quantile q (0..1) by linear interpolation inside the bucket. */
double chiso_histogram_quantile(const chiso_histogram *h, double q);

/* Render the text exposition format. Returns a string the caller frees with
 * free(), or NULL. */
char *chiso_metrics_render(chiso_metrics *m);

/* Serve /metrics and /healthz on bind_addr:port in a background thread.
 * Port 0 serves nothing and returns 0. Returns 0 or CHISO_EIO with errstr. */
int chiso_metrics_serve(chiso_metrics *m, const char *bind_addr, int port, char *errstr,
                        size_t errstr_size);

/* A libmicrohttpd external logger (MHD_OPTION_EXTERNAL_LOGGER) writing
 * each message as one warning line; `cls` is the prefix (a string such as
 * "metrics http"). */
void chiso_mhd_log(void *cls, const char *fmt, va_list ap);

#endif
