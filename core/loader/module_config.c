/* loader/module_config.c — a module's declarative config: check the table it
 * declares, then fill its config block from the profile's settings.
 * Secret values never appear in an error message. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loader/loader_internal.h"
#include "util/redact.h"
#include "util/sbuf.h"

#define MC_MAX_FIELDS 256
#define MC_MAX_CONFIG_SIZE (1u << 20)
#define MC_MAX_SECRET_FILE (64u * 1024u)

const char *tc_config_type_name(int type) {
  switch (type) {
  case TC_CFG_STRING:
    return "string";
  case TC_CFG_BOOL:
    return "bool";
  case TC_CFG_INT:
    return "int";
  case TC_CFG_DURATION:
    return "duration";
  case TC_CFG_SECRET:
    return "secret";
  default:
    return "unknown";
  }
}

static int mc_type_layout(int type, size_t *size, size_t *align) {
  switch (type) {
  case TC_CFG_STRING:
  case TC_CFG_SECRET:
    *size = sizeof(char *);
    *align = alignof(char *);
    return 0;
  case TC_CFG_BOOL:
    *size = sizeof(int);
    *align = alignof(int);
    return 0;
  case TC_CFG_INT:
  case TC_CFG_DURATION:
    *size = sizeof(int64_t);
    *align = alignof(int64_t);
    return 0;
  default:
    return -1;
  }
}

const char *tc_format_duration_ms(int64_t ms, char *buf, size_t len) {
  struct tc_sbuf b = TC_SBUF_INIT;
  uint64_t v = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
  if (ms < 0)
    tc_sbuf_putc(&b, '-');
  if (v == 0) {
    tc_sbuf_puts(&b, "0s");
  } else if (v < 1000) {
    tc_sbuf_printf(&b, "%" PRIu64 "ms", v);
  } else {
    uint64_t h = v / 3600000, m = v / 60000 % 60, s = v / 1000 % 60,
             frac = v % 1000;
    if (h)
      tc_sbuf_printf(&b, "%" PRIu64 "h", h);
    if (m)
      tc_sbuf_printf(&b, "%" PRIu64 "m", m);
    if (frac) {
      char f[8];
      snprintf(f, sizeof(f), "%03u", (unsigned)frac);
      for (size_t i = strlen(f); i > 0 && f[i - 1] == '0'; i--)
        f[i - 1] = '\0';
      tc_sbuf_printf(&b, "%" PRIu64 ".%ss", s, f);
    } else if (s) {
      tc_sbuf_printf(&b, "%" PRIu64 "s", s);
    }
  }
  char *out = tc_sbuf_finish(&b);
  snprintf(buf, len, "%s", out ? out : "?");
  free(out);
  return buf;
}

static int mc_bounded(const struct tc_config_field *f) {
  return (f->type == TC_CFG_INT || f->type == TC_CFG_DURATION) &&
         f->min < f->max;
}

const char *tc_config_field_bounds(const struct tc_config_field *f, char *buf,
                                   size_t len) {
  if (!mc_bounded(f)) {
    snprintf(buf, len, "%s", "");
  } else if (f->type == TC_CFG_INT) {
    snprintf(buf, len, "%" PRId64 "..%" PRId64, f->min, f->max);
  } else {
    char a[32], b[32];
    snprintf(buf, len, "%s..%s", tc_format_duration_ms(f->min, a, sizeof(a)),
             tc_format_duration_ms(f->max, b, sizeof(b)));
  }
  return buf;
}

/* ---- parsing one value ----------------------------------------------------
 */

static int mc_parse_bool(const char *v, int *out) {
  if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
    *out = 1;
    return 0;
  }
  if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
    *out = 0;
    return 0;
  }
  return -1;
}

static int mc_parse_int(const char *v, int64_t *out) {
  if (*v == '\0' || isspace((unsigned char)*v))
    return -1;
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0')
    return -1;
  *out = (int64_t)x;
  return 0;
}

/* Parse a BOOL/INT/DURATION text into `slot`. On failure returns -1 with a
 * static *why (the caller names the field and origin). */
