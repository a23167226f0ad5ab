/* cli/cmd_admin_profiles.c — `admin-profiles list|set|activate|delete`:
 * saved admin-key references (never keys) for `runtimes`
 * (reference/cli.md §8). Stored in <state root>/admin_profiles.yaml as
 * {"active_profile", "profiles":{name:{name, control_plane_base_url,
 * control_plane_url_path?, admin_key (env:/file: reference), updated_at}}}.
 * `delete` is refused while an alias (aliases.yaml) references the
 * profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config_internal.h"
#include "config/profiles.h"

const char tc_admin_profiles_usage[] =
    "Usage: tunnel-client admin-profiles <command> [flags]\n"
    "\n"
    "Saved admin-key references used by 'tunnel-client runtimes' (the key\n"
    "itself is never stored, only env:NAME or file:PATH).\n"
    "\n"
    "Commands:\n"
    "  list [--json]\n"
    "  set NAME [--admin-key env:NAME|file:PATH] [--control-plane-base-url "
    "URL]\n"
    "           [--control-plane-url-path /P] [--activate=true|false]\n"
    "           admin key default env:OPENAI_ADMIN_KEY; base URL default: the\n"
    "           saved one, $CONTROL_PLANE_BASE_URL, https://api.openai.com\n"
    "  activate NAME\n"
    "  delete NAME        refused while a runtime alias uses it\n"
    "\n"
    "Examples:\n"
    "  tunnel-client admin-profiles set prod --admin-key "
    "file:/run/secrets/admin-key\n"
    "  tunnel-client admin-profiles list --json\n"
    "  tunnel-client admin-profiles activate prod\n"
    "\n"
    "State: $TUNNEL_CLIENT_STATE_DIR, $XDG_STATE_HOME/tunnel-client or\n"
    "~/.local/state/tunnel-client (admin_profiles.yaml, mode 0600).\n"
    "Exit codes: 0 ok, 1 error.\n";

static char *profiles_path(char **root_out, char **err) {
  char *root = tc_rt_state_root(err);
  if (root == NULL)
    return NULL;
  char *p = tc_rt_path(root, "admin_profiles.yaml");
  if (root_out != NULL)
    *root_out = root;
  else
    free(root);
  return p;
}

json_t *tc_admin_profile_pick(const char *root, const char *flag_name,
                              const char *alias_profile, char **name_out,
                              char **err) {
  char *path = tc_rt_path(root, "admin_profiles.yaml");
  json_t *all = path ? tc_rt_load(path, err) : NULL;
  free(path);
  if (all == NULL)
    return NULL;
  const char *env = getenv("TUNNEL_MCP_ADMIN_PROFILE");
  const char *active =
      json_string_value(json_object_get(all, "active_profile"));
  const char *name = flag_name               ? flag_name
                     : alias_profile         ? alias_profile
                     : (env && env[0])       ? env
                     : (active && active[0]) ? active
                                             : "default";
  json_t *p = json_object_get(json_object_get(all, "profiles"), name);
  if (p == NULL && flag_name != NULL)
    tc_cfg_fail(err,
                "no admin profile \"%s\"; create it with "
                "'tunnel-client admin-profiles set %s'",
                flag_name, flag_name);
  if (p != NULL && name_out != NULL)
    *name_out = tc_cfg_strdup(name);
  json_incref(p);
  json_decref(all);
  return p;
}

static int cmd_list(json_t *all, bool json) {
  json_t *profiles = json_object_get(all, "profiles");
  const char *active =
      json_string_value(json_object_get(all, "active_profile"));
  if (json) {
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(profiles, k, v) {
      json_t *e = json_deep_copy(v);
      json_object_set_new(e, "active",
                          json_boolean(active && strcmp(active, k) == 0));
      json_array_append_new(arr, e);
    }
    tc_print_json(
        json_pack("{s:s?,s:o}", "active_profile", active, "profiles", arr));
    return 0;
  }
  if (json_object_size(profiles) == 0) {
    printf("No admin profiles. Save one with 'tunnel-client admin-profiles "
           "set NAME --admin-key env:OPENAI_ADMIN_KEY'.\n");
    return 0;
  }
  printf("%-2s%-20s %-36s %s\n", "", "NAME", "BASE_URL", "ADMIN_KEY");
  const char *k;
  json_t *v;
  json_object_foreach(profiles, k, v) {
    const char *path =
        json_string_value(json_object_get(v, "control_plane_url_path"));
    char base[512];
    snprintf(base, sizeof(base), "%s%s",
             json_string_value(json_object_get(v, "control_plane_base_url")),
             path ? path : "");
    printf("%-2s%-20s %-36s %s\n", active && strcmp(active, k) == 0 ? "*" : "",
           k, base, json_string_value(json_object_get(v, "admin_key")));
  }
  return 0;
}

/* True when an alias in aliases.yaml uses admin profile `name`. */
static const char *alias_using(const char *root, const char *name,
                               json_t **holder) {
  char *p = tc_rt_path(root, "aliases.yaml");
  json_t *aliases = p ? tc_rt_load(p, NULL) : NULL;
  free(p);
  *holder = aliases;
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(aliases, "aliases"), k, v) {
    const char *ap = json_string_value(json_object_get(v, "admin_profile"));
    if (ap != NULL && strcmp(ap, name) == 0)
      return k;
  }
  return NULL;
}

