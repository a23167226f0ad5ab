/* cli/cmd_modules.c — `modules list [--json]` and `modules describe NAME
 * [--json]`: load the selected modules (config flags such as --module,
 * --modules.dir and --profile apply) and report what they provide. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "loader/loader.h"
#include "loader/loader_internal.h"
#include "util/log.h"

static const char cm_usage_text[] =
    "Usage: tunnel-client modules list [--json] [flags]\n"
    "       tunnel-client modules describe NAME|PATH [--json] [flags]\n"
    "\n"
    "list      every module that would load: name, kinds, version, ABI, file\n"
    "describe  one module: summary, what it registers, and its settings\n"
    "\n"
    "Flags: --module NAME|PATH (repeatable; replaces the profile's modules:)\n"
    "       --modules.dir DIR (repeatable; searched before\n"
    "       TUNNEL_CLIENT_MODULE_PATH), --profile NAME, --config FILE\n";

static int cm_error(const char *msg) {
  fprintf(stderr, "%s\n", msg ? msg : "out of memory");
  return 1;
}

static const char *cm_abi(const struct tc_module *d, char *buf, size_t len) {
  snprintf(buf, len, "%u.%u", (unsigned)d->abi_major, (unsigned)d->abi_minor);
  return buf;
}

static json_t *cm_kinds_json(unsigned kinds) {
  json_t *a = json_array();
  for (unsigned bit = 1; bit <= TC_KIND_METRICS_SINK; bit <<= 1)
    if (kinds & bit)
      json_array_append_new(a, json_string(tc_kind_name(bit)));
  return a;
}

/* ---- list ------------------------------------------------------------------
 */

static int cm_list(const struct tc_registry *reg, bool json) {
  char abi[16], kinds[80];
  if (json) {
    json_t *arr = json_array();
    for (size_t i = 0; i < reg->module_count; i++) {
      const struct tc_loaded_module *m = reg->modules[i];
      const char *summary = tc_module_summary(m->desc);
      json_t *o = json_object();
      json_object_set_new(o, "name", json_string(m->desc->name));
      json_object_set_new(o, "kinds", cm_kinds_json(m->kinds));
      json_object_set_new(o, "version", json_string(m->desc->version));
      json_object_set_new(o, "abi",
                          json_string(cm_abi(m->desc, abi, sizeof(abi))));
      json_object_set_new(o, "path", json_string(m->path));
      json_object_set_new(o, "summary",
                          summary ? json_string(summary) : json_null());
      json_array_append_new(arr, o);
    }
    int rc = json_dumpf(arr, stdout, JSON_INDENT(2));
    json_decref(arr);
    printf("\n");
    return rc == 0 ? 0 : 1;
  }
  int wn = 4, wk = 5, wv = 7;
  for (size_t i = 0; i < reg->module_count; i++) {
    const struct tc_loaded_module *m = reg->modules[i];
    int n = (int)strlen(m->desc->name);
    int k = (int)strlen(tc_kinds_string(m->kinds, kinds, sizeof(kinds)));
    int v = (int)strlen(m->desc->version);
    wn = n > wn ? n : wn;
    wk = k > wk ? k : wk;
    wv = v > wv ? v : wv;
  }
  printf("%-*s  %-*s  %-*s  %-4s  %s\n", wn, "NAME", wk, "KINDS", wv, "VERSION",
         "ABI", "PATH");
  for (size_t i = 0; i < reg->module_count; i++) {
    const struct tc_loaded_module *m = reg->modules[i];
    printf("%-*s  %-*s  %-*s  %-4s  %s\n", wn, m->desc->name, wk,
           tc_kinds_string(m->kinds, kinds, sizeof(kinds)), wv,
           m->desc->version, cm_abi(m->desc, abi, sizeof(abi)), m->path);
  }
  return 0;
}

/* ---- describe --------------------------------------------------------------
 */

/* One registered vtable of module m: its kind, name and notable flags. */
struct cm_provided {
  const char *kind;
  const char *name;
  const char *flags; /* "" when none */
};

static size_t cm_provides(const struct tc_registry *reg,
                          const struct tc_loaded_module *m,
                          struct cm_provided *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < reg->transport_count && n < cap; i++) {
    const struct tc_transport_vtable *vt = reg->transports[i].vt;
    if (reg->transports[i].owner != m)
      continue;
    unsigned f = vt->flags & (TC_TRANSPORT_PROC_AFFINITY | TC_TRANSPORT_SERIAL);
    out[n++] = (struct cm_provided){
        "transport", vt->name,
        f == (TC_TRANSPORT_PROC_AFFINITY | TC_TRANSPORT_SERIAL)
            ? "proc_affinity,serial"
        : f == TC_TRANSPORT_PROC_AFFINITY ? "proc_affinity"
        : f == TC_TRANSPORT_SERIAL        ? "serial"
                                          : ""};
  }
  for (size_t i = 0; i < reg->hook_count && n < cap; i++)
    if (reg->hooks[i].owner == m)
      out[n++] = (struct cm_provided){"hook", reg->hooks[i].vt->name, ""};
  for (size_t i = 0; i < reg->net_count && n < cap; i++)
    if (reg->nets[i].owner == m)
      out[n++] = (struct cm_provided){"net", reg->nets[i].vt->name, ""};
  for (size_t i = 0; i < reg->sink_count && n < cap; i++) {
    const struct tc_metrics_sink_vtable *vt = reg->sinks[i].vt;
    if (reg->sinks[i].owner != m)
      continue;
    unsigned f = vt->flags & (TC_SINK_PULL | TC_SINK_PUSH);
    out[n++] =
        (struct cm_provided){"metrics-sink", vt->name,
                             f == (TC_SINK_PULL | TC_SINK_PUSH) ? "pull,push"
                             : f == TC_SINK_PULL                ? "pull"
                                                                : "push"};
  }
  return n;
}

