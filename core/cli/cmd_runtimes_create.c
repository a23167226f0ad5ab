/* cli/cmd_runtimes_create.c — `runtimes create` and the tunnel lookups it
 * shares with connect, status and list (see cmd_runtimes_internal.h): the
 * admin API set up from flags and the saved admin profile, resolving an
 * alias's tunnel (recorded, found by name, or created) and the read-only
 * GET of a tunnel with the runtime key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config_internal.h"

#define STATUS_REMOTE_TIMEOUT_MS 3000L

void tc_rt_admin_from_profile(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                              const json_t *arec, json_t **prof,
                              char **prof_name) {
  char *err = NULL;
  *prof = tc_admin_profile_pick(c->root, f->admin_profile,
                                arec ? tc_rt_sget(arec, "admin_profile") : NULL,
                                prof_name, &err);
  free(err);
}

/* Set up the admin API (base + key) for runtimes. */
int tc_rt_admin_api_for(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                        const json_t *arec, bool write,
                        struct tc_admin_api *api, char **prof_name,
                        char **err) {
  json_t *prof = NULL;
  if (f->admin_profile != NULL) {
    prof =
        tc_admin_profile_pick(c->root, f->admin_profile, NULL, prof_name, err);
    if (prof == NULL)
      return -1;
  } else {
    tc_rt_admin_from_profile(c, f, arec, &prof, prof_name);
  }
  int rc = tc_admin_api_base(api, f->base, f->path,
                             tc_rt_sget(prof, "control_plane_base_url"),
                             tc_rt_sget(prof, "control_plane_url_path"), err);
  if (rc == 0)
    rc = tc_admin_api_key(api, f->admin_key, tc_rt_sget(prof, "admin_key"),
                          false, write, err);
  json_decref(prof);
  return rc;
}

/* Resolve the alias's tunnel with the admin API: reuse the recorded one,
 * else a tunnel with the same name in the scope, else create it. Returns
 * the tunnel object or NULL with the error rendered (and *rendered). */
json_t *tc_rt_resolve_tunnel(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                             const char *alias, const json_t *arec,
                             char **prof_name, const char *cmd) {
  struct tc_admin_api api = {0};
  char *err = NULL;
  if (tc_rt_admin_api_for(c, f, arec, true, &api, prof_name, &err) != 0) {
    tc_cli_fail(cmd,
                "%s (needed to find or create the tunnel; or pass "
                "--tunnel-id)",
                err ? err : "out of memory");
    free(err);
    tc_admin_api_clear(&api);
    return NULL;
  }
  json_t *out = NULL;
  struct tc_admin_reply r;
  const char *old = arec ? tc_rt_sget(arec, "tunnel_id") : NULL;
  if (old != NULL) {
    char *route = tc_cfg_printf("/v1/tunnels/%s", old);
    int rc = tc_admin_request(&api, "GET", route, NULL, &r);
    if (rc == 0)
      out = json_incref(r.json);
    else if (r.status != 404) {
      tc_admin_render_error("GET", route, &r, false);
      free(route);
      tc_admin_reply_clear(&r);
      tc_admin_api_clear(&api);
      return NULL;
    }
    free(route);
    tc_admin_reply_clear(&r);
    if (out != NULL) {
      tc_admin_api_clear(&api);
      return out;
    }
  }
  const char *name = f->name ? f->name : alias;
  if (f->orgs.n == 0 && f->wss.n == 0) {
    tc_cli_fail(cmd,
                "no tunnel for alias %s: pass --tunnel-id, or "
                "--organization-id/--workspace-id to find or create one",
                alias);
    tc_admin_api_clear(&api);
    return NULL;
  }
  if (f->orgs.n > 0 && f->wss.n > 0) {
    tc_cli_fail(cmd, "give --organization-id or --workspace-id, not both");
    tc_admin_api_clear(&api);
    return NULL;
  }
  const char *k = f->orgs.n ? "organization_id" : "workspace_id";
  char *esc = tc_url_escape(f->orgs.n ? f->orgs.items[0] : f->wss.items[0]);
  char *route = tc_cfg_printf("/v1/tunnels?%s=%s", k, esc ? esc : "");
  free(esc);
  if (tc_admin_request(&api, "GET", route, NULL, &r) != 0) {
    tc_admin_render_error("GET", route, &r, false);
  } else {
    const json_t *ts = json_object_get(r.json, "tunnels");
    for (size_t i = 0; i < json_array_size(ts) && out == NULL; i++) {
      const char *tn = tc_rt_sget(json_array_get(ts, i), "name");
      if (tn != NULL && strcmp(tn, name) == 0)
        out = json_incref(json_array_get(ts, i));
    }
    if (out == NULL) {
      json_t *ids = json_array();
      const struct tc_strlist *l = f->orgs.n ? &f->orgs : &f->wss;
      for (size_t i = 0; i < l->n; i++)
        json_array_append_new(ids, json_string(l->items[i]));
      json_t *body =
          json_pack("{s:s,s:s,s:o}", "name", name, "description",
                    f->description ? f->description : "tunnel-client runtime",
                    f->orgs.n ? "organization_ids" : "workspace_ids", ids);
      struct tc_admin_reply cr;
      if (tc_admin_request(&api, "POST", "/v1/tunnels", body, &cr) == 0)
        out = json_incref(cr.json);
      else
        tc_admin_render_error("POST", "/v1/tunnels", &cr, false);
      tc_admin_reply_clear(&cr);
      json_decref(body);
      if (out != NULL)
        tc_rt_history(c->root, "create_tunnel", alias, tc_rt_sget(out, "id"),
                      name);
    }
  }
  tc_admin_reply_clear(&r);
  free(route);
  tc_admin_api_clear(&api);
  return out;
}

