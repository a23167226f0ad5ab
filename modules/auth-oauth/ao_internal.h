/* ao_internal.h — shared by the auth-oauth module's files: auth_oauth.c
 * (hook, state, commands, admin state), ao_fetch.c (one bounded HTTP
 * exchange with same-origin redirects) and ao_discovery.c (PRMD discovery
 * and authorization-server enrichment). Not part of the SDK. */
#ifndef TC_AO_INTERNAL_H
#define TC_AO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <tc/tc.h>

#define AO_MAX_BODY (1024u * 1024u)
#define AO_MAX_REDIRECTS 10

/* One HTTP exchange. */
struct ao_fetch {
  long status;   /* 0 when no HTTP answer */
  int timed_out; /* the failure was a timeout */
  char *error;   /* malloc()ed one-line cause (origin only), or NULL */
  char *body;    /* malloc()ed, NUL-terminated, may be NULL */
  size_t body_len;
  char *content_type;        /* malloc()ed or NULL */
  char *www_authenticate;    /* malloc()ed or NULL */
  struct tc_headers headers; /* all response headers of the final answer */
  char *final_url;           /* after redirects (malloc()ed) */
};

void ao_fetch_free(struct ao_fetch *f);

/* Static headers for discovery requests ("Name: value" lines), added only
 * to requests whose origin is `origin` (the MCP server's): the WWW-
 * Authenticate probe and PRMD GETs. Auth-server metadata gets none. */
struct ao_scope {
  const char *origin;
  const char *headers; /* may be NULL or "" */
};

/* GET (or POST with an empty body when post != 0) `url` with Accept:
 * application/json and the tunnel-client User-Agent, through the net hooks
 * (TC_NET_OAUTH_METADATA), following same-origin redirects only (at most
 * 10), body capped at 1 MiB, within timeout_ms. `cancel` (may be NULL)
 * is polled (atomically) during the transfer: non-zero aborts it. `scope`
 * (may be NULL) adds its headers to same-origin requests. Always fills *f. */
void ao_fetch_url(const struct tc_host *host, const char *url, int post,
                  int64_t timeout_ms, const int *cancel,
                  const struct ao_scope *scope, struct ao_fetch *f);

/* "scheme://host[:port]" of url (malloc()ed) and the path (malloc()ed,
 * "" when none; query/fragment dropped). 0 or -1. */
int ao_split_url(const char *url, char **origin, char **path);
/* Non-zero when `u` is an absolute http(s) URL with a host, written with
 * "http://" or "https://". */
int ao_is_http_url(const char *u);

/* resource_metadata of the Bearer challenge in a WWW-Authenticate value
 * (quoted or token; must be an http(s) URL): malloc()ed, or NULL. */
char *ao_resource_metadata(const char *www_authenticate);

/* Discovery results (owned JSON, for the admin state). */
struct ao_result {
  int state;           /* enum ao_state */
  char *detail;        /* malloc()ed reason for failed/no_oauth */
  json_t *www;         /* {"status","resource_metadata"} or NULL */
  json_t *attempts;    /* array of {"url","status","error"} */
  json_t *prmd;        /* {"url","status","body"(object)} or NULL */
  json_t *auth_server; /* enrichment record or NULL */
  json_t *warnings;    /* array of strings */
  /* the winning PRMD exchange (for oauth_discovery_response) */
  struct ao_fetch winner;
  int has_winner;
};

enum ao_state { AO_PENDING = 0, AO_READY, AO_NO_OAUTH, AO_FAILED };

void ao_result_init(struct ao_result *r);
void ao_result_free(struct ao_result *r);

/* The discovery round of mcp-oauth-ops.md §4.1 for `mcp_url` within
 * budget_ms; with enrich != 0 also §4.2 for authorization_servers[0].
 * Stops early (state failed, "canceled") once *cancel is non-zero. */
void ao_discover(const struct tc_host *host, const char *mcp_url,
                 int64_t budget_ms, int enrich, const int *cancel,
                 const char *headers, struct ao_result *r);

#endif /* TC_AO_INTERNAL_H */
