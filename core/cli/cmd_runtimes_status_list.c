/* cli/cmd_runtimes_status_list.c — `runtimes status A` (the local view plus
 * a read-only lookup of the alias's tunnel with the first key reference
 * that resolves) and `runtimes list` (every alias, and with a scope flag
 * the remote tunnels of that scope matched to local aliases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "config/config_internal.h"

int tc_rt_cmd_status(struct tc_rt_flags *f) {
  const char *cmd = "runtimes status";
  char *alias;
  struct tc_rt_ctx c;
  int orc = tc_rt_open_one_alias(cmd, f, &alias, &c);
  if (orc != 0)
    return orc;
  int rc = 0;
  struct tc_rt_view v;
  tc_rt_view_build(&c, alias, &v);
  if (v.arec == NULL && v.prec == NULL) {
    if (f->json) {
      tc_print_json(json_pack("{s:s,s:s,s:s}", "alias", alias, "error",
                              "unknown alias", "runtime_state", "stopped"));
      rc = 2;
    } else {
      rc = tc_cli_fail(cmd,
                       "unknown alias %s; see 'tunnel-client runtimes "
                       "list'",
                       alias);
    }
    goto out;
  }
  json_t *o = tc_rt_view_json(&v);
  /* Read-only remote lookup, first key that resolves. */
  const char *tid = v.arec ? tc_rt_sget(v.arec, "tunnel_id") : NULL;
  json_t *remote = NULL;
  long rstatus = 0;
  char *rerr = NULL;
  if (tid != NULL) {
    const char *refs[] = {v.arec ? tc_rt_sget(v.arec, "runtime_api_key_ref")
                                 : NULL,
                          "env:CONTROL_PLANE_API_KEY", "env:OPENAI_API_KEY",
                          "env:OPENAI_ADMIN_KEY"};
    for (size_t i = 0; i < 4 && remote == NULL; i++) {
      if (refs[i] == NULL)
        continue;
      char *k = tc_key_ref_resolve(refs[i], "key", NULL);
      if (k == NULL)
        continue;
      free(k);
      free(rerr);
      rerr = NULL;
      remote = tc_rt_remote_get(f, v.arec, tid, refs[i], &rstatus, &rerr);
      if (remote != NULL || rstatus == 404)
        break;
    }
  }
  json_object_set_new(o, "remote", remote ? remote : json_null());
  json_object_set_new(o, "remote_error",
                      rerr ? json_string(rerr) : json_null());
  json_object_set_new(o, "remote_lookup_status", json_integer(rstatus));
  json_object_set_new(o, "error", json_null());
  bool gone = rstatus == 404 && v.prec == NULL;
  if (f->json) {
    tc_print_json(json_incref(o));
    rc = gone ? 2 : 0;
  } else {
    tc_rt_view_print(o);
    if (gone)
      rc = tc_cli_fail(cmd,
                       "tunnel %s of alias %s no longer exists (HTTP "
                       "404); remove the alias with 'tunnel-client "
                       "runtimes rm %s'",
                       tid, alias, alias);
  }
  free(rerr);
  json_decref(o);
out:
  tc_rt_probe_clear(&v.probe);
  tc_rt_ctx_free(&c);
  free(alias);
  return rc;
}

