/* util/redact.h — keep secrets out of logs, errors and metrics.
 *
 * Two layers: exact values registered at config time (API key, header
 * values, proxy credentials) are always replaced by "[REDACTED]"; and known
 * shapes are scrubbed wherever they appear: `Authorization: Bearer …`,
 * `Bearer <token>`, `X-Tunnel-Shard-Token: …`, `Cookie:`/`Set-Cookie:`
 * values, `sk-…` keys, query/form/JSON values of api_key, access_token,
 * refresh_token, id_token, client_secret, code, password, secret, shard_token,
 * and URL userinfo (`://user:pass@`).
 *
 * Threads: registration on the main thread before threads start (or under
 * its own lock afterwards); tc_redact() is safe from any thread. */
#ifndef TC_UTIL_REDACT_H
#define TC_UTIL_REDACT_H

#include <stddef.h>

/* Remember a secret value (copied). Values shorter than 4 bytes are ignored
 * (too likely to match ordinary text). */
void tc_redact_add_secret(const char *value);
/* Forget every registered secret (tests). */
void tc_redact_reset(void);

/* A malloc()ed copy of `in` with secrets replaced; NULL only on ENOMEM. */
char *tc_redact(const char *in);

/* The origin (scheme://host[:port]) of a URL, without userinfo, path, query
 * or fragment, written into out. Returns out; "<invalid url>" when it does
 * not parse. */
const char *tc_url_origin(const char *url, char *out, size_t outlen);

/* Non-zero when an attribute/field named `key` holds a secret and must be
 * blanked whole (ASCII case-insensitive, '-' == '_'): authorization, cookie,
 * set_cookie, x_tunnel_shard_token, shard_token, api_key, apikey,
 * access_token, refresh_token, id_token, client_secret, password, secret, ...
 * Added by the logging change (appended to the lead's contract). */
int tc_redact_key_is_secret(const char *key);

#endif /* TC_UTIL_REDACT_H */
