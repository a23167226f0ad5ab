/* controlplane/server_info.c — see server_info.h. */
#include "controlplane/server_info.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

static char *fail(char **err, const char *fmt, ...) TC_PRINTF(2, 3);
static char *fail(char **err, const char *fmt, ...) {
  if (err != NULL) {
    struct tc_sbuf b = TC_SBUF_INIT;
    va_list ap;
    tc_sbuf_puts(&b, "cannot build the X-Tunnel-MCP-Server-Info header: ");
    va_start(ap, fmt);
    tc_sbuf_vprintf(&b, fmt, ap);
    va_end(ap);
    *err = tc_sbuf_finish(&b);
  }
  return NULL;
}

static bool canonical_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return false;
  }
  return true;
}

static bool allowed(const char *name, const char *const *allow, size_t n) {
  if (n == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (allow[i] != NULL && strcmp(allow[i], name) == 0)
      return true;
  return false;
}

char *tc_cp_server_info_build(const struct tc_cp_server_channel *channels,
                              size_t count, const char *const *allowlist,
                              size_t allow_count, bool harpoon_routable,
                              char **err) {
  const char *names[TC_SERVER_INFO_MAX_CHANNELS + 1];
  bool affinity[TC_SERVER_INFO_MAX_CHANNELS + 1];
  size_t n = 0;
  if (err != NULL)
    *err = NULL;

  for (size_t i = 0; i <= count; i++) {
    const char *name;
    bool pa;
    if (i < count) {
      name = channels[i].name != NULL ? channels[i].name : "";
      pa = channels[i].proc_affinity;
    } else if (harpoon_routable) {
      name = "harpoon";
      pa = true;
    } else {
      break;
    }
    if (!allowed(name, allowlist, allow_count))
      continue;
    if (!canonical_name(name))
      return fail(err,
                  "channel name \"%.64s\" is not canonical (use 1 to 64 of "
                  "a-z, 0-9, '_' or '-')",
                  name);
    for (size_t k = 0; k < n; k++)
      if (strcmp(names[k], name) == 0)
        return fail(
            err, "channel \"%s\" appears twice (bind each channel once)", name);
    if (n == TC_SERVER_INFO_MAX_CHANNELS)
      return fail(err,
                  "more than %d channels (remove bindings, or list fewer "
                  "in control_plane.poll_channels)",
                  TC_SERVER_INFO_MAX_CHANNELS);
    names[n] = name;
    affinity[n] = pa;
    n++;
  }
  if (n == 0)
    return fail(err,
                "no channel to advertise (bind at least one MCP server, and "
                "make control_plane.poll_channels name a bound channel)");

  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "{\"version\":1,\"channels\":[");
  for (size_t k = 0; k < n; k++)
    tc_sbuf_printf(&b, "%s{\"name\":\"%s\"%s}", k ? "," : "", names[k],
                   affinity[k] ? ",\"proc_affinity\":true" : "");
  tc_sbuf_puts(&b, "]}");
  char *out = tc_sbuf_finish(&b);
  if (out == NULL)
    return fail(err, "out of memory");
  size_t len = strlen(out);
  if (len > TC_SERVER_INFO_MAX_BYTES) {
    free(out);
    return fail(err,
                "the value is %zu bytes, over the 4096-byte limit (use "
                "shorter channel names or fewer bindings)",
                len);
  }
  return out;
}

char *tc_cp_server_info_from_config(const struct tc_config *cfg,
                                    bool harpoon_routable, char **err) {
  struct tc_cp_server_channel *ch =
      calloc(cfg->binding_count ? cfg->binding_count : 1, sizeof(*ch));
  if (ch == NULL)
    return fail(err, "out of memory");
  for (size_t i = 0; i < cfg->binding_count; i++) {
    ch[i].name = cfg->bindings[i].channel;
    ch[i].proc_affinity = cfg->bindings[i].transport != NULL &&
                          strcmp(cfg->bindings[i].transport, "stdio") == 0;
  }
  char *out = tc_cp_server_info_build(
      ch, cfg->binding_count, (const char *const *)cfg->cp_poll_channels,
      cfg->cp_poll_channel_count, harpoon_routable, err);
  free(ch);
  return out;
}
