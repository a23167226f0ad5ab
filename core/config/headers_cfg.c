/* config/headers_cfg.c — static extra header lists (control plane, MCP,
 * MCP discovery). Entries are "Name: value" (flag, repeatable; env split on
 * ',' or ';') or a YAML map; a set flag or env var (even empty) drops the
 * YAML map whole. Names are RFC 7230 tokens, canonicalised; duplicates and
 * case variants are refused; values may be env:/file: references and are
 * registered as secrets. Values never appear in errors. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "util/redact.h"

static const char *const reserved_cp[] = {"Authorization",
                                          "Accept",
                                          "User-Agent",
                                          "X-Tunnel-Client-Name",
                                          "X-Tunnel-Client-Version",
                                          "X-Tunnel-Mcp-Server-Info",
                                          NULL};

static bool is_tchar(unsigned char c) {
  return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Canonical form: first letter and letters after '-' upper-case. */
static void canonicalise(char *name) {
  bool upper = true;
  for (char *p = name; *p != '\0'; p++) {
    *p =
        (char)(upper ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
    upper = *p == '-';
  }
}

static int add_one(struct tc_headers *out, const struct tc_cfg_key *k,
                   const char *rawname, const char *rawvalue, const char *where,
                   char **err) {
  char *name = tc_cfg_trimdup(rawname);
  char *value = tc_cfg_trimdup(rawvalue);
  char *resolved = NULL;
  int rc = -1;
  if (name == NULL || value == NULL) {
    tc_cfg_fail(err, "out of memory");
    goto done;
  }
  bool ok = *name != '\0';
  for (const char *p = name; ok && *p != '\0'; p++)
    ok = is_tchar((unsigned char)*p);
  if (!ok) {
    /* not echoed: a misplaced token could end up in the name */
    tc_cfg_fail(err,
                "invalid header name in %s (a header name is letters, digits "
                "and -!#$%%&'*+.^_`|~, as in \"X-Team: value\")",
                where);
    goto done;
  }
  canonicalise(name);
  if (*value == '\0') {
    tc_cfg_fail(err, "empty value for header %s in %s (give it a value)", name,
                where);
    goto done;
  }
  bool was_ref = false;
  tc_cfg_ref_withhold(value);
  if (tc_cfg_ref_resolve(value, TC_CFG_REF_VALUE, where, &resolved, &was_ref,
                         err) != 0)
    goto done;
  for (const unsigned char *p = (const unsigned char *)resolved; *p != '\0';
       p++) {
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
      tc_cfg_fail(err,
                  "invalid value for header %s in %s: it contains control "
                  "characters (keep the value on one line)",
                  name, where);
      goto done;
    }
  }
  if (k->id == TC_K_CP_EXTRA_HEADERS) {
    for (size_t i = 0; reserved_cp[i] != NULL; i++) {
      if (tc_header_name_eq(name, reserved_cp[i])) {
        tc_cfg_fail(err,
                    "reserved header %s in %s (tunnel-client sets it itself; "
                    "remove it from the extra headers)",
                    name, where);
        goto done;
      }
    }
  }
  for (size_t i = 0; i < out->count; i++) {
    if (tc_header_name_eq(out->items[i].name, name)) {
      tc_cfg_fail(err,
                  "duplicate header %s in %s (it is already set as %s; keep "
                  "one entry per header name)",
                  name, where, out->items[i].name);
      goto done;
    }
  }
  tc_redact_add_secret(resolved);
  if (tc_headers_add(out, name, resolved) != TC_OK) {
    tc_cfg_fail(err, "out of memory");
    goto done;
  }
  rc = 0;
done:
  free(name);
  free(value);
  free(resolved);
  return rc;
}

static int from_text(struct tc_headers *out, const struct tc_cfg_key *k,
                     const struct tc_cfg_item *it, char **err) {
  const char *colon = strchr(it->text, ':');
  if (colon == NULL)
    return tc_cfg_fail(err,
                       "malformed %s in %s: an entry has no ':' (write "
                       "\"Name: value\"; separate entries with ',' or ';' in "
                       "env vars)",
                       k->what, it->where);
  char *name = tc_cfg_strndup(it->text, (size_t)(colon - it->text));
  if (name == NULL)
    return tc_cfg_fail(err, "out of memory");
  int rc = add_one(out, k, name, colon + 1, it->where, err);
  free(name);
  return rc;
}

static int from_map(struct tc_headers *out, const struct tc_cfg_key *k,
                    const struct tc_cfg_profile *prof, const yaml_node_t *map,
                    char **err) {
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
       pr < map->data.mapping.pairs.top; pr++) {
    const yaml_node_t *kn = prof->doc.nodes.start + pr->key - 1;
    const yaml_node_t *vn = prof->doc.nodes.start + pr->value - 1;
    const char *name = tc_cfg_yaml_scalar(kn);
    const char *value = tc_cfg_yaml_scalar(vn);
    char *where = tc_cfg_printf("%s:%d (%s.%s)", prof->path,
                                tc_cfg_yaml_line(kn), k->yaml, name);
    if (where == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc =
        add_one(out, k, name, tc_cfg_yaml_is_null(vn) ? "" : value, where, err);
    free(where);
    if (rc != 0)
      return -1;
  }
  return 0;
}

int tc_cfg_headers_load(const struct tc_cfg_key *k,
                        const struct tc_cfg_flagset *fs,
                        const struct tc_cfg_profile *prof,
                        struct tc_headers *out, char **err) {
  struct tc_cfg_pick pick;
  if (tc_cfg_pick_key(k, fs, prof, &pick, err) != 0) {
    tc_cfg_pick_free(&pick);
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < pick.count; i++) {
    const struct tc_cfg_item *it = &pick.items[i];
    if (it->node != NULL && it->node->type == YAML_MAPPING_NODE)
      rc = from_map(out, k, prof, it->node, err);
    else if (it->text != NULL && *it->text != '\0')
      rc = from_text(out, k, it, err);
  }
  tc_cfg_pick_free(&pick);
  return rc;
}