int tc_cmd_admin_profiles(int argc, char **argv) {
  if (argc < 1) {
    fputs(tc_admin_profiles_usage, stderr);
    return 1;
  }
  const char *sub = argv[0];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
      strcmp(sub, "help") == 0) {
    fputs(tc_admin_profiles_usage, stdout);
    return 0;
  }
  char *key = NULL, *base = NULL, *upath = NULL;
  bool activate = true, json = false, help = false;
  const struct tc_opt opts[] = {
      {"--admin-key", TC_OPT_STR, &key},
      {"--control-plane-base-url", TC_OPT_STR, &base},
      {"--control-plane.base-url", TC_OPT_STR, &base},
      {"--control-plane-url-path", TC_OPT_STR, &upath},
      {"--control-plane.url-path", TC_OPT_STR, &upath},
      {"--activate", TC_OPT_BOOL, &activate},
      {"--json", TC_OPT_BOOL, &json},
  };
  char cmd[48];
  snprintf(cmd, sizeof(cmd), "admin-profiles %.20s", sub);
  char *pos[1];
  size_t npos = 0;
  if (tc_opts_parse(cmd, opts, sizeof(opts) / sizeof(opts[0]), argc - 1,
                    argv + 1, pos, 1, &npos, &help) != 0)
    return 1;
  if (help) {
    fputs(tc_admin_profiles_usage, stdout);
    return 0;
  }
  bool is_list = strcmp(sub, "list") == 0, is_set = strcmp(sub, "set") == 0,
       is_act = strcmp(sub, "activate") == 0,
       is_del = strcmp(sub, "delete") == 0;
  if (!is_list && !is_set && !is_act && !is_del)
    return tc_cli_fail("admin-profiles",
                       "unknown command \"%.64s\"; commands are list, set, "
                       "activate and delete",
                       sub);
  if (is_list ? npos != 0 : npos != 1)
    return tc_cli_fail(cmd, is_list ? "takes no arguments"
                                    : "needs exactly one NAME argument");
  if (!is_list && !tc_profile_name_ok(pos[0]))
    return tc_cli_fail(cmd,
                       "invalid profile name \"%.64s\" (letters, digits, "
                       "'.', '_', '-'; up to 128)",
                       pos[0]);
  if (key != NULL && !tc_key_ref_ok(key))
    return tc_cli_fail(cmd, "--admin-key must be env:NAME or file:PATH (a "
                            "literal key is refused)");
  if (key != NULL && tc_key_ref_is_runtime(key))
    return tc_cli_fail(cmd,
                       "--admin-key %s names the runtime API key; an "
                       "admin profile needs an admin key",
                       key);

  char *err = NULL, *root = NULL;
  char *path = profiles_path(&root, &err);
  json_t *all = path ? tc_rt_load(path, &err) : NULL;
  if (all == NULL) {
    tc_cli_fail(cmd, "%s", err ? err : "out of memory");
    free(err);
    free(path);
    free(root);
    return 1;
  }
  int rc = 0;
  json_t *profiles = json_object_get(all, "profiles");
  if (!json_is_object(profiles)) {
    profiles = json_object();
    json_object_set_new(all, "profiles", profiles);
  }
  bool save = false;
  if (is_list) {
    rc = cmd_list(all, json);
  } else if (is_set) {
    json_t *old = json_object_get(profiles, pos[0]);
    const char *old_base =
        json_string_value(json_object_get(old, "control_plane_base_url"));
    const char *old_path =
        json_string_value(json_object_get(old, "control_plane_url_path"));
    const char *old_key = json_string_value(json_object_get(old, "admin_key"));
    struct tc_admin_api api = {0};
    if (tc_admin_api_base(&api, base ? base : old_base,
                          upath ? upath : old_path, NULL, NULL, &err) != 0) {
      rc = tc_cli_fail(cmd, "%s", err);
    } else {
      const char *eff_path = upath ? upath : old_path;
      const char *eff_base = base ? base : old_base;
      char *env_base = NULL;
      if (eff_base == NULL) {
        const char *e = getenv("CONTROL_PLANE_BASE_URL");
        env_base = tc_cfg_strdup(e && e[0] ? e : "https://api.openai.com");
        eff_base = env_base;
      }
      char now[32];
      tc_rt_now(now);
      json_t *p = json_pack("{s:s,s:s,s:s,s:s}", "name", pos[0],
                            "control_plane_base_url", eff_base, "admin_key",
                            key       ? key
                            : old_key ? old_key
                                      : "env:OPENAI_ADMIN_KEY",
                            "updated_at", now);
      if (eff_path != NULL && eff_path[0] != '\0')
        json_object_set_new(p, "control_plane_url_path", json_string(eff_path));
      json_object_set_new(profiles, pos[0], p);
      if (activate)
        json_object_set_new(all, "active_profile", json_string(pos[0]));
      free(env_base);
      save = true;
    }
    tc_admin_api_clear(&api);
  } else if (json_object_get(profiles, pos[0]) == NULL) {
    rc = tc_cli_fail(cmd,
                     "no admin profile \"%s\"; see 'tunnel-client "
                     "admin-profiles list'",
                     pos[0]);
  } else if (is_act) {
    json_object_set_new(all, "active_profile", json_string(pos[0]));
    save = true;
  } else {
    json_t *holder = NULL;
    const char *alias = alias_using(root, pos[0], &holder);
    if (alias != NULL) {
      rc = tc_cli_fail(cmd,
                       "admin profile \"%s\" is used by runtime alias "
                       "\"%s\"; remove the alias first ('tunnel-client "
                       "runtimes rm %s')",
                       pos[0], alias, alias);
    } else {
      json_object_del(profiles, pos[0]);
      const char *active =
          json_string_value(json_object_get(all, "active_profile"));
      if (active != NULL && strcmp(active, pos[0]) == 0)
        json_object_del(all, "active_profile");
      save = true;
    }
    json_decref(holder);
  }
  if (save && rc == 0) {
    if (tc_rt_save(path, all, &err) != 0) {
      rc = tc_cli_fail(cmd, "%s", err);
    } else if (json) {
      tc_print_json(json_pack("{s:s,s:s,s:O?}", "action", sub, "name", pos[0],
                              "profile", json_object_get(profiles, pos[0])));
    } else if (is_set) {
      printf("Saved admin profile %s%s\n", pos[0], activate ? " (active)" : "");
    } else if (is_act) {
      printf("Active admin profile: %s\n", pos[0]);
    } else {
      printf("Deleted admin profile %s\n", pos[0]);
    }
  }
  free(err);
  json_decref(all);
  free(path);
  free(root);
  return rc;
}
