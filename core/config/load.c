/* config/load.c — tc_config_load(): flags, profile selection, the strict
 * profile, every key through its layers (flag > env > YAML > default),
 * typed parsing and per-key checks, bindings, modules, then the cross-key
 * rules. Also fills `effective` (secrets as NULL) and registers every
 * resolved secret with the redactor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "config/profiles.h"
#include "tc/host.h"
#include "util/child_env.h"
#include "util/host_pattern.h"
#include "util/redact.h"

/* A printable form of a value for errors; NULL for secrets. */
static char *shown_value(const struct tc_cfg_key *k, const char *v) {
  if (k->flags & TC_F_SECRET)
    return NULL;
  if (k->check == tc_cfg_check_proxy_url || k->check == tc_cfg_check_base_url)
    return tc_cfg_url_safe(v);
  return tc_cfg_strdup(v);
}

static int bad_value(const struct tc_cfg_key *k, const char *where,
                     const char *v, const char *fix, char **err) {
  char *what = tc_cfg_printf("invalid %s", k->what);
  char *shown = shown_value(k, v);
  tc_cfg_bad(err, what != NULL ? what : "invalid value", where, shown, fix);
  free(what);
  free(shown);
  return -1;
}

static const char *level_name(int level) {
  switch (level) {
  case TC_LOG_DEBUG:
    return "debug";
  case TC_LOG_WARN:
    return "warn";
  case TC_LOG_ERROR:
    return "error";
  default:
    return "info";
  }
}

static int set_effective(struct tc_config *cfg, const struct tc_cfg_key *k,
                         const char *value, const char *origin, char **err) {
  if (k->yaml == NULL)
    return 0;
  if (tc_kvlist_set(&cfg->effective, k->yaml,
                    (k->flags & TC_F_SECRET) ? NULL : value, origin) != 0)
    return tc_cfg_fail(err, "out of memory");
  return 0;
}

static int range_fix(const struct tc_cfg_key *k, char *buf, size_t len) {
  if (k->type == TC_T_INT)
    return snprintf(buf, len, "use a whole number from %lld to %lld",
                    (long long)k->min, (long long)k->max);
  if (k->type == TC_T_BYTES)
    return snprintf(buf, len,
                    "use a byte count from %lld to %lld, optionally with a "
                    "KiB, MiB or GiB suffix, such as 256MiB",
                    (long long)k->min, (long long)k->max);
  if (k->max == INT64_MAX)
    return snprintf(buf, len, "use a Go duration %s, such as 30s or 1m30s",
                    k->min > 0 ? "greater than 0" : "of 0 or more");
  return snprintf(buf, len,
                  "use a Go duration greater than 0 and below %llds, such as "
                  "5s or 4500ms",
                  (long long)(k->max + 1) / 1000);
}