static int mc_parse_scalar(const struct tc_config_field *f, const char *text,
                           void *slot, const char **why) {
  if (f->type == TC_CFG_BOOL) {
    int b;
    if (mc_parse_bool(text, &b) != 0) {
      *why = "is not a bool (use true, false, 1 or 0)";
      return -1;
    }
    memcpy(slot, &b, sizeof(b));
    return 0;
  }
  int64_t v;
  if (f->type == TC_CFG_INT) {
    if (mc_parse_int(text, &v) != 0) {
      *why = "is not an integer";
      return -1;
    }
  } else {
    const char *dwhy = NULL;
    if (tc_parse_duration_ms(text, &v, &dwhy) != 0) {
      *why = "is not a duration (use e.g. 250ms, 10s, 1m30s)";
      return -1;
    }
  }
  if (mc_bounded(f) && (v < f->min || v > f->max)) {
    *why = "is out of range";
    return -1;
  }
  memcpy(slot, &v, sizeof(v));
  return 0;
}

/* ---- checking the declared table ---------------------------------------- */

static int mc_fail(char **err, char *msg) {
  *err = msg;
  return -1;
}

int tc_module_config_check(const struct tc_module *m, const char *file,
                           char **err) {
  *err = NULL;
  const struct tc_config_field *fields = tc_module_config_fields(m);
  size_t size = tc_module_config_size(m);
  if (fields == NULL)
    return 0;
  if (size == 0 || size > MC_MAX_CONFIG_SIZE)
    return mc_fail(err, tc_loader_fmt("module %s: declares config fields but "
                                      "config_size is %zu (set .config_size = "
                                      "sizeof(your config struct), at most %u)",
                                      file, size, MC_MAX_CONFIG_SIZE));
  size_t n = 0;
  for (; fields[n].key != NULL; n++) {
    const struct tc_config_field *f = &fields[n];
    size_t fsize, falign;
    char bounds[96];
    if (n >= MC_MAX_FIELDS)
      return mc_fail(err, tc_loader_fmt("module %s: more than %d config "
                                        "fields (is TC_CONFIG_END missing?)",
                                        file, MC_MAX_FIELDS));
    if (f->key[0] == '\0')
      return mc_fail(err, tc_loader_fmt("module %s: config field %zu has an "
                                        "empty key (give every field a key)",
                                        file, n));
    if (mc_type_layout(f->type, &fsize, &falign) != 0)
      return mc_fail(
          err, tc_loader_fmt("module %s: config field \"%s\": unknown type "
                             "%d (use a TC_CFG_* type)",
                             file, f->key, f->type));
    if (f->offset > size || fsize > size - f->offset)
      return mc_fail(
          err, tc_loader_fmt("module %s: config field \"%s\": offset %zu + "
                             "%zu bytes lies outside config_size %zu (use "
                             "offsetof() into the struct config_size "
                             "measures)",
                             file, f->key, f->offset, fsize, size));
    if (f->offset % falign != 0)
      return mc_fail(
          err,
          tc_loader_fmt("module %s: config field \"%s\": offset %zu is "
                        "not aligned for a %s (use offsetof())",
                        file, f->key, f->offset, tc_config_type_name(f->type)));
    for (size_t j = 0; j < n; j++)
      if (strcmp(fields[j].key, f->key) == 0)
        return mc_fail(err, tc_loader_fmt("module %s: config field \"%s\" is "
                                          "declared twice (keys must be "
                                          "unique)",
                                          file, f->key));
    if (f->default_value != NULL && f->type != TC_CFG_STRING &&
        f->type != TC_CFG_SECRET) {
      union {
        int b;
        int64_t i;
      } scratch;
      const char *why = NULL;
      if (mc_parse_scalar(f, f->default_value, &scratch, &why) != 0)
        return mc_fail(
            err,
            tc_loader_fmt("module %s: config field \"%s\": default "
                          "\"%s\" %s%s%s (fix the module's config "
                          "table)",
                          file, f->key, f->default_value, why,
                          mc_bounded(f) ? ", allowed " : "",
                          tc_config_field_bounds(f, bounds, sizeof(bounds))));
    }
  }
  return 0;
}

/* ---- filling ------------------------------------------------------------- */

static const struct tc_config_field *
mc_field(const struct tc_config_field *fields, const char *key) {
  for (size_t i = 0; fields != NULL && fields[i].key != NULL; i++)
    if (strcmp(fields[i].key, key) == 0)
      return &fields[i];
  return NULL;
}

/* "<origin>: module \"name\"" — where a setting came from. */
static char *mc_where(const struct tc_module *m, const struct tc_kv *kv) {
  if (kv != NULL && kv->origin != NULL && kv->origin[0] != '\0')
    return tc_loader_fmt("%s: module \"%s\"", kv->origin, m->name);
  return tc_loader_fmt("module \"%s\"", m->name);
}