/* The default as shown: secrets only show env:/file: references. */
static const char *cm_default(const struct tc_config_field *f) {
  const char *d = f->default_value;
  if (d == NULL)
    return "";
  if (f->type == TC_CFG_SECRET && strncmp(d, "env:", 4) != 0 &&
      strncmp(d, "file:", 5) != 0)
    return "(hidden)";
  return d;
}

static int cm_describe_json(const struct tc_registry *reg,
                            const struct tc_loaded_module *m) {
  char abi[16];
  struct cm_provided prov[64];
  size_t np = cm_provides(reg, m, prov, 64);
  const char *summary = tc_module_summary(m->desc);
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(m->desc->name));
  json_object_set_new(o, "version", json_string(m->desc->version));
  json_object_set_new(o, "abi", json_string(cm_abi(m->desc, abi, sizeof(abi))));
  json_object_set_new(o, "path", json_string(m->path));
  json_object_set_new(o, "summary",
                      summary ? json_string(summary) : json_null());
  json_object_set_new(o, "kinds", cm_kinds_json(m->kinds));
  json_t *pa = json_array();
  for (size_t i = 0; i < np; i++) {
    json_t *p = json_object();
    json_object_set_new(p, "kind", json_string(prov[i].kind));
    json_object_set_new(p, "name", json_string(prov[i].name));
    json_object_set_new(p, "flags", json_string(prov[i].flags));
    json_array_append_new(pa, p);
  }
  json_object_set_new(o, "provides", pa);
  json_t *sa = json_array();
  const struct tc_config_field *f = tc_module_config_fields(m->desc);
  for (size_t i = 0; f != NULL && f[i].key != NULL; i++) {
    json_t *s = json_object();
    json_object_set_new(s, "key", json_string(f[i].key));
    json_object_set_new(s, "type", json_string(tc_config_type_name(f[i].type)));
    json_object_set_new(s, "default",
                        f[i].default_value ? json_string(cm_default(&f[i]))
                                           : json_null());
    json_object_set_new(s, "help", json_string(f[i].help ? f[i].help : ""));
    if ((f[i].type == TC_CFG_INT || f[i].type == TC_CFG_DURATION) &&
        f[i].min < f[i].max) {
      int ms = f[i].type == TC_CFG_DURATION; /* bounds in milliseconds */
      json_object_set_new(s, ms ? "min_ms" : "min",
                          json_integer((json_int_t)f[i].min));
      json_object_set_new(s, ms ? "max_ms" : "max",
                          json_integer((json_int_t)f[i].max));
    }
    json_array_append_new(sa, s);
  }
  json_object_set_new(o, "settings", sa);
  int rc = json_dumpf(o, stdout, JSON_INDENT(2));
  json_decref(o);
  printf("\n");
  return rc == 0 ? 0 : 1;
}

static void cm_describe_settings(const struct tc_config_field *f) {
  if (f == NULL || f[0].key == NULL) {
    printf("settings: none\n");
    return;
  }
  char bounds[96];
  int wk = 3, wt = 4, wd = 7, wb = 6;
  for (size_t i = 0; f[i].key != NULL; i++) {
    int k = (int)strlen(f[i].key);
    int t = (int)strlen(tc_config_type_name(f[i].type));
    int d = (int)strlen(cm_default(&f[i]));
    int b = (int)strlen(tc_config_field_bounds(&f[i], bounds, sizeof(bounds)));
    wk = k > wk ? k : wk;
    wt = t > wt ? t : wt;
    wd = d > wd ? d : wd;
    wb = b > wb ? b : wb;
  }
  printf("settings (under this module's config: in the profile's "
         "modules: list):\n");
  printf("  %-*s  %-*s  %-*s  %-*s  %s\n", wk, "KEY", wt, "TYPE", wd, "DEFAULT",
         wb, "BOUNDS", "HELP");
  for (size_t i = 0; f[i].key != NULL; i++)
    printf("  %-*s  %-*s  %-*s  %-*s  %s\n", wk, f[i].key, wt,
           tc_config_type_name(f[i].type), wd, cm_default(&f[i]), wb,
           tc_config_field_bounds(&f[i], bounds, sizeof(bounds)),
           f[i].help ? f[i].help : "");
}

