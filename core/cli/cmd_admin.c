/* cli/cmd_admin.c — `admin tunnels create|list|get|update|delete`: tunnel
 * CRUD over the management API (reference/cli.md §8).
 *
 * Key rules (cmd_admin_api.h): --admin-key takes only env:NAME or file:PATH;
 * otherwise OPENAI_ADMIN_KEY. Only `get` and `list` fall back to the runtime
 * key (CONTROL_PLANE_API_KEY, then OPENAI_API_KEY); writes refuse it, even
 * when passed as --admin-key env:CONTROL_PLANE_API_KEY or when the admin key
 * has the same value. `delete` needs --confirm. Output: text, or --json
 * (the API object plus request_id). API errors: one line on stderr (text)
 * or {"error":{...}} on stdout (--json); exit 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_admin_api.h"
#include "config/config_internal.h"

const char tc_admin_usage[] =
    "Usage: tunnel-client admin tunnels <command> [flags]\n"
    "\n"
    "Manage tunnels over the management API with an admin API key.\n"
    "\n"
    "Commands:\n"
    "  create --name N --description D (--organization-id ID | "
    "--workspace-id ID)...\n"
    "  list   (--organization-id ID | --workspace-id ID | --tenant-id ID)\n"
    "  get    TUNNEL_ID\n"
    "  update TUNNEL_ID [--name N] [--description D] [--organization-id "
    "ID]...\n"
    "         [--workspace-id ID]...      (ID lists replace the current "
    "ones)\n"
    "  delete TUNNEL_ID --confirm\n"
    "\n"
    "Flags (every command):\n"
    "  --admin-key env:NAME|file:PATH  the admin key (default: "
    "$OPENAI_ADMIN_KEY);\n"
    "                                  a literal key is refused\n"
    "  --control-plane.base-url URL    (default $CONTROL_PLANE_BASE_URL or\n"
    "                                  https://api.openai.com)\n"
    "  --control-plane.url-path /P     (default $CONTROL_PLANE_URL_PATH)\n"
    "  --json                          print the API objects as JSON\n"
    "\n"
    "Key rules: get and list may fall back to the runtime key\n"
    "(CONTROL_PLANE_API_KEY, then OPENAI_API_KEY) when no admin key is set;\n"
    "create, update and delete never use the runtime key.\n"
    "\n"
    "Examples:\n"
    "  export OPENAI_ADMIN_KEY=...\n"
    "  tunnel-client admin tunnels create --name prod-mcp --description "
    "'Prod MCP' \\\n"
    "    --organization-id org-123\n"
    "  tunnel-client admin tunnels list --organization-id org-123 --json\n"
    "  tunnel-client admin tunnels update tunnel_0123... --name renamed\n"
    "  tunnel-client admin tunnels delete tunnel_0123... --confirm\n"
    "\n"
    "Exit codes: 0 ok, 1 usage, key or API error (errors name the HTTP "
    "status,\n"
    "error code, message and x-request-id).\n";

struct admin_flags {
  char *admin_key, *base, *path, *name, *description;
  struct tc_strlist orgs, workspaces, tenants;
  bool json, confirm, help;
  char *pos[2];
  size_t npos;
};

static void admin_flags_free(struct admin_flags *f) {
  tc_strlist_free(&f->orgs);
  tc_strlist_free(&f->workspaces);
  tc_strlist_free(&f->tenants);
}

/* Duplicates among repeated --organization-id / --workspace-id values. */
static const char *first_duplicate(const struct tc_strlist *l) {
  for (size_t i = 0; i < l->n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(l->items[i], l->items[j]) == 0)
        return l->items[i];
  return NULL;
}

static json_t *strlist_json(const struct tc_strlist *l) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < l->n; i++)
    json_array_append_new(a, json_string(l->items[i]));
  return a;
}

static void print_list_line(const char *label, const json_t *a) {
  if (json_array_size(a) == 0)
    return;
  printf("  %-15s", label);
  for (size_t i = 0; i < json_array_size(a); i++)
    printf("%s%s", i ? ", " : "", json_string_value(json_array_get(a, i)));
  printf("\n");
}

static void print_tunnel(const json_t *t) {
  const char *s;
  printf("Tunnel %s\n", json_string_value(json_object_get(t, "id")));
  s = json_string_value(json_object_get(t, "name"));
  printf("  %-15s%s\n", "Name:", s ? s : "");
  s = json_string_value(json_object_get(t, "description"));
  printf("  %-15s%s\n", "Description:", s ? s : "");
  s = json_string_value(json_object_get(t, "creator"));
  if (s != NULL)
    printf("  %-15s%s\n", "Creator:", s);
  print_list_line("Organizations:", json_object_get(t, "organization_ids"));
  print_list_line("Workspaces:", json_object_get(t, "workspace_ids"));
  print_list_line("Tenants:", json_object_get(t, "tenant_ids"));
}