/* GET /v1/tunnels/{id} with a runtime key reference (read-only). Returns
 * the tunnel or NULL with *remote_error. */
json_t *tc_rt_remote_get(const struct tc_rt_flags *f, const json_t *arec,
                         const char *tunnel_id, const char *key_ref,
                         long *status, char **remote_error) {
  struct tc_admin_api api = {0};
  char *err = NULL;
  *status = 0;
  json_t *out = NULL;
  /* The alias's own control plane unless a flag says otherwise. */
  const char *base = f->base, *path = f->path;
  if (base == NULL && arec != NULL) {
    base = tc_rt_sget(arec, "control_plane_base_url");
    if (path == NULL)
      path = tc_rt_sget(arec, "control_plane_url_path");
  }
  if (tc_admin_api_base(&api, base, path, NULL, NULL, &err) != 0) {
    *remote_error = err;
    return NULL;
  }
  api.key = tc_key_ref_resolve(key_ref, "the runtime key", &err);
  if (api.key == NULL) {
    *remote_error = err;
    tc_admin_api_clear(&api);
    return NULL;
  }
  api.timeout_ms = STATUS_REMOTE_TIMEOUT_MS;
  char *route = tc_cfg_printf("/v1/tunnels/%s", tunnel_id);
  struct tc_admin_reply r;
  if (tc_admin_request(&api, "GET", route, NULL, &r) == 0) {
    out = json_incref(r.json);
  } else {
    const char *msg = json_string_value(
        json_object_get(json_object_get(r.json, "error"), "message"));
    *remote_error = r.status
                        ? tc_cfg_printf("GET %s: HTTP %ld%s%s", route, r.status,
                                        msg ? ": " : "", msg ? msg : "")
                        : tc_cfg_printf("GET %s: %s", route,
                                        r.transport ? r.transport : "no reply");
  }
  *status = r.status;
  tc_admin_reply_clear(&r);
  free(route);
  tc_admin_api_clear(&api);
  return out;
}

int tc_rt_cmd_create(struct tc_rt_flags *f) {
  const char *cmd = "runtimes create";
  char *alias = tc_rt_alias_arg(cmd, f->alias  ? f->alias
                                     : f->npos ? f->pos[0]
                                               : NULL);
  if (alias == NULL)
    return 1;
  struct tc_rt_ctx c;
  char *err = NULL;
  if (tc_rt_ctx_open(&c, &err) != 0) {
    tc_rt_ctx_free(&c);
    free(alias);
    return tc_rt_fail_err(cmd, err);
  }
  json_t *arec = json_object_get(c.aliases, alias);
  char *prof_name = NULL;
  json_t *t = tc_rt_resolve_tunnel(&c, f, alias, arec, &prof_name, cmd);
  int rc = 1;
  if (t != NULL) {
    char now[32];
    tc_rt_now(now);
    if (arec == NULL) {
      arec = json_pack("{s:s,s:s}", "alias", alias, "created_at", now);
      json_object_set_new(c.aliases, alias, arec);
    }
    json_object_set_new(arec, "tunnel_id", json_string(tc_rt_sget(t, "id")));
    json_object_set_new(arec, "updated_at", json_string(now));
    if (prof_name)
      json_object_set_new(arec, "admin_profile", json_string(prof_name));
    if (tc_rt_ctx_save(&c, &err) != 0) {
      rc = tc_rt_fail_err(cmd, err);
      err = NULL;
    } else {
      tc_rt_history(c.root, "create", alias, tc_rt_sget(t, "id"), NULL);
      if (f->json)
        tc_print_json(json_pack("{s:s,s:s,s:O}", "alias", alias, "tunnel_id",
                                tc_rt_sget(t, "id"), "tunnel", t));
      else
        printf("Alias %s -> tunnel %s (%s)\nNext: tunnel-client runtimes "
               "connect --alias %s --mcp-server-url URL\n",
               alias, tc_rt_sget(t, "id"),
               tc_rt_sget(t, "name") ? tc_rt_sget(t, "name") : "", alias);
      rc = 0;
    }
  }
  json_decref(t);
  free(prof_name);
  free(alias);
  tc_rt_ctx_free(&c);
  return rc;
}