/* Parse and store one typed scalar; *eff gets the effective text. */
static int store_typed(struct tc_config *cfg, const struct tc_cfg_key *k,
                       char **value, const char *where, char **eff,
                       char **err) {
  char fix[160];
  const char *why = NULL;
  void *field = (k->flags & TC_F_NOFIELD) ? NULL : (char *)cfg + k->off;
  const char *v = *value;
  switch (k->type) {
  case TC_T_STR:
  case TC_T_PATH:
    if (*v == '\0' && (k->def == NULL || *k->def == '\0')) {
      /* explicitly empty: "" when the default is "", else unset */
      if (k->def != NULL && field != NULL)
        *(char **)field = tc_cfg_strdup("");
      *eff = k->def != NULL ? tc_cfg_strdup("") : NULL;
      return 0;
    }
    if (k->check != NULL && k->check(v, &why) != 0) {
      if (k->id == TC_K_CP_API_KEY)
        return tc_cfg_fail(err, "%s in %s is malformed (%s)", k->what, where,
                           why);
      return bad_value(k, where, v, why, err);
    }
    if (k->id == TC_K_CP_BASE_URL || k->id == TC_K_CP_URL_PATH) {
      size_t n = strlen(*value);
      while (n > 0 && (*value)[n - 1] == '/')
        (*value)[--n] = '\0';
    }
    *eff = (k->check == tc_cfg_check_proxy_url && tc_cfg_url_has_userinfo(v))
               ? NULL
               : tc_cfg_strdup(*value);
    if (field != NULL) {
      *(char **)field = *value;
      *value = NULL;
    }
    return 0;
  case TC_T_INT: {
    int64_t n = 0;
    if (tc_cfg_parse_int64(v, &n) != 0 || n < k->min || n > k->max) {
      range_fix(k, fix, sizeof(fix));
      return bad_value(k, where, v, fix, err);
    }
    if (field != NULL)
      *(int *)field = (int)n;
    *eff = tc_cfg_printf("%lld", (long long)n);
    return 0;
  }
  case TC_T_BYTES: {
    int64_t n = 0;
    if (tc_cfg_parse_bytes(v, &n) != 0 || n < k->min || n > k->max) {
      range_fix(k, fix, sizeof(fix));
      return bad_value(k, where, v, fix, err);
    }
    if (field != NULL)
      *(int64_t *)field = n;
    *eff = tc_cfg_printf("%lld", (long long)n);
    return 0;
  }
  case TC_T_DUR: {
    int64_t ms = 0;
    if (tc_parse_duration_ms(v, &ms, &why) != 0)
      return bad_value(k, where, v, why, err);
    if (ms < k->min || ms > k->max) {
      range_fix(k, fix, sizeof(fix));
      return bad_value(k, where, v, fix, err);
    }
    if (field != NULL)
      *(int64_t *)field = ms;
    *eff = tc_cfg_strdup(v);
    return 0;
  }
  case TC_T_BOOL: {
    bool b = false;
    if (tc_cfg_parse_bool(v, &b) != 0)
      return bad_value(k, where, v, "use true or false", err);
    if (field != NULL)
      *(bool *)field = b;
    *eff = tc_cfg_strdup(b ? "true" : "false");
    return 0;
  }
  case TC_T_LEVEL: {
    int level = tc_cfg_parse_log_level(v);
    if (level < 0)
      return bad_value(k, where, v, "use debug, info, warn or error", err);
    *(int *)field = level;
    *eff = tc_cfg_strdup(level_name(level));
    return 0;
  }
  case TC_T_FORMAT: {
    int format = tc_cfg_parse_log_format(v);
    if (format < 0)
      return bad_value(k, where, v, "use struct-text or json", err);
    *(int *)field = format;
    *eff = tc_cfg_strdup(format == TC_LOG_FORMAT_JSON ? "json" : "struct-text");
    return 0;
  }
  default:
    return 0;
  }
}

static int load_scalar(struct tc_config *cfg, const struct tc_cfg_key *k,
                       const struct tc_cfg_flagset *fs,
                       const struct tc_cfg_profile *prof, char **err) {
  struct tc_cfg_pick pick;
  if (tc_cfg_pick_key(k, fs, prof, &pick, err) != 0) {
    tc_cfg_pick_free(&pick);
    return -1;
  }
  if (pick.layer == TC_L_NONE || pick.count == 0) {
    tc_cfg_pick_free(&pick);
    return 0;
  }
  const struct tc_cfg_item *it = &pick.items[pick.count - 1];
  const char *text = it->text != NULL ? it->text : "";
  bool is_ref = tc_cfg_ref_is_ref(text);
  if ((k->flags & TC_F_SECRET) || k->check == tc_cfg_check_proxy_url)
    tc_cfg_ref_withhold(text);
  char *value = NULL, *eff = NULL;
  int rc = -1;
  if ((k->flags & TC_F_FLAG_REF_ONLY) && pick.layer == TC_L_FLAG && !is_ref) {
    tc_cfg_fail(err,
                "a literal %s is not accepted in %s (use %s env:NAME or "
                "%s file:/path, or set %s)",
                k->what, it->where, it->where, it->where, k->env);
    goto done;
  }
  if ((k->flags & TC_F_REF_ONLY) &&
      (pick.layer == TC_L_FLAG || pick.layer == TC_L_YAML) && !is_ref) {
    tc_cfg_fail(err,
                "a literal %s is not accepted in %s (write env:NAME or "
                "file:/path, or set %s)",
                k->what, it->where, k->env);
    goto done;
  }
  if ((k->flags & TC_F_REF) && !(k->flags & TC_F_NOFIELD)) {
    bool was_ref = false;
    if (tc_cfg_ref_resolve(
            text, k->type == TC_T_PATH ? TC_CFG_REF_PATH : TC_CFG_REF_VALUE,
            it->where, &value, &was_ref, err) != 0)
      goto done;
  } else {
    value = tc_cfg_strdup(text);
  }
  if (value == NULL) {
    tc_cfg_fail(err, "out of memory");
    goto done;
  }
  if (k->flags & TC_F_SECRET)
    tc_redact_add_secret(value);
  if (k->check == tc_cfg_check_proxy_url)
    tc_cfg_url_register_secret(value);
  if ((k->flags & TC_F_NOFIELD) && (k->type == TC_T_STR))
    eff = tc_cfg_strdup(value); /* kept as given */
  else if (store_typed(cfg, k, &value, it->where, &eff, err) != 0)
    goto done;
  rc = set_effective(cfg, k, eff,
                     pick.layer == TC_L_DEFAULT ? "default" : it->where, err);
done:
  if (value != NULL && (k->flags & TC_F_SECRET))
    memset(value, 0, strlen(value));
  free(value);
  free(eff);
  tc_cfg_pick_free(&pick);
  return rc;
}