static int mc_valid_env_name(const char *s) {
  if (!(isalpha((unsigned char)*s) || *s == '_'))
    return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_'))
      return 0;
  return 1;
}

/* Read a secret file (trailing whitespace trimmed). 0 or -1 + *why. */
static int mc_read_secret_file(const char *path, char **out, const char **why) {
  FILE *fp = fopen(path, "rbe");
  if (fp == NULL) {
    *why = strerror(errno);
    return -1;
  }
  char *buf = malloc(MC_MAX_SECRET_FILE + 1);
  if (buf == NULL) {
    fclose(fp);
    *why = "out of memory";
    return -1;
  }
  size_t n = fread(buf, 1, MC_MAX_SECRET_FILE + 1, fp);
  int rd_err = ferror(fp);
  fclose(fp);
  if (rd_err || n > MC_MAX_SECRET_FILE) {
    explicit_bzero(buf, MC_MAX_SECRET_FILE + 1);
    free(buf);
    *why = rd_err ? "read error" : "file is larger than 64 KiB";
    return -1;
  }
  while (n > 0 && isspace((unsigned char)buf[n - 1]))
    n--;
  buf[n] = '\0';
  *out = buf;
  return 0;
}

/* Resolve a SECRET's text: env:NAME, file:PATH or a literal. On failure *err
 * names the reference (a variable name or path), never the value. */
static int mc_resolve_secret(const struct tc_module *m,
                             const struct tc_config_field *f,
                             const struct tc_kv *kv, const char *text,
                             char **out, char **err) {
  const char *why = NULL;
  char *where = NULL;
  *out = NULL;
  if (strncasecmp(text, "env:", 4) == 0) {
    const char *name = text + 4;
    const char *v = mc_valid_env_name(name) ? getenv(name) : NULL;
    if (v != NULL && *v != '\0') {
      *out = strdup(v);
      return *out ? 0 : mc_fail(err, tc_loader_fmt("out of memory"));
    }
    where = mc_where(m, kv);
    *err = mc_valid_env_name(name)
               ? tc_loader_fmt("%s: setting \"%s\": environment variable %s "
                               "is unset or empty (export it, or change the "
                               "env: reference)",
                               where ? where : "", f->key, name)
               : tc_loader_fmt("%s: setting \"%s\": invalid env: reference "
                               "(use env:NAME with NAME matching "
                               "[A-Za-z_][A-Za-z0-9_]*)",
                               where ? where : "", f->key);
    free(where);
    return -1;
  }
  if (strncasecmp(text, "file:", 5) == 0) {
    const char *path = text + 5;
    if (*path != '\0' && mc_read_secret_file(path, out, &why) == 0 &&
        **out != '\0')
      return 0;
    if (*out != NULL) {
      free(*out);
      *out = NULL;
      why = "file is empty";
    }
    where = mc_where(m, kv);
    *err = tc_loader_fmt("%s: setting \"%s\": cannot read secret file "
                         "\"%s\": %s (point file: at a readable, non-empty "
                         "file)",
                         where ? where : "", f->key, path,
                         why ? why : "empty path");
    free(where);
    return -1;
  }
  *out = strdup(text);
  return *out ? 0 : mc_fail(err, tc_loader_fmt("out of memory"));
}

static void mc_free_string_slot(const struct tc_config_field *f, char *block) {
  char *s;
  memcpy(&s, block + f->offset, sizeof(s));
  if (s == NULL)
    return;
  if (f->type == TC_CFG_SECRET)
    explicit_bzero(s, strlen(s));
  free(s);
  s = NULL;
  memcpy(block + f->offset, &s, sizeof(s));
}