/* Validate a path segment id: no '/', '?', '#', spaces, 1..128 chars. */
static int id_ok(const char *id) {
  size_t n = strlen(id);
  return n > 0 && n <= 128 && strpbrk(id, "/?#% \t\r\n") == NULL;
}

static int do_request(const char *cmd, struct tc_admin_api *api,
                      const struct admin_flags *f, const char *method,
                      const char *route, const json_t *body, json_t **out) {
  struct tc_admin_reply r;
  if (tc_admin_request(api, method, route, body, &r) != 0) {
    (void)cmd;
    tc_admin_render_error(method, route, &r, f->json);
    tc_admin_reply_clear(&r);
    return -1;
  }
  if (r.request_id != NULL)
    json_object_set_new(r.json, "request_id", json_string(r.request_id));
  *out = json_incref(r.json);
  tc_admin_reply_clear(&r);
  return 0;
}

static int run_tunnels(const char *sub, struct admin_flags *f) {
  char cmdname[48];
  snprintf(cmdname, sizeof(cmdname), "admin tunnels %s", sub);
  const char *cmd = cmdname;
  bool is_create = strcmp(sub, "create") == 0;
  bool is_list = strcmp(sub, "list") == 0;
  bool is_get = strcmp(sub, "get") == 0;
  bool is_update = strcmp(sub, "update") == 0;
  bool is_delete = strcmp(sub, "delete") == 0;
  if (!is_create && !is_list && !is_get && !is_update && !is_delete)
    return tc_cli_fail("admin tunnels",
                       "unknown command \"%.64s\"; commands are create, "
                       "list, get, update and delete",
                       sub);
  bool needs_id = is_get || is_update || is_delete;
  if (needs_id && f->npos != 1)
    return tc_cli_fail(cmd, "needs exactly one TUNNEL_ID argument");
  if (!needs_id && f->npos != 0)
    return tc_cli_fail(cmd, "unexpected argument \"%.64s\"", f->pos[0]);
  if (needs_id && !id_ok(f->pos[0]))
    return tc_cli_fail(cmd, "invalid tunnel id \"%.64s\"", f->pos[0]);
  const char *dup = first_duplicate(&f->orgs);
  if (dup == NULL)
    dup = first_duplicate(&f->workspaces);
  if (dup != NULL)
    return tc_cli_fail(cmd, "duplicate id \"%.64s\"; give each id once", dup);
  if (is_delete && !f->confirm)
    return tc_cli_fail(cmd,
                       "refusing to delete %s without --confirm (the "
                       "tunnel and its connector stop working)",
                       f->pos[0]);
  if (is_create) {
    if (f->name == NULL || f->name[0] == '\0')
      return tc_cli_fail(cmd, "--name is required");
    if (f->description == NULL)
      return tc_cli_fail(cmd, "--description is required");
    if (f->orgs.n == 0 && f->workspaces.n == 0)
      return tc_cli_fail(cmd, "give at least one --organization-id or "
                              "--workspace-id");
  }
  if (is_update && f->name == NULL && f->description == NULL &&
      f->orgs.n == 0 && f->workspaces.n == 0)
    return tc_cli_fail(cmd, "nothing to update: give --name, --description, "
                            "--organization-id or --workspace-id");
  if (is_list &&
      (f->orgs.n > 0) + (f->workspaces.n > 0) + (f->tenants.n > 0) != 1)
    return tc_cli_fail(cmd, "give exactly one scope: --organization-id, "
                            "--workspace-id or --tenant-id");

  struct tc_admin_api api = {0};
  char *err = NULL;
  bool write = is_create || is_update || is_delete;
  if (tc_admin_api_base(&api, f->base, f->path, NULL, NULL, &err) != 0 ||
      tc_admin_api_key(&api, f->admin_key, NULL, !write, write, &err) != 0) {
    tc_cli_fail(cmd, "%s", err ? err : "out of memory");
    free(err);
    tc_admin_api_clear(&api);
    return 1;
  }

  char *route = NULL, *esc = NULL;
  json_t *body = NULL, *out = NULL;
  const char *method = "GET";
  if (is_create) {
    method = "POST";
    route = tc_cfg_strdup("/v1/tunnels");
    body =
        json_pack("{s:s,s:s}", "name", f->name, "description", f->description);
    if (f->orgs.n)
      json_object_set_new(body, "organization_ids", strlist_json(&f->orgs));
    if (f->workspaces.n)
      json_object_set_new(body, "workspace_ids", strlist_json(&f->workspaces));
  } else if (is_list) {
    const char *k = f->orgs.n         ? "organization_id"
                    : f->workspaces.n ? "workspace_id"
                                      : "tenant_id";
    const char *v = f->orgs.n         ? f->orgs.items[0]
                    : f->workspaces.n ? f->workspaces.items[0]
                                      : f->tenants.items[0];
    esc = tc_url_escape(v);
    route = tc_cfg_printf("/v1/tunnels?%s=%s", k, esc ? esc : "");
  } else {
    esc = tc_url_escape(f->pos[0]);
    route = tc_cfg_printf("/v1/tunnels/%s", esc ? esc : "");
    if (is_delete)
      method = "DELETE";
    if (is_update) {
      method = "POST";
      body = json_object();
      if (f->name)
        json_object_set_new(body, "name", json_string(f->name));
      if (f->description)
        json_object_set_new(body, "description", json_string(f->description));
      if (f->orgs.n)
        json_object_set_new(body, "organization_ids", strlist_json(&f->orgs));
      if (f->workspaces.n)
        json_object_set_new(body, "workspace_ids",
                            strlist_json(&f->workspaces));
    }
  }
  int rc = 1;
  if (route == NULL || ((is_create || is_update) && body == NULL)) {
    tc_cli_fail(cmd, "out of memory");
  } else if (do_request(cmd, &api, f, method, route, body, &out) == 0) {
    rc = 0;
    if (f->json) {
      tc_print_json(json_incref(out));
    } else if (is_list) {
      const json_t *ts = json_object_get(out, "tunnels");
      if (json_array_size(ts) == 0)
        printf("No tunnels in this scope.\n");
      for (size_t i = 0; i < json_array_size(ts); i++) {
        if (i)
          printf("\n");
        print_tunnel(json_array_get(ts, i));
      }
    } else if (is_delete) {
      printf("Deleted tunnel %s\n", f->pos[0]);
    } else {
      print_tunnel(out);
      if (is_create)
        printf("\nThe new tunnel can take 25-30 seconds to become usable; "
               "wait before\nconnecting a tunnel-client to it.\n");
    }
    if (!f->json) {
      const char *rid = json_string_value(json_object_get(out, "request_id"));
      if (rid != NULL)
        printf("(x-request-id: %s)\n", rid);
    }
  }
  json_decref(out);
  json_decref(body);
  free(route);
  free(esc);
  tc_admin_api_clear(&api);
  return rc;
}

