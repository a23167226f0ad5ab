/* cli/cmd_runtimes_cleanup.c — `runtimes cleanup [--apply]`: classify every
 * alias as live_runtime, valid_profile, missing_profile or stale_alias;
 * with --apply the stale_alias ones lose their records, URL and log files
 * (their profiles are kept). */
#include <stdio.h>
#include <string.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"

int tc_rt_cmd_cleanup(struct tc_rt_flags *f) {
  const char *cmd = "runtimes cleanup";
  if (f->npos != 0)
    return tc_cli_fail(cmd, "takes no arguments");
  struct tc_rt_ctx c;
  char *err = NULL;
  if (tc_rt_ctx_open(&c, &err) != 0) {
    tc_rt_ctx_free(&c);
    return tc_rt_fail_err(cmd, err);
  }
  json_t *names = tc_rt_all_aliases(&c);
  json_t *entries = json_array();
  size_t nstale = 0;
  for (size_t i = 0; i < json_array_size(names); i++) {
    const char *a = json_string_value(json_array_get(names, i));
    struct tc_rt_view v;
    tc_rt_view_build(&c, a, &v);
    const char *cfg = v.arec ? tc_rt_sget(v.arec, "config_path") : NULL;
    bool has_profile = tc_rt_file_exists(cfg);
    const char *cls, *detail;
    if (v.running) {
      cls = has_profile ? "live_runtime" : "missing_profile";
      detail = has_profile ? "running" : "running, but its profile is gone";
    } else if (has_profile) {
      cls = "valid_profile";
      detail = v.stale ? "stopped; stale process record" : "stopped";
    } else if (v.arec != NULL && cfg == NULL) {
      cls = "missing_profile";
      detail = "tunnel resolved, never connected (no profile yet)";
    } else {
      cls = "stale_alias";
      detail = v.arec == NULL ? "process record without an alias"
                              : "not running and its profile is gone";
      nstale++;
    }
    json_t *removed = json_array();
    if (f->apply && strcmp(cls, "stale_alias") == 0)
      tc_rt_remove_alias(&c, a, false, removed);
    json_array_append_new(entries,
                          json_pack("{s:s,s:s,s:s,s:b,s:o}", "alias", a,
                                    "class", cls, "detail", detail, "removed",
                                    f->apply && strcmp(cls, "stale_alias") == 0,
                                    "removed_files", removed));
    tc_rt_probe_clear(&v.probe);
  }
  int rc = 0;
  if (f->apply && nstale > 0 && tc_rt_ctx_save(&c, &err) != 0) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
  } else {
    if (f->apply && nstale > 0)
      tc_rt_history(c.root, "cleanup", NULL, NULL, "removed stale aliases");
    if (f->json) {
      tc_print_json(
          json_pack("{s:O,s:b}", "entries", entries, "applied", f->apply));
    } else {
      if (json_array_size(entries) == 0)
        printf("Nothing to clean up.\n");
      for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        printf("%-16s %-20s %s%s\n", tc_rt_sget(e, "class"),
               tc_rt_sget(e, "alias"), tc_rt_sget(e, "detail"),
               json_is_true(json_object_get(e, "removed")) ? " (removed)" : "");
      }
      if (!f->apply && nstale > 0)
        printf("\nRun 'tunnel-client runtimes cleanup --apply' to remove the "
               "%zu stale alias%s.\n",
               nstale, nstale == 1 ? "" : "es");
    }
  }
  json_decref(entries);
  json_decref(names);
  tc_rt_ctx_free(&c);
  return rc;
}
