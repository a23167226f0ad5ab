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

/* ---- JSON-RPC text (ms_json.c) ------------------------------------------
 * Messages are looked into with host->json_members (ABI 1.4) and rewritten
 * by splicing bytes: never decoded and re-encoded, so ids and numbers of
 * any size pass, and every byte but the id is forwarded as it came. */

/* A value's exact JSON text inside a message, or {NULL, 0}. */
struct ms_span {
  const char *p;
  size_t n;
};

/* The members of a message the transport routes by. */
struct ms_view {
  struct ms_span id, method;
  struct ms_span progress; /* params._meta.progressToken or
                              params.progressToken */
  int has_result, has_error;
};
/* 0 with *v filled, or -1 when [msg, msg + len) is not one JSON object. */
int ms_view(const struct tc_host *host, const char *msg, size_t len,
            struct ms_view *v);
int ms_is_null(struct ms_span s);
/* Is the method token exactly the string `name` (no escapes)? */
int ms_method_is(struct ms_span method, const char *name);
/* Same progress token? Equal texts, or strings with the same decoded
 * value. */
int ms_token_equal(struct ms_span a, struct ms_span b);
/* A copy of [msg, msg + len) with `old` (a span inside it) replaced by
 * `with`, line breaks turned into blanks and a '\n' appended: one line for
 * the child. *out_len counts the '\n'. NULL on ENOMEM. */
char *ms_splice_line(const char *msg, size_t len, struct ms_span old,
                     const char *with, size_t with_len, size_t *out_len);
/* Replace [id_off, id_off + id_len) of buf (len bytes, capacity *cap) by
 * `with`, in place (realloc()ed when it needs to grow); NUL-terminated.
 * Returns the buffer, or NULL on ENOMEM (buf untouched). */
char *ms_splice_in_place(char *buf, size_t len, size_t *cap, size_t id_off,
                         size_t id_len, const char *with, size_t with_len);
/* The internal (positive integer) id of a reply that is too large to keep,
 * from its first or last bytes when it is laid out the usual ways
 * ({"jsonrpc":"2.0","id":N,... or ...,"id":N}); 0 when not found. */
uint64_t ms_peek_head_id(const char *s, size_t n);
uint64_t ms_peek_tail_id(const char *s, size_t n);

#endif /* MS_INTERNAL_H */