/* Store `text` (a default when kv is NULL) into the field's slot. */
static int mc_store(const struct tc_module *m, const char *file,
                    const struct tc_config_field *f, const struct tc_kv *kv,
                    const char *text, char *block, char **err) {
  void *slot = block + f->offset;
  if (f->type == TC_CFG_STRING || f->type == TC_CFG_SECRET) {
    char *v = NULL;
    if (f->type == TC_CFG_SECRET) {
      if (mc_resolve_secret(m, f, kv, text, &v, err) != 0)
        return -1;
      tc_redact_add_secret(v);
    } else {
      v = strdup(text);
      if (v == NULL)
        return mc_fail(err, tc_loader_fmt("out of memory"));
    }
    mc_free_string_slot(f, block);
    memcpy(slot, &v, sizeof(v));
    return 0;
  }
  const char *why = NULL;
  if (mc_parse_scalar(f, text, slot, &why) == 0)
    return 0;
  char bounds[96];
  if (kv == NULL) /* defaults were checked; only a bug gets here */
    return mc_fail(err, tc_loader_fmt("module %s: config field \"%s\": "
                                      "default %s",
                                      file, f->key, why));
  char *where = mc_where(m, kv);
  *err = tc_loader_fmt(
      "%s: setting \"%s\": \"%s\" %s%s%s (see 'tunnel-client "
      "modules describe %s')",
      where ? where : "", f->key, text, why, mc_bounded(f) ? ", allowed " : "",
      tc_config_field_bounds(f, bounds, sizeof(bounds)), m->name);
  free(where);
  return -1;
}

/* Comma-separated keys the module declares, for the unknown-key message. */
static char *mc_known_keys(const struct tc_config_field *fields) {
  struct tc_sbuf b = TC_SBUF_INIT;
  for (size_t i = 0; fields != NULL && fields[i].key != NULL; i++)
    tc_sbuf_printf(&b, "%s%s", i ? ", " : "", fields[i].key);
  return tc_sbuf_finish(&b);
}

static int mc_check_keys(const struct tc_module *m,
                         const struct tc_config_field *fields,
                         const struct tc_kvlist *settings, char **err) {
  for (size_t i = 0; settings != NULL && i < settings->count; i++) {
    const struct tc_kv *kv = &settings->items[i];
    const char *key = kv->key != NULL ? kv->key : "";
    for (size_t j = 0; j < i; j++)
      if (settings->items[j].key != NULL &&
          strcmp(settings->items[j].key, key) == 0) {
        char *where = mc_where(m, kv);
        *err =
            tc_loader_fmt("%s: setting \"%s\" is given twice (first at "
                          "%s; keep one)",
                          where ? where : "", key,
                          settings->items[j].origin ? settings->items[j].origin
                                                    : "an earlier entry");
        free(where);
        return -1;
      }
    if (mc_field(fields, key) != NULL)
      continue;
    char *where = mc_where(m, kv);
    char *known = mc_known_keys(fields);
    *err = tc_loader_fmt("%s: unknown setting \"%s\" (%s%s; see "
                         "'tunnel-client modules describe %s')",
                         where ? where : "", key,
                         known && *known ? "known settings: "
                                         : "this module has no settings",
                         known ? known : "", m->name);
    free(where);
    free(known);
    return -1;
  }
  return 0;
}

int tc_module_config_fill(const struct tc_module *m, const char *file,
                          const struct tc_kvlist *settings, void **block,
                          char **err) {
  *block = NULL;
  *err = NULL;
  const struct tc_config_field *fields = tc_module_config_fields(m);
  if (mc_check_keys(m, fields, settings, err) != 0)
    return -1;
  if (fields == NULL)
    return 0;
  char *b = calloc(1, tc_module_config_size(m));
  if (b == NULL)
    return mc_fail(err, tc_loader_fmt("module %s: out of memory for its "
                                      "config block",
                                      file));
  for (size_t i = 0; fields[i].key != NULL; i++) {
    const struct tc_config_field *f = &fields[i];
    const struct tc_kv *kv = NULL;
    for (size_t j = 0; settings != NULL && j < settings->count; j++)
      if (settings->items[j].key != NULL &&
          strcmp(settings->items[j].key, f->key) == 0)
        kv = &settings->items[j];
    const char *text =
        kv != NULL ? (kv->value != NULL ? kv->value : "") : f->default_value;
    if (text == NULL)
      continue;
    if (mc_store(m, file, f, kv, text, b, err) != 0) {
      tc_module_config_free(m, b);
      return -1;
    }
  }
  *block = b;
  return 0;
}

void tc_module_config_free(const struct tc_module *m, void *block) {
  if (block == NULL)
    return;
  const struct tc_config_field *fields = tc_module_config_fields(m);
  for (size_t i = 0; fields != NULL && fields[i].key != NULL; i++)
    if (fields[i].type == TC_CFG_STRING || fields[i].type == TC_CFG_SECRET)
      mc_free_string_slot(&fields[i], block);
  free(block);
}
