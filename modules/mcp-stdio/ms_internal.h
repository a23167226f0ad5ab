/* ms_internal.h — pieces of the mcp-stdio module shared between its files.
 * Nothing here is exported from mcp-stdio.so (hidden visibility). */
#ifndef MS_INTERNAL_H
#define MS_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <tc/tc.h>

/* Split a command line shell-style, without a shell: whitespace separates
 * words; '...' is literal; inside "..." a backslash escapes the next
 * character; outside quotes a backslash escapes the next character.
 * Metacharacters (; | $ & < > and so on) stay literal.
 * On success *argv_out is a malloc()ed NULL-terminated vector of malloc()ed
 * words (free with ms_argv_free) and 0 is returned. On a syntax error
 * (unterminated quote or trailing backslash) or an empty command, returns
 * -1 with *why pointing at a static description; -2 on ENOMEM. */
int ms_argv_split(const char *cmd, char ***argv_out, const char **why);
void ms_argv_free(char **argv);

/* ---- ms_stderr.c: the child's stderr (limits, counters, last lines) ---- */

struct ms_stderr_limits {
  int64_t line_max;         /* bytes of a line that are kept */
  int64_t lines_per_second; /* token bucket rate */
  int64_t burst;            /* token bucket size */
  int64_t tail_lines;       /* lines kept for the admin API */
};

struct ms_tail_slot;

/* Per instance; survives child restarts. The reader thread updates it, the
 * admin API reads it; `lock` guards the ring and counters (never held
 * while logging or by the request path). */
struct ms_stderr {
  struct ms_stderr_limits lim;
  pthread_mutex_t lock;
  struct ms_tail_slot *ring; /* tail_lines slots */
  size_t next, count;
  uint64_t logged_lines, truncated_lines, dropped_lines, dropped_bytes;
  uint64_t reported_lines, reported_bytes; /* drops already summarized */
  double tokens; /* the reader's bucket (reader thread only) */
};

/* 0, or -1 on ENOMEM (nothing to destroy then). */
int ms_stderr_init(struct ms_stderr *s, const struct ms_stderr_limits *lim);
void ms_stderr_destroy(struct ms_stderr *s);
/* Read `fd` until EOF, logging through host->log as `channel`; one reader
 * per ms_stderr at a time (the child's stderr thread). */
void ms_stderr_drain(struct ms_stderr *s, int fd, long pid,
                     const struct tc_host *host, const char *channel);
/* {"logged_lines","dropped_lines","dropped_bytes","truncated_lines",
 *  "tail":[{"unix_ms","pid","text"}] oldest first,"limits":{...}};
 * new reference, NULL on ENOMEM. Any thread. */
json_t *ms_stderr_state(struct ms_stderr *s);

#endif /* MS_INTERNAL_H */