static int cm_describe_text(const struct tc_registry *reg,
                            const struct tc_loaded_module *m) {
  char abi[16], kinds[80];
  struct cm_provided prov[64];
  size_t np = cm_provides(reg, m, prov, 64);
  const char *summary = tc_module_summary(m->desc);
  printf("name:     %s\n", m->desc->name);
  printf("version:  %s\n", m->desc->version);
  printf("abi:      %s\n", cm_abi(m->desc, abi, sizeof(abi)));
  printf("path:     %s\n", m->path);
  printf("summary:  %s\n", summary ? summary : "");
  printf("kinds:    %s\n", tc_kinds_string(m->kinds, kinds, sizeof(kinds)));
  for (size_t i = 0; i < np; i++)
    printf("%s %s \"%s\"%s%s%s\n", i ? "         " : "provides:", prov[i].kind,
           prov[i].name, prov[i].flags[0] ? " (" : "", prov[i].flags,
           prov[i].flags[0] ? ")" : "");
  cm_describe_settings(tc_module_config_fields(m->desc));
  return 0;
}

/* The profile/--module entry that names `name`, for its settings. */
static const struct tc_module_req *cm_request_for(const struct tc_config *cfg,
                                                  const char *name) {
  for (size_t i = 0; i < cfg->module_count; i++) {
    const char *spec = cfg->modules[i].spec;
    const char *base = spec ? strrchr(spec, '/') : NULL;
    base = base ? base + 1 : spec;
    size_t n = strlen(name);
    if (spec != NULL &&
        (strcmp(spec, name) == 0 ||
         (strncmp(base, name, n) == 0 && strcmp(base + n, ".so") == 0)))
      return &cfg->modules[i];
  }
  return NULL;
}

static int cm_describe(const struct tc_config *cfg, const char *name,
                       bool json) {
  struct tc_registry reg = {0};
  char *err = NULL;
  const struct tc_loaded_module *m = NULL;
  if (tc_loader_load_all(&reg, cfg, &err) == 0)
    m = tc_registry_module(&reg, name);
  free(err);
  err = NULL;
  if (m == NULL) {
    /* Not among the selected modules (or they failed): load just it. */
    tc_registry_free(&reg);
    const struct tc_module_req *req = cm_request_for(cfg, name);
    if (tc_loader_load_one(&reg, cfg, name, req ? req->settings : NULL,
                           req ? req->origin : "modules describe", &err) != 0) {
      int rc = cm_error(err);
      free(err);
      tc_registry_free(&reg);
      return rc;
    }
    m = reg.modules[0];
  }
  int rc = json ? cm_describe_json(&reg, m) : cm_describe_text(&reg, m);
  tc_registry_free(&reg);
  return rc;
}

/* ---- entry
 * ------------------------------------------------------------------- */

int tc_cmd_modules(int argc, char **argv) {
  if (argc == 0 || strcmp(argv[0], "help") == 0 ||
      strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
    fputs(cm_usage_text, stdout);
    return 0;
  }
  for (int i = 0; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(cm_usage_text, stdout);
      return 0;
    }
  bool json = false;
  const struct tc_cmd_flag extra[] = {{"json", false, &json, NULL},
                                      {NULL, false, NULL, NULL}};
  struct tc_config cfg;
  char **pos = NULL;
  size_t npos = 0;
  char *err = NULL;
  if (tc_config_load(&cfg, argc, argv, TC_CONFIG_LENIENT, extra, &pos, &npos,
                     &err) != 0) {
    int rc = cm_error(err);
    free(err);
    free(pos);
    return rc;
  }
  tc_log_set_level(cfg.log_level); /* --log.level: loader lines on stderr */
  int rc = 1;
  const char *sub = npos > 0 ? pos[0] : "";
  if (npos == 0) {
    fputs(cm_usage_text, stdout);
    rc = 0;
  } else if (strcmp(sub, "list") == 0 && npos == 1) {
    struct tc_registry reg = {0};
    if (tc_loader_load_all(&reg, &cfg, &err) == 0)
      rc = cm_list(&reg, json);
    else
      rc = cm_error(err);
    tc_registry_free(&reg);
  } else if (strcmp(sub, "list") == 0) {
    rc = cm_error("modules list takes no arguments (use 'tunnel-client "
                  "modules describe NAME' for one module)");
  } else if (strcmp(sub, "describe") == 0 && npos == 2) {
    rc = cm_describe(&cfg, pos[1], json);
  } else if (strcmp(sub, "describe") == 0) {
    rc = cm_error("modules describe needs exactly one module name or path "
                  "(see 'tunnel-client modules list')");
  } else {
    fprintf(stderr,
            "unknown modules subcommand \"%s\" (use 'tunnel-client modules "
            "list' or 'tunnel-client modules describe NAME')\n",
            sub);
    rc = 1;
  }
  free(err);
  free(pos);
  tc_config_free(&cfg);
  return rc;
}
