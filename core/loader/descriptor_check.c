/* loader/descriptor_check.c — validate a module descriptor before any of
 * the module's code runs, and read its optional fields safely. */
#include <stddef.h>
#include <string.h>

#include "loader/loader_internal.h"

size_t tc_module_min_struct_size(void) {
  return offsetof(struct tc_module, init) +
         sizeof(((struct tc_module *)0)->init);
}

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}: printable, and usable as a file name. */
static int dc_valid_name(const char *s) {
  size_t n = 0;
  for (const char *p = s; *p; p++, n++) {
    char c = *p;
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!alnum && (n == 0 || (c != '.' && c != '_' && c != '-')))
      return 0;
  }
  return n > 0 && n <= 64;
}

static int dc_fail(char **err, char *msg) {
  *err = msg;
  return -1;
}

int tc_module_check_header(const struct tc_module *m, const char *file,
                           unsigned host_major, unsigned host_minor,
                           char **err) {
  *err = NULL;
  if (m->magic != TC_MODULE_MAGIC)
    return dc_fail(err,
                   tc_loader_fmt("module %s: bad magic 0x%08x, expected 0x%08x "
                                 "(\"TCMD\") (the tc_module symbol is not a "
                                 "tunnel-client descriptor; define it with "
                                 "TC_MODULE_DEFINE)",
                                 file, (unsigned)m->magic, TC_MODULE_MAGIC));
  if (m->abi_major != host_major)
    return dc_fail(
        err, tc_loader_fmt("module %s: ABI major version mismatch: module "
                           "is built for ABI %u.%u, this tunnel-client "
                           "provides ABI %u.%u (rebuild the module against "
                           "this tunnel-client's SDK)",
                           file, (unsigned)m->abi_major, (unsigned)m->abi_minor,
                           host_major, host_minor));
  if (m->abi_minor > host_minor)
    return dc_fail(
        err, tc_loader_fmt("module %s: ABI minor version too new: module "
                           "needs ABI %u.%u, this tunnel-client provides "
                           "only %u.%u (upgrade tunnel-client, or rebuild "
                           "the module against the older SDK)",
                           file, (unsigned)m->abi_major, (unsigned)m->abi_minor,
                           host_major, host_minor));
  if (m->struct_size < tc_module_min_struct_size())
    return dc_fail(
        err, tc_loader_fmt("module %s: descriptor struct_size %u is shorter "
                           "than the ABI 1.0 minimum of %zu bytes (header "
                           "plus init; define the descriptor with "
                           "TC_MODULE_DEFINE)",
                           file, (unsigned)m->struct_size,
                           tc_module_min_struct_size()));
  if (m->name == NULL || m->name[0] == '\0')
    return dc_fail(err, tc_loader_fmt("module %s: descriptor has no name "
                                      "(set .name in TC_MODULE_DEFINE; it "
                                      "must equal the .so basename)",
                                      file));
  if (!dc_valid_name(m->name))
    return dc_fail(err,
                   tc_loader_fmt("module %s: descriptor name is not a valid "
                                 "module name (use 1-64 characters from "
                                 "[A-Za-z0-9._-], starting with a letter or "
                                 "digit)",
                                 file));
  if (m->version == NULL || m->version[0] == '\0')
    return dc_fail(err, tc_loader_fmt("module %s: descriptor \"%s\" has no "
                                      "version (set .version in "
                                      "TC_MODULE_DEFINE, e.g. \"1.0.0\")",
                                      file, m->name));
  if (m->init == NULL)
    return dc_fail(err, tc_loader_fmt("module %s: descriptor \"%s\" has no "
                                      "init function (init is mandatory; set "
                                      ".init in TC_MODULE_DEFINE)",
                                      file, m->name));
  return 0;
}

const char *tc_module_summary(const struct tc_module *m) {
  return TC_HAS_FIELD(m, struct tc_module, summary) ? m->summary : NULL;
}

const struct tc_config_field *
tc_module_config_fields(const struct tc_module *m) {
  return TC_HAS_FIELD(m, struct tc_module, config) ? m->config : NULL;
}

size_t tc_module_config_size(const struct tc_module *m) {
  return TC_HAS_FIELD(m, struct tc_module, config_size) ? m->config_size : 0;
}

void (*tc_module_fini_fn(const struct tc_module *m))(const struct tc_host *) {
  return TC_HAS_FIELD(m, struct tc_module, fini) ? m->fini : NULL;
}
