/* cli/cmd_runtimes_stop_rm.c — `runtimes stop|disconnect A` (SIGTERM to the
 * runtime's process group or its tmux session, wait, then SIGKILL; the URL
 * file removed and the process record marked stopped; a stale record is
 * only cleared, never signalled) and `runtimes rm|remove A` (records,
 * profile, URL and log files deleted; refused while running). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config_internal.h"
#include "util/fs.h"

#define STOP_WAIT_MS 10000

/* The prologue of stop and rm: the one alias named, its state and view.
 * 0 with everything set (the caller releases it with close_known()), or
 * the exit code when the alias is missing or unknown (then nothing is
 * left to release). */
static int open_known(const char *cmd, struct tc_rt_flags *f, char **alias,
                      struct tc_rt_ctx *c, struct tc_rt_view *v) {
  int orc = tc_rt_open_one_alias(cmd, f, alias, c);
  if (orc != 0)
    return orc;
  tc_rt_view_build(c, *alias, v);
  if (v->arec != NULL || v->prec != NULL)
    return 0;
  int rc = tc_cli_fail(cmd,
                       "unknown alias %s; see 'tunnel-client runtimes "
                       "list'",
                       *alias);
  tc_rt_probe_clear(&v->probe);
  tc_rt_ctx_free(c);
  free(*alias);
  return rc;
}

static void close_known(char *alias, struct tc_rt_ctx *c,
                        struct tc_rt_view *v) {
  tc_rt_probe_clear(&v->probe);
  tc_rt_ctx_free(c);
  free(alias);
}

int tc_rt_cmd_stop(struct tc_rt_flags *f) {
  const char *cmd = "runtimes stop";
  char *alias;
  struct tc_rt_ctx c;
  struct tc_rt_view v;
  int orc = open_known(cmd, f, &alias, &c, &v);
  if (orc != 0)
    return orc;
  char *err = NULL;
  int rc = 0;
  bool already = !v.running;
  const char *stop_error = NULL;
  pid_t pid = v.pid;
  if (v.running) {
    if (strcmp(v.mode, "tmux") == 0) {
      tc_rt_proc_stop(v.pid, STOP_WAIT_MS);
      if (tc_rt_tmux_has(tc_rt_sget(v.prec, "tmux_socket"),
                         tc_rt_sget(v.prec, "session_name")))
        tc_rt_tmux_kill(tc_rt_sget(v.prec, "tmux_socket"),
                        tc_rt_sget(v.prec, "session_name"));
    } else if (tc_rt_proc_stop(v.pid, STOP_WAIT_MS) != 0) {
      stop_error = "the process did not exit after SIGTERM and SIGKILL";
    }
  }
  tc_fs_remove_if_exists(tc_rt_view_url_file(&v));
  if (v.prec != NULL && stop_error == NULL) {
    json_object_set_new(v.prec, "mode", json_string("stopped"));
    json_object_del(v.prec, "pid");
    json_object_del(v.prec, "start_ticks");
    char now[32];
    tc_rt_now(now);
    json_object_set_new(v.prec, "stopped_at", json_string(now));
  }
  if (tc_rt_ctx_save(&c, &err) != 0) {
    close_known(alias, &c, &v);
    return tc_rt_fail_err(cmd, err);
  }
  tc_rt_history(c.root, "stop", alias,
                v.arec ? tc_rt_sget(v.arec, "tunnel_id") : NULL,
                already ? "already stopped" : "stopped");
  bool was_stale = v.stale;
  tc_rt_probe_clear(&v.probe);
  tc_rt_view_build(&c, alias, &v);
  json_t *o = tc_rt_view_json(&v);
  json_object_set_new(o, "already_stopped", json_boolean(already));
  json_object_set_new(o, "stopped", json_boolean(stop_error == NULL));
  json_object_set_new(o, "stop_error",
                      stop_error ? json_string(stop_error) : json_null());
  if (f->json)
    tc_print_json(json_incref(o));
  else if (stop_error != NULL)
    rc = tc_cli_fail(cmd, "%s (pid %ld): %s", alias, (long)pid, stop_error);
  else if (already)
    printf("%s was not running%s\n", alias,
           was_stale ? "; cleared its stale process record" : "");
  else
    printf("Stopped %s (pid %ld)\n", alias, (long)pid);
  if (f->json && stop_error != NULL)
    rc = 1;
  json_decref(o);
  close_known(alias, &c, &v);
  return rc;
}

int tc_rt_cmd_rm(struct tc_rt_flags *f) {
  const char *cmd = "runtimes rm";
  char *alias;
  struct tc_rt_ctx c;
  struct tc_rt_view v;
  int orc = open_known(cmd, f, &alias, &c, &v);
  if (orc != 0)
    return orc;
  char *err = NULL;
  int rc = 0;
  if (v.running) {
    rc = tc_cli_fail(cmd,
                     "%s is running (pid %ld); stop it first: "
                     "tunnel-client runtimes stop %s",
                     alias, (long)v.pid, alias);
  } else {
    json_t *removed = json_array();
    const char *tid = v.arec ? tc_rt_sget(v.arec, "tunnel_id") : NULL;
    char *tid_copy = tid ? tc_cfg_strdup(tid) : NULL;
    tc_rt_remove_alias(&c, alias, true, removed);
    if (tc_rt_ctx_save(&c, &err) != 0) {
      rc = tc_rt_fail_err(cmd, err);
      err = NULL;
    } else {
      tc_rt_history(c.root, "rm", alias, tid_copy, NULL);
      if (f->json)
        tc_print_json(json_pack("{s:s,s:b,s:O}", "alias", alias, "removed", 1,
                                "files", removed));
      else
        printf("Removed %s (the remote tunnel is untouched)\n", alias);
    }
    free(tid_copy);
    json_decref(removed);
  }
  close_known(alias, &c, &v);
  return rc;
}