static int push_channel(struct tc_config *cfg, const char *c, char **err) {
  char **n = realloc(cfg->cp_poll_channels,
                     (cfg->cp_poll_channel_count + 1) * sizeof(*n));
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->cp_poll_channels = n;
  n[cfg->cp_poll_channel_count] = tc_cfg_strdup(c);
  if (n[cfg->cp_poll_channel_count] == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->cp_poll_channel_count++;
  return 0;
}

static int check_poll_channel(struct tc_config *cfg,
                              const struct tc_cfg_item *it, char **err) {
  char canon[72];
  const char *why = NULL;
  if (*it->text == '\0')
    return tc_cfg_fail(err, "blank poll channel in %s (remove the empty entry)",
                       it->where);
  if (tc_channel_canonical(it->text, canon, sizeof(canon), &why) != 0)
    return tc_cfg_bad(err, "invalid poll channel", it->where, it->text,
                      "a channel name is 1 to 64 of a-z, 0-9, '_' or '-'");
  if (strcmp(canon, it->text) != 0) {
    char *fix = tc_cfg_printf("write it as \"%s\"", canon);
    tc_cfg_bad(err, "non-canonical poll channel", it->where, it->text, fix);
    free(fix);
    return -1;
  }
  for (size_t i = 0; i < cfg->cp_poll_channel_count; i++)
    if (strcmp(cfg->cp_poll_channels[i], canon) == 0)
      return tc_cfg_bad(err, "duplicate poll channel", it->where, canon,
                        "list each channel once");
  return push_channel(cfg, canon, err);
}

/* One --health.allowed-hosts item: a flag value or an env entry may hold
 * several hosts separated by commas (the env var is split already); a YAML
 * list item holds one. Each is checked against util/host_pattern.h. */
static int check_allowed_hosts(struct tc_config *cfg,
                               const struct tc_cfg_item *it, char **err) {
  const char *text = it->text != NULL ? it->text : "";
  const char *p = text;
  for (;;) {
    size_t n = it->node == NULL ? strcspn(p, ",") : strlen(p);
    char *piece = tc_cfg_strndup(p, n);
    char *entry = piece != NULL ? tc_cfg_trimdup(piece) : NULL;
    free(piece);
    if (entry == NULL)
      return tc_cfg_fail(err, "out of memory");
    struct tc_host_pattern hp;
    const char *why = NULL;
    if (tc_host_pattern_parse(entry, &hp, &why) != 0) {
      tc_cfg_bad(err, "invalid health allowed host", it->where, entry, why);
      free(entry);
      return -1;
    }
    char **grown =
        realloc(cfg->health_allowed_hosts,
                (cfg->health_allowed_host_count + 1) * sizeof(*grown));
    if (grown == NULL) {
      free(entry);
      return tc_cfg_fail(err, "out of memory");
    }
    cfg->health_allowed_hosts = grown;
    grown[cfg->health_allowed_host_count++] = entry;
    if (p[n] == '\0')
      return 0;
    p += n + 1;
  }
}

/* Join item texts (and, for YAML mapping items, key=value pairs). */
static char *join_items(const struct tc_cfg_profile *prof,
                        const struct tc_cfg_pick *pick, const char *sep) {
  size_t cap = 1;
  char *out = calloc(1, cap);
  for (size_t i = 0; out != NULL && i < pick->count; i++) {
    const struct tc_cfg_item *it = &pick->items[i];
    char *piece = NULL;
    if (it->text != NULL) {
      piece = tc_cfg_strdup(it->text);
    } else if (it->node != NULL && it->node->type == YAML_MAPPING_NODE) {
      piece = tc_cfg_strdup("");
      for (yaml_node_pair_t *pr = it->node->data.mapping.pairs.start;
           piece != NULL && pr < it->node->data.mapping.pairs.top; pr++) {
        const char *k = tc_cfg_yaml_scalar(prof->doc.nodes.start + pr->key - 1);
        const char *v =
            tc_cfg_yaml_scalar(prof->doc.nodes.start + pr->value - 1);
        char *next = tc_cfg_printf("%s%s%s=%s", piece, *piece ? "," : "", k,
                                   v != NULL ? v : "");
        free(piece);
        piece = next;
      }
    }
    if (piece == NULL) {
      free(out);
      return NULL;
    }
    char *next = tc_cfg_printf("%s%s%s", out, i ? sep : "", piece);
    free(piece);
    free(out);
    out = next;
  }
  return out;
}

/* One --mcp.command-pass-env entry: a variable name, listed once. */
static int check_pass_env(struct tc_config *cfg, const struct tc_cfg_item *it,
                          char **err) {
  const char *name = it->text != NULL ? it->text : "";
  if (*name == '\0')
    return tc_cfg_fail(
        err, "blank variable name in %s (remove the empty entry)", it->where);
  if (!tc_cfg_env_name_ok(name))
    return tc_cfg_bad(err, "invalid variable name", it->where, name,
                      "a name is letters, digits and '_', not starting "
                      "with a digit");
  for (size_t i = 0; i < cfg->mcp_command_pass_env_count; i++)
    if (strcmp(cfg->mcp_command_pass_env[i], name) == 0)
      return tc_cfg_bad(err, "duplicate variable", it->where, name,
                        "list each variable once");
  char **n = realloc(cfg->mcp_command_pass_env,
                     (cfg->mcp_command_pass_env_count + 1) * sizeof(*n));
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->mcp_command_pass_env = n;
  n[cfg->mcp_command_pass_env_count] = tc_cfg_strdup(name);
  if (n[cfg->mcp_command_pass_env_count] == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->mcp_command_pass_env_count++;
  return 0;
}

static int load_list(struct tc_config *cfg, const struct tc_cfg_key *k,
                     const struct tc_cfg_flagset *fs,
                     const struct tc_cfg_profile *prof, char **err) {
  struct tc_cfg_pick pick;
  int rc = tc_cfg_pick_key(k, fs, prof, &pick, err);
  if (rc == 0 && k->id == TC_K_CP_POLL_CHANNELS)
    for (size_t i = 0; rc == 0 && i < pick.count; i++)
      rc = check_poll_channel(cfg, &pick.items[i], err);
  if (rc == 0 && k->id == TC_K_HEALTH_ALLOWED_HOSTS)
    for (size_t i = 0; rc == 0 && i < pick.count; i++)
      rc = check_allowed_hosts(cfg, &pick.items[i], err);
  if (rc == 0 && k->id == TC_K_MCP_COMMAND_PASS_ENV)
    for (size_t i = 0; rc == 0 && i < pick.count; i++)
      rc = check_pass_env(cfg, &pick.items[i], err);
  if (rc == 0 && pick.layer != TC_L_NONE) {
    char *joined = join_items(prof, &pick, k->type == TC_T_TARGETS ? ";" : ",");
    if (joined == NULL)
      rc = tc_cfg_fail(err, "out of memory");
    else
      rc = set_effective(cfg, k, joined,
                         pick.count > 0 ? pick.items[0].where : pick.source,
                         err);
    free(joined);
  }
  tc_cfg_pick_free(&pick);
  return rc;
}

/* Effective entries for the bindings: "channel=url" (URLs without
 * credentials or query); commands are not exposed. */
static int bindings_effective(struct tc_config *cfg, char **err) {
  char *out = tc_cfg_strdup("");
  for (size_t i = 0; out != NULL && i < cfg->binding_count; i++) {
    const struct tc_binding_cfg *b = &cfg->bindings[i];
    if (b->url == NULL)
      continue;
    char *safe = tc_cfg_url_safe(b->url);
    char *next = safe != NULL ? tc_cfg_printf("%s%s%s=%s", out, *out ? "," : "",
                                              b->channel, safe)
                              : NULL;
    free(safe);
    free(out);
    out = next;
  }
  if (out == NULL)
    return tc_cfg_fail(err, "out of memory");
  int rc = 0;
  if (*out != '\0' &&
      tc_kvlist_set(&cfg->effective, "mcp.server_urls", out, NULL) != 0)
    rc = tc_cfg_fail(err, "out of memory");
  free(out);
  return rc;
}

static const char *last_flag(const struct tc_cfg_flagset *fs, int id) {
  const char *spelled = NULL;
  const struct tc_cfg_flagvals *fv = tc_cfg_flags_get(fs, id, &spelled);
  return fv != NULL && fv->count > 0 ? fv->vals[fv->count - 1] : NULL;
}

static int load_keys(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                     const struct tc_cfg_profile *prof, char **err) {
  for (int id = 0; id < TC_K_COUNT; id++) {
    const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
    int rc = 0;
    /* The variables behind secret settings (API key, header values,
     * tokens, proxy URLs with credentials) stay out of stdio children. */
    if ((k->flags & TC_F_SECRET) || k->check == tc_cfg_check_proxy_url) {
      (void)tc_child_env_withhold(k->env);
      (void)tc_child_env_withhold(k->env_late);
    }
    switch (k->type) {
    case TC_T_STR:
    case TC_T_PATH:
    case TC_T_INT:
    case TC_T_BYTES:
    case TC_T_DUR:
    case TC_T_BOOL:
    case TC_T_LEVEL:
    case TC_T_FORMAT:
      rc = load_scalar(cfg, k, fs, prof, err);
      break;
    case TC_T_LIST:
    case TC_T_TARGETS:
      rc = load_list(cfg, k, fs, prof, err);
      break;
    case TC_T_HEADERS:
      rc = tc_cfg_headers_load(
          k, fs, prof, (struct tc_headers *)((char *)cfg + k->off), err);
      if (rc == 0)
        rc = set_effective(cfg, k, NULL, NULL, err);
      break;
    default:
      break; /* selection, bindings and modules are loaded elsewhere */
    }
    if (rc != 0)
      return -1;
  }
  return 0;
}

int tc_config_load(struct tc_config *cfg, int argc, char *const argv[],
                   enum tc_config_mode mode, const struct tc_cmd_flag *extra,
                   char ***positionals, size_t *positional_count, char **err) {
  char *local_err = NULL;
  if (err == NULL)
    err = &local_err;
  *err = NULL;
  memset(cfg, 0, sizeof(*cfg));
  cfg->log_level = TC_LOG_INFO;
  if (positionals != NULL)
    *positionals = NULL;
  if (positional_count != NULL)
    *positional_count = 0;

  struct tc_cfg_flagset *fs = calloc(1, sizeof(*fs));
  struct tc_cfg_profile prof;
  memset(&prof, 0, sizeof(prof));
  const struct tc_cfg_profile *profp = NULL;
  int rc = -1;
  if (fs == NULL) {
    tc_cfg_fail(err, "out of memory");
    goto done;
  }
  if (tc_cfg_flags_parse(fs, argc, argv, extra, positionals, positional_count,
                         err) != 0)
    goto done;

  struct tc_profile_flags pf = {
      last_flag(fs, TC_K_CONFIG), last_flag(fs, TC_K_PROFILE),
      last_flag(fs, TC_K_PROFILE_FILE), last_flag(fs, TC_K_PROFILE_DIR)};
  if (tc_profile_select(&pf, &cfg->profile_path, &cfg->profile_name, err) != 0)
    goto done;
  if (cfg->profile_path != NULL) {
    if (tc_cfg_profile_read(&prof, cfg->profile_path, err) != 0)
      goto done;
    profp = &prof;
  }
  if (load_keys(cfg, fs, profp, err) != 0 ||
      tc_cfg_bindings_load(cfg, fs, profp, err) != 0 ||
      bindings_effective(cfg, err) != 0 ||
      tc_cfg_modules_load(cfg, fs, profp, err) != 0 ||
      tc_cfg_rules_check(cfg, mode, err) != 0)
    goto done;
  rc = 0;
done:
  tc_cfg_profile_free(&prof);
  if (fs != NULL)
    tc_cfg_flags_free(fs);
  free(fs);
  if (rc != 0) {
    tc_config_free(cfg);
    if (positionals != NULL) {
      free(*positionals);
      *positionals = NULL;
    }
    if (positional_count != NULL)
      *positional_count = 0;
    if (*err == NULL)
      *err = tc_cfg_strdup("invalid configuration");
  }
  free(local_err);
  return rc;
}