int tc_cmd_admin(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
      strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
    fputs(tc_admin_usage, argc < 1 ? stderr : stdout);
    return argc < 1 ? 1 : 0;
  }
  if (strcmp(argv[0], "tunnels") != 0)
    return tc_cli_fail("admin",
                       "unknown command \"%.64s\"; the only group is "
                       "'tunnels' (see 'tunnel-client admin --help')",
                       argv[0]);
  if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
    fputs(tc_admin_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  struct admin_flags f = {0};
  const struct tc_opt opts[] = {
      {"--admin-key", TC_OPT_STR, &f.admin_key},
      {"--control-plane.base-url", TC_OPT_STR, &f.base},
      {"--control-plane-base-url", TC_OPT_STR, &f.base},
      {"--control-plane.url-path", TC_OPT_STR, &f.path},
      {"--control-plane-url-path", TC_OPT_STR, &f.path},
      {"--name", TC_OPT_STR, &f.name},
      {"--description", TC_OPT_STR, &f.description},
      {"--organization-id", TC_OPT_LIST, &f.orgs},
      {"--workspace-id", TC_OPT_LIST, &f.workspaces},
      {"--tenant-id", TC_OPT_LIST, &f.tenants},
      {"--json", TC_OPT_BOOL, &f.json},
      {"--confirm", TC_OPT_BOOL, &f.confirm},
  };
  char cmd[48];
  snprintf(cmd, sizeof(cmd), "admin tunnels %.20s", argv[1]);
  int rc;
  if (tc_opts_parse(cmd, opts, sizeof(opts) / sizeof(opts[0]), argc - 2,
                    argv + 2, f.pos, 2, &f.npos, &f.help) != 0)
    rc = 1;
  else if (f.help) {
    fputs(tc_admin_usage, stdout);
    rc = 0;
  } else
    rc = run_tunnels(argv[1], &f);
  admin_flags_free(&f);
  return rc;
}
