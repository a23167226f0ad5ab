/* cli/run_embedded.h — `run --embedded-mcp-stub`: the MCP stub
 * (dev/mcp_stub.h) started in-process and bound as the main channel. */
#ifndef TC_CLI_RUN_EMBEDDED_H
#define TC_CLI_RUN_EMBEDDED_H

#include "config/config.h"

struct tc_mcp_stub;

struct tc_run_embedded {
  struct tc_mcp_stub *stub; /* NULL unless --embedded-mcp-stub */
  int argc;                 /* the argv to hand to tc_config_load */
  char **argv;              /* malloc()ed array; strings borrowed from the
                               caller's argv, except binding */
  char *binding;            /* "channel=main,url=<stub>/mcp", owned */
};

/* The four --embedded-mcp-* flags for tc_config_load's `extra` list (so
 * the loader accepts and syntax-checks them; their values are read by
 * tc_run_embedded_prepare). Static, NULL-terminated. */
const struct tc_cmd_flag *tc_run_embedded_flags(void);

/* Scan argv (up to a `--`) for the --embedded-mcp-* flags. Without
 * --embedded-mcp-stub, e->argv is argv unchanged (copied array). With it:
 * refuse an explicit --mcp.server-url/--mcp.command flag, start the stub
 * and put `--mcp.server-url channel=main,url=<stub>/mcp` in front of the
 * caller's flags. Call with signals already blocked (the stub's threads
 * inherit the mask). Returns 0; -1 for a configuration error (conflicting
 * or malformed flags) or -2 when the stub could not start, both with *err
 * (malloc()ed, one line, no "configure/start tunnel-client:" prefix; NULL
 * when out of memory) and *e released. */
int tc_run_embedded_prepare(struct tc_run_embedded *e, int argc, char **argv,
                            char **err);

/* Stop the stub (waits for its in-flight requests) and free; safe on a
 * zeroed or already released struct. */
void tc_run_embedded_release(struct tc_run_embedded *e);

#endif /* TC_CLI_RUN_EMBEDDED_H */
