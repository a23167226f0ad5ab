/* cli/run_embedded.c — `run --embedded-mcp-stub`: start the MCP stub in
 * this process and bind it as `main` before the configuration is loaded,
 * so the usual "main channel required" validation sees it.
 *
 * The flags are found by a scan of argv that follows the loader's syntax
 * (`--name value`, `--name=value`, booleans as `--flag[=bool]`, `--` ends
 * the flags); tc_config_load then accepts them through the `extra` list
 * and rejects malformed ones with its usual errors. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/run_embedded.h"
#include "dev/mcp_stub.h"

static const struct tc_cmd_flag embedded_flags[] = {
    {"embedded-mcp-stub", false, NULL, NULL},
    {"embedded-mcp-listen-addr", true, NULL, NULL},
    {"embedded-mcp-server-name", true, NULL, NULL},
    {"embedded-mcp-server-version", true, NULL, NULL},
    {NULL, false, NULL, NULL},
};

const struct tc_cmd_flag *tc_run_embedded_flags(void) {
  return embedded_flags;
}

struct embedded_scan {
  bool enabled;
  const char *listen_addr, *server_name, *server_version;
  const char *conflict; /* spelling of an explicit binding flag */
};

/* Go's strconv.ParseBool; anything else leaves the flag off (the loader
 * reports it). */
static bool parse_bool(const char *v) {
  static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
    if (strcmp(v, yes[i]) == 0)
      return true;
  return false;
}

static bool name_is(const char *name, size_t len, const char *want) {
  return strlen(want) == len && memcmp(name, want, len) == 0;
}

static void scan(int argc, char **argv, struct embedded_scan *s) {
  static const char *const binding_flags[] = {
      "mcp.server-url", "mcp-server-url", "mcp.command", "mcp-command"};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0)
      return;
    if (strncmp(a, "--", 2) != 0)
      continue;
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    if (name_is(name, len, "embedded-mcp-stub")) {
      s->enabled = eq == NULL || parse_bool(eq + 1);
      continue;
    }
    const char **slot = NULL;
    if (name_is(name, len, "embedded-mcp-listen-addr"))
      slot = &s->listen_addr;
    else if (name_is(name, len, "embedded-mcp-server-name"))
      slot = &s->server_name;
    else if (name_is(name, len, "embedded-mcp-server-version"))
      slot = &s->server_version;
    if (slot != NULL) {
      if (eq != NULL)
        *slot = eq + 1;
      else if (i + 1 < argc)
        *slot = argv[++i];
      continue;
    }
    for (size_t k = 0; k < sizeof(binding_flags) / sizeof(binding_flags[0]);
         k++)
      if (s->conflict == NULL && name_is(name, len, binding_flags[k]))
        s->conflict = binding_flags[k];
  }
}

/* 1..256 printable bytes: serverInfo strings end up in JSON and logs. */
static bool plain_value(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > 256)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
      return false;
  return true;
}

static int fail(struct tc_run_embedded *e, int rc, char **err,
                const char *msg) {
  tc_run_embedded_release(e);
  *err = msg != NULL ? strdup(msg) : NULL;
  return rc;
}

int tc_run_embedded_prepare(struct tc_run_embedded *e, int argc, char **argv,
                            char **err) {
  memset(e, 0, sizeof(*e));
  *err = NULL;
  struct embedded_scan s = {false, "127.0.0.1:0", "mcp-stub", "0.1.0", NULL};
  scan(argc, argv, &s);

  int extra = s.enabled ? 2 : 0;
  e->argv = calloc((size_t)argc + (size_t)extra + 1, sizeof(*e->argv));
  if (e->argv == NULL)
    return fail(e, -1, err, NULL);
  for (int i = 0; i < argc; i++)
    e->argv[extra + i] = argv[i];
  e->argc = argc + extra;
  if (!s.enabled)
    return 0;

  if (s.conflict != NULL) {
    tc_run_embedded_release(e);
    if (asprintf(err,
                 "--embedded-mcp-stub conflicts with --%s: the embedded stub "
                 "is the main MCP binding; remove one of the two flags",
                 s.conflict) < 0)
      *err = NULL;
    return -1;
  }
  const char *why = NULL;
  if (tc_validate_listen_addr(s.listen_addr, &why) != 0) {
    tc_run_embedded_release(e);
    if (asprintf(err, "invalid --embedded-mcp-listen-addr \"%.64s\": %s",
                 s.listen_addr, why) < 0)
      *err = NULL;
    return -1;
  }
  if (!plain_value(s.server_name))
    return fail(e, -1, err,
                "invalid --embedded-mcp-server-name: use 1..256 printable "
                "characters");
  if (!plain_value(s.server_version))
    return fail(e, -1, err,
                "invalid --embedded-mcp-server-version: use 1..256 "
                "printable characters");

  struct tc_mcp_stub_options o = {.listen_addr = s.listen_addr,
                                  .server_name = s.server_name,
                                  .server_version = s.server_version};
  char *start_err = NULL;
  if (tc_mcp_stub_start(&e->stub, &o, &start_err) != 0) {
    tc_run_embedded_release(e);
    if (asprintf(err, "embedded MCP stub (--embedded-mcp-listen-addr): %s",
                 start_err != NULL ? start_err : "out of memory") < 0)
      *err = NULL;
    free(start_err);
    return -2;
  }
  if (asprintf(&e->binding, "channel=main,url=%s/mcp",
               tc_mcp_stub_base_url(e->stub)) < 0) {
    e->binding = NULL;
    return fail(e, -2, err, NULL);
  }
  e->argv[0] = "--mcp.server-url";
  e->argv[1] = e->binding;
  return 0;
}

void tc_run_embedded_release(struct tc_run_embedded *e) {
  tc_mcp_stub_stop(e->stub);
  free(e->argv);
  free(e->binding);
  memset(e, 0, sizeof(*e));
}