int tc_rt_cmd_list(struct tc_rt_flags *f) {
  const char *cmd = "runtimes list";
  if (f->npos != 0)
    return tc_cli_fail(cmd, "takes no arguments");
  size_t scopes = (f->orgs.n > 0) + (f->wss.n > 0) + (f->tenants.n > 0);
  if (scopes > 1)
    return tc_cli_fail(cmd, "give at most one of --organization-id, "
                            "--workspace-id and --tenant-id");
  struct tc_rt_ctx c;
  char *err = NULL;
  if (tc_rt_ctx_open(&c, &err) != 0) {
    tc_rt_ctx_free(&c);
    return tc_rt_fail_err(cmd, err);
  }
  json_t *names = tc_rt_all_aliases(&c);
  json_t *arr = json_array();
  for (size_t i = 0; i < json_array_size(names); i++) {
    struct tc_rt_view v;
    tc_rt_view_build(&c, json_string_value(json_array_get(names, i)), &v);
    json_array_append_new(arr, tc_rt_view_json(&v));
    tc_rt_probe_clear(&v.probe);
  }
  int rc = 0;
  json_t *remote = NULL;
  if (scopes == 1) {
    struct tc_admin_api api = {0};
    if (tc_rt_admin_api_for(&c, f, NULL, false, &api, NULL, &err) != 0) {
      rc = tc_rt_fail_err(cmd, err);
      err = NULL;
    } else {
      const char *k = f->orgs.n  ? "organization_id"
                      : f->wss.n ? "workspace_id"
                                 : "tenant_id";
      const char *val = f->orgs.n  ? f->orgs.items[0]
                        : f->wss.n ? f->wss.items[0]
                                   : f->tenants.items[0];
      char *esc = tc_url_escape(val);
      char *route = tc_cfg_printf("/v1/tunnels?%s=%s", k, esc ? esc : "");
      struct tc_admin_reply r;
      if (tc_admin_request(&api, "GET", route, NULL, &r) != 0) {
        rc = tc_admin_render_error("GET", route, &r, f->json);
      } else {
        remote = json_deep_copy(json_object_get(r.json, "tunnels"));
        for (size_t i = 0; i < json_array_size(remote); i++) {
          json_t *t = json_array_get(remote, i);
          const char *la = NULL;
          const char *ak;
          json_t *av;
          json_object_foreach(c.aliases, ak, av) {
            const char *at = tc_rt_sget(av, "tunnel_id");
            if (at && tc_rt_sget(t, "id") &&
                strcmp(at, tc_rt_sget(t, "id")) == 0)
              la = ak;
          }
          json_object_set_new(t, "local_alias",
                              la ? json_string(la) : json_null());
        }
      }
      tc_admin_reply_clear(&r);
      free(route);
      free(esc);
    }
    tc_admin_api_clear(&api);
  }
  if (rc == 0) {
    if (f->json) {
      json_t *o = json_pack("{s:O}", "runtimes", arr);
      if (remote)
        json_object_set(o, "remote_tunnels", remote);
      tc_print_json(o);
    } else {
      if (json_array_size(arr) == 0)
        printf("No runtimes. Start one with 'tunnel-client runtimes connect "
               "--alias A ...'.\n");
      else
        printf("%-20s %-9s %-40s %s\n", "ALIAS", "STATE", "TUNNEL_ID", "PID");
      for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        char pid[24] = "-";
        if (json_is_true(json_object_get(o, "process_running")))
          snprintf(pid, sizeof(pid), "%lld",
                   (long long)json_integer_value(json_object_get(o, "pid")));
        printf(
            "%-20s %-9s %-40s %s%s\n", tc_rt_sget(o, "alias"),
            tc_rt_sget(o, "runtime_state"),
            tc_rt_sget(o, "tunnel_id") ? tc_rt_sget(o, "tunnel_id") : "-", pid,
            json_is_true(json_object_get(o, "stale")) ? " (stale record)" : "");
      }
      for (size_t i = 0; i < json_array_size(remote); i++) {
        json_t *t = json_array_get(remote, i);
        if (i == 0)
          printf("\nRemote tunnels:\n");
        printf("  %s  %s  %s\n", tc_rt_sget(t, "id"),
               tc_rt_sget(t, "name") ? tc_rt_sget(t, "name") : "",
               tc_rt_sget(t, "local_alias") ? tc_rt_sget(t, "local_alias")
                                            : "(no alias)");
      }
    }
  }
  json_decref(remote);
  json_decref(arr);
  json_decref(names);
  tc_rt_ctx_free(&c);
  return rc;
}
