/* util/log.h — the process logger.
 *
 * One global logger, configured once on the main thread by tc_log_open()
 * (before threads start), then used from any thread: each line is formatted
 * into a private buffer, passed through tc_redact() (known secret values and
 * secret shapes), and written with a single write(2) so lines never
 * interleave. Until tc_log_open() runs, lines go to stderr at info level.
 *
 * Formats (enum tc_log_format in config/config.h):
 *   default      2026/11/22 10:00:00 INFO msg key=value
 *   struct-text  time=2026-11-22T10:00:00.123Z level=INFO msg="..." key=value
 *   json         {"time":"…","level":"INFO","msg":"…","key":"value"}
 */
#ifndef TC_UTIL_LOG_H
#define TC_UTIL_LOG_H

#include <stdarg.h>

#include "tc/host.h"   /* enum tc_log_level */
#include "tc/module.h" /* TC_PRINTF */

struct tc_log_options {
  int level;        /* enum tc_log_level */
  int format;       /* enum tc_log_format */
  const char *file; /* NULL = stdout; else appended, created 0600 */
};

/* Returns 0, or -1 with *err (malloc()ed) when the file cannot be opened. */
int tc_log_open(const struct tc_log_options *opt, char **err);
/* Flush and close the log file; later lines go to stderr. Main thread. */
void tc_log_close(void);

void tc_log_set_level(int level);
int tc_log_get_level(void);
int tc_log_enabled(int level);
/* Parse "debug|info|warn|error" (case-insensitive); -1 when unknown. */
int tc_log_level_parse(const char *name);
const char *tc_log_level_name(int level); /* "debug" ... */

/* Log `msg` with key/value attributes: the variadic part is pairs of
 * (const char *key, const char *value) terminated by a NULL key. A NULL
 * value is written as an empty string. `component` may be NULL. */
void tc_log(int level, const char *component, const char *msg, ...);
/* printf-style message, no attributes. */
void tc_logf(int level, const char *component, const char *fmt, ...)
    TC_PRINTF(3, 4);
void tc_logv(int level, const char *component, const char *fmt, va_list ap)
    TC_PRINTF(3, 0);

/* Observer for every emitted (already redacted) line — the admin log ring
 * buffer and tests use it. Called with the logger's lock held: keep it short,
 * never log from it. NULL removes it. */
typedef void (*tc_log_observer_fn)(void *ud, int level, const char *line);
void tc_log_set_observer(tc_log_observer_fn fn, void *ud);

/* ---- the admin log ring buffer (/api/logs) -------------------------------
 * When enabled, every emitted line is also kept, in a structured form, in a
 * ring of the last `capacity` lines. Each entry gets a sequence number
 * (1, 2, ... for the life of the process; never reused, also across a
 * resize). Text is the message followed by " key=value" attributes, already
 * redacted like the output line. Threads: any; entries are copied out. */
struct tc_log_entry {
  unsigned long long seq;
  char time[32];   /* RFC 3339 UTC with milliseconds */
  int level;       /* enum tc_log_level */
  char *component; /* "" when none */
  char *text;
};

/* Keep the last `capacity` lines (>= 1); lines already kept are carried
 * over up to the new capacity. 0, or -1 on ENOMEM. */
int tc_log_ring_enable(size_t capacity);
/* Drop the ring and its lines; numbering resumes on the next enable. */
void tc_log_ring_disable(void);
/* Copy up to `limit` entries with seq > since, oldest first, into *out
 * (malloc()ed array; free with tc_log_entries_free). Returns the count, or
 * (size_t)-1 on ENOMEM. *next is the cursor for the next call: the last
 * copied seq, else `since` capped at the newest seq. */
size_t tc_log_ring_read(unsigned long long since, size_t limit,
                        struct tc_log_entry **out, unsigned long long *next);
void tc_log_entries_free(struct tc_log_entry *e, size_t n);

#endif /* TC_UTIL_LOG_H */
