/* cli/cmd_runtimes_connect.c — `runtimes connect`: check the MCP target and
 * the runtime key reference, resolve the tunnel, write the alias's profile,
 * start `run --profile-dir D --profile P` in the background (a detached
 * process or a tmux session), record it, then wait for /healthz and
 * /readyz and report. An alias that is already running is only reported. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "config/profiles.h"
#include "util/fs.h"

#define DEFAULT_WAIT_MS 15000

/* Inline credentials in an MCP target: URL userinfo or a query parameter
 * that looks like a secret, or a command-line secret option. */
static bool target_has_secret(const char *t) {
  static const char *const words[] = {
      "token=", "key=",     "secret=",    "password=",  "passwd=",
      "auth=",  "--token ", "--api-key ", "--password "};
  if (tc_cfg_url_has_userinfo(t))
    return true;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    size_t wl = strlen(words[i]);
    for (const char *p = t; *p; p++)
      if (strncasecmp(p, words[i], wl) == 0)
        return true;
  }
  return false;
}

static char *self_exe(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return tc_cfg_strdup(buf);
}

static int parse_wait(const char *text, int64_t *ms) {
  if (text == NULL) {
    *ms = DEFAULT_WAIT_MS;
    return 0;
  }
  const char *why = NULL;
  if (tc_parse_duration_ms(text, ms, &why) != 0 || *ms <= 0 || *ms > 600000)
    return -1;
  return 0;
}

static int write_profile(const char *path, const json_t *profile, char **err) {
  char *dir = tc_cfg_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL) {
    *slash = '\0';
    if (tc_rt_mkdirs(dir, err) != 0) {
      free(dir);
      return -1;
    }
  }
  free(dir);
  return tc_rt_save(path, profile, err);
}

int tc_rt_cmd_connect(struct tc_rt_flags *f) {
  const char *cmd = "runtimes connect";
  if (f->npos > 0)
    return tc_cli_fail(cmd,
                       "unexpected argument \"%.64s\"; the alias is "
                       "given with --alias",
                       f->pos[0]);
  char *alias = tc_rt_alias_arg(cmd, f->alias);
  if (alias == NULL)
    return 1;
  int rc = 1;
  char *err = NULL, *prof_name = NULL, *profile_dir = NULL, *config_path = NULL;
  char *url_file = NULL, *log_path = NULL, *logs_dir = NULL, *health_dir = NULL;
  char *exe = NULL, *remote_error = NULL, *session = NULL, *socket = NULL;
  char *own_url = NULL, *own_cmd = NULL, *own_key_ref = NULL, *own_pname = NULL;
  json_t *tunnel = NULL, *profile = NULL, *payload = NULL;
  struct tc_admin_api base_api = {0};
  struct tc_rt_ctx c;
  struct tc_rt_view v;
  memset(&v, 0, sizeof(v));
  int64_t wait_ms = 0;
  if (parse_wait(f->wait, &wait_ms) != 0) {
    free(alias);
    return tc_cli_fail(cmd, "--wait must be a duration between 1ms and 10m "
                            "(e.g. 15s)");
  }
  const char *mode = f->mode ? f->mode : "process";
  if (strcmp(mode, "process") != 0 && strcmp(mode, "tmux") != 0 &&
      strcmp(mode, "auto") != 0) {
    free(alias);
    return tc_cli_fail(cmd, "--mode must be process, tmux or auto");
  }
  if (tc_rt_ctx_open(&c, &err) != 0) {
    rc = tc_rt_fail_err(cmd, err);
    goto out;
  }
  json_t *arec = json_object_get(c.aliases, alias);

  /* Already running: report, do not start a second one. */
  tc_rt_view_build(&c, alias, &v);
  if (v.running) {
    payload = tc_rt_view_json(&v);
    json_object_set_new(payload, "already_running", json_true());
    json_object_set_new(payload, "launched", json_false());
    if (f->json)
      tc_print_json(json_incref(payload));
    else {
      printf("%s is already running (pid %ld, %s mode)\n", alias, (long)v.pid,
             v.mode);
      tc_rt_view_print(payload);
    }
    rc = 0;
    goto out;
  }

  /* Target: exactly one source, or the alias's previous one. */
  int nsrc = (f->mcp_url != NULL) + (f->mcp_cmd != NULL) + (f->embedded);
  if (nsrc > 1) {
    rc = tc_cli_fail(cmd, "give one of --mcp-server-url, --mcp-command and "
                          "--embedded-mcp-stub");
    goto out;
  }
  /* Copies: the alias record's strings are replaced further down. */
  const char *mcp_url = f->mcp_url, *mcp_cmd = f->mcp_cmd;
  bool embedded = f->embedded;
  if (nsrc == 0 && arec != NULL) {
    mcp_url = tc_rt_sget(arec, "mcp_server_url");
    mcp_cmd = tc_rt_sget(arec, "mcp_command");
    embedded = json_is_true(json_object_get(arec, "embedded_mcp_stub"));
  }
  mcp_url = own_url = mcp_url ? tc_cfg_strdup(mcp_url) : NULL;
  mcp_cmd = own_cmd = mcp_cmd ? tc_cfg_strdup(mcp_cmd) : NULL;
  if (mcp_url == NULL && mcp_cmd == NULL && !embedded) {
    rc = tc_cli_fail(cmd, "needs an MCP target: --mcp-server-url URL, "
                          "--mcp-command CMD or --embedded-mcp-stub");
    goto out;
  }
  const char *why = NULL;
  if (mcp_url != NULL && tc_cfg_check_http_url(mcp_url, &why) != 0) {
    rc = tc_cli_fail(cmd, "invalid --mcp-server-url: %s", why);
    goto out;
  }
  if ((mcp_url && target_has_secret(mcp_url)) ||
      (mcp_cmd && target_has_secret(mcp_cmd))) {
    rc = tc_cli_fail(cmd, "the MCP target carries an inline credential; keep "
                          "secrets out of the profile (use the server's own "
                          "configuration or environment)");
    goto out;
  }

  /* Runtime key reference: must resolve now so the launch cannot fail on
   * it later. */
  const char *key_ref = f->runtime_key ? f->runtime_key
                        : arec && tc_rt_sget(arec, "runtime_api_key_ref")
                            ? tc_rt_sget(arec, "runtime_api_key_ref")
                            : "env:CONTROL_PLANE_API_KEY";
  key_ref = own_key_ref = tc_cfg_strdup(key_ref);
  if (key_ref == NULL || !tc_key_ref_ok(key_ref)) {
    rc = tc_cli_fail(cmd, "--runtime-api-key must be env:NAME or file:PATH "
                          "(a literal key is refused)");
    goto out;
  }
  char *key = tc_key_ref_resolve(key_ref, "--runtime-api-key", &err);
  if (key == NULL) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  free(key);

  /* Base URL for the profile: flag > $CONTROL_PLANE_BASE_URL > admin
   * profile > default. */
  json_t *aprof = NULL;
  tc_rt_admin_from_profile(&c, f, arec, &aprof, NULL);
  /* A reconnect keeps the alias's control plane unless told otherwise. */
  const char *flag_base = f->base, *flag_path = f->path;
  if (flag_base == NULL && arec != NULL &&
      tc_rt_sget(arec, "control_plane_base_url") != NULL) {
    flag_base = tc_rt_sget(arec, "control_plane_base_url");
    if (flag_path == NULL)
      flag_path = tc_rt_sget(arec, "control_plane_url_path");
  }
  int brc =
      tc_admin_api_base(&base_api, flag_base, flag_path,
                        tc_rt_sget(aprof, "control_plane_base_url"),
                        tc_rt_sget(aprof, "control_plane_url_path"), &err);
  json_decref(aprof);
  if (brc != 0) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* Tunnel. */
  const char *tunnel_id = f->tunnel_id;
  if (tunnel_id == NULL && arec != NULL && f->orgs.n == 0 && f->wss.n == 0)
    tunnel_id = tc_rt_sget(arec, "tunnel_id");
  if (tunnel_id != NULL) {
    if (tc_validate_tunnel_id(tunnel_id, &why) != 0) {
      rc = tc_cli_fail(cmd, "invalid --tunnel-id: %s", why);
      goto out;
    }
    long st = 0;
    json_t *where = json_pack("{s:s?,s:s?}", "control_plane_base_url",
                              flag_base, "control_plane_url_path", flag_path);
    tunnel = tc_rt_remote_get(f, where, tunnel_id, key_ref, &st, &remote_error);
    json_decref(where);
  } else {
    tunnel = tc_rt_resolve_tunnel(&c, f, alias, arec, &prof_name, cmd);
    if (tunnel == NULL)
      goto out;
    tunnel_id = tc_rt_sget(tunnel, "id");
  }
  char *tunnel_id_copy = tc_cfg_strdup(tunnel_id);

  /* Paths. */
  const char *pname = f->profile ? f->profile
                      : arec && tc_rt_sget(arec, "profile_name")
                          ? tc_rt_sget(arec, "profile_name")
                          : alias;
  pname = own_pname = tc_cfg_strdup(pname);
  if (pname == NULL || !tc_profile_name_ok(pname)) {
    free(tunnel_id_copy);
    rc = tc_cli_fail(cmd, "invalid --profile \"%.64s\"", pname);
    goto out;
  }
  const char *dir_flag = f->profile_dir ? f->profile_dir
                         : arec         ? tc_rt_sget(arec, "profile_dir")
                                        : NULL;
  if (tc_profile_dir(dir_flag, &profile_dir, &err) != 0 ||
      tc_profile_path(profile_dir, pname, &config_path, &err) != 0) {
    free(tunnel_id_copy);
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  health_dir = tc_rt_path(c.root, "health");
  logs_dir = tc_rt_path(c.root, "logs");
  url_file = tc_cfg_printf("%s/%s.url", health_dir, alias);
  log_path = tc_cfg_printf("%s/%s.log", logs_dir, alias);
  if (tc_rt_mkdirs(health_dir, &err) != 0 ||
      tc_rt_mkdirs(logs_dir, &err) != 0) {
    free(tunnel_id_copy);
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* The profile (JSON is YAML). The base URL may carry a url-path in
   * base_api.base: split it back. */
  const char *url_path = flag_path;
  profile = json_pack("{s:i,s:{s:s,s:s,s:s},s:{s:s,s:s},s:{s:s,s:s,s:s}}",
                      "config_version", 1, "control_plane", "base_url",
                      flag_base ? flag_base : base_api.base, "tunnel_id",
                      tunnel_id_copy, "api_key", key_ref, "health",
                      "listen_addr", "127.0.0.1:0", "url_file", url_file, "log",
                      "level", "info", "format", "json", "file", log_path);
  free(tunnel_id_copy);
  tunnel_id = NULL;
  if (profile == NULL) {
    rc = tc_cli_fail(cmd, "out of memory");
    goto out;
  }
  if (flag_base == NULL) {
    /* base_api.base = origin + url-path: keep them apart in the profile. */
    struct tc_cfg_url_parts up;
    if (tc_cfg_url_split(base_api.base, &up) == 0 && up.path_len > 0) {
      char *origin =
          tc_cfg_strndup(base_api.base, (size_t)(up.path - base_api.base));
      char *p = tc_cfg_strndup(up.path, up.path_len);
      json_t *cp = json_object_get(profile, "control_plane");
      json_object_set_new(cp, "base_url", json_string(origin));
      json_object_set_new(cp, "url_path", json_string(p));
      free(origin);
      free(p);
    }
  } else if (url_path != NULL && url_path[0] != '\0') {
    json_object_set_new(json_object_get(profile, "control_plane"), "url_path",
                        json_string(url_path));
  }
  if (mcp_url != NULL)
    json_object_set_new(profile, "mcp",
                        json_pack("{s:[{s:s,s:s}]}", "server_urls", "channel",
                                  "main", "url", mcp_url));
  else if (mcp_cmd != NULL)
    json_object_set_new(profile, "mcp",
                        json_pack("{s:[{s:s,s:s}]}", "commands", "channel",
                                  "main", "command", mcp_cmd));
  if (write_profile(config_path, profile, &err) != 0) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* Launch. */
  exe = f->bin ? tc_cfg_strdup(f->bin) : self_exe();
  if (exe == NULL) {
    rc = tc_cli_fail(cmd, "cannot find this program's path; pass "
                          "--tunnel-client-bin PATH");
    goto out;
  }
  char *argv[8];
  size_t an = 0;
  argv[an++] = exe;
  argv[an++] = "run";
  argv[an++] = "--profile-dir";
  argv[an++] = profile_dir;
  argv[an++] = "--profile";
  argv[an++] = (char *)(uintptr_t)pname;
  if (embedded)
    argv[an++] = "--embedded-mcp-stub";
  argv[an] = NULL;
  bool use_tmux = strcmp(mode, "tmux") == 0 ||
                  (strcmp(mode, "auto") == 0 && tc_rt_tmux_available());
  if (strcmp(mode, "tmux") == 0 && !tc_rt_tmux_available()) {
    rc = tc_cli_fail(cmd, "--mode tmux: tmux is not installed (use --mode "
                          "process)");
    goto out;
  }
  tc_fs_remove_if_exists(url_file); /* the wait must not see an old one */
  pid_t pid;
  pid_t child = -1;
  if (use_tmux) {
    socket = tc_rt_tmux_socket(c.root);
    session = tc_rt_tmux_session(c.root, alias);
    const char *env_names[2] = {NULL, NULL};
    char envname[128] = "";
    if (tc_cfg_has_prefix_ci(key_ref, "env:")) {
      snprintf(envname, sizeof(envname), "%s", key_ref + 4);
      env_names[0] = envname;
    }
    if (tc_rt_tmux_has(socket, session)) {
      rc = tc_cli_fail(cmd,
                       "tmux session %s already exists without a "
                       "record; end it with 'tmux -L %s kill-session -t "
                       "%s' and retry",
                       session, socket, session);
      goto out;
    }
    pid = tc_rt_tmux_start(socket, session, argv, env_names, &err);
    if (pid > 1)
      child = -pid;
  } else {
    pid = child = tc_rt_spawn(argv, log_path, &err);
  }
  if (pid < 0) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  char ticks[32];
  tc_rt_proc_start_ticks(pid, ticks, sizeof(ticks));
  char now[32];
  tc_rt_now(now);
  json_t *cmdarr = json_array();
  for (size_t i = 0; i < an; i++)
    json_array_append_new(cmdarr, json_string(argv[i]));
  json_t *prec =
      json_pack("{s:s,s:i,s:s,s:s,s:O,s:s,s:s,s:s,s:s?,s:s?}", "alias", alias,
                "pid", (json_int_t)pid, "start_ticks", ticks, "mode",
                use_tmux ? "tmux" : "process", "command", cmdarr, "log_path",
                log_path, "health_url_file", url_file, "started_at", now,
                "session_name", session, "tmux_socket", socket);
  json_object_set(c.procs, alias, prec);
  json_decref(prec);
  if (arec == NULL) {
    arec = json_pack("{s:s,s:s}", "alias", alias, "created_at", now);
    json_object_set_new(c.aliases, alias, arec);
  }
  json_object_set_new(
      arec, "tunnel_id",
      json_string(
          tc_rt_sget(json_object_get(profile, "control_plane"), "tunnel_id")));
  json_object_set_new(arec, "profile_name", json_string(pname));
  json_object_set_new(arec, "profile_dir", json_string(profile_dir));
  json_object_set_new(arec, "config_path", json_string(config_path));
  json_object_set_new(arec, "runtime_api_key_ref", json_string(key_ref));
  {
    const json_t *cpo = json_object_get(profile, "control_plane");
    json_object_set_new(arec, "control_plane_base_url",
                        json_string(tc_rt_sget(cpo, "base_url")));
    json_object_del(arec, "control_plane_url_path");
    if (tc_rt_sget(cpo, "url_path") != NULL)
      json_object_set_new(arec, "control_plane_url_path",
                          json_string(tc_rt_sget(cpo, "url_path")));
  }
  json_object_set_new(arec, "health_url_file", json_string(url_file));
  json_object_set_new(arec, "log_path", json_string(log_path));
  json_object_set_new(arec, "updated_at", json_string(now));
  json_object_del(arec, "mcp_server_url");
  json_object_del(arec, "mcp_command");
  json_object_del(arec, "embedded_mcp_stub");
  if (mcp_url)
    json_object_set_new(arec, "mcp_server_url", json_string(mcp_url));
  else if (mcp_cmd)
    json_object_set_new(arec, "mcp_command", json_string(mcp_cmd));
  else
    json_object_set_new(arec, "embedded_mcp_stub", json_true());
  if (prof_name)
    json_object_set_new(arec, "admin_profile", json_string(prof_name));
  if (tc_rt_ctx_save(&c, &err) != 0) {
    rc = tc_rt_fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  tc_rt_history(c.root, "connect", alias, tc_rt_sget(arec, "tunnel_id"),
                use_tmux ? "tmux" : "process");

  /* Wait for health. */
  bool progress = !f->json && isatty(STDERR_FILENO);
  struct tc_rt_probe probe = {0};
  int exit_status = 0;
  enum tc_rt_wait_result w = tc_rt_wait(alias, url_file, child, wait_ms,
                                        progress, &probe, &exit_status);
  tc_rt_probe_clear(&probe);
  if (w == TC_RT_WAIT_EXITED) {
    /* Record it as stopped: the pid is gone (and reaped by us). */
    json_object_set_new(json_object_get(c.procs, alias), "mode",
                        json_string("stopped"));
    tc_rt_ctx_save(&c, NULL);
  }
  tc_rt_view_build(&c, alias, &v);
  payload = tc_rt_view_json(&v);
  json_object_set_new(payload, "launched", json_true());
  json_object_set_new(payload, "already_running", json_false());
  json_object_set_new(payload, "started", json_true());
  json_object_set_new(payload, "running", json_boolean(v.running));
  json_object_set_new(payload, "mode",
                      json_string(use_tmux ? "tmux" : "process"));
  json_object_set_new(payload, "command", json_incref(cmdarr));
  json_decref(cmdarr);
  json_object_set_new(payload, "log_path", json_string(log_path));
  if (session)
    json_object_set_new(payload, "session_name", json_string(session));
  json_object_set_new(payload, "tunnel",
                      tunnel ? json_incref(tunnel) : json_null());
  json_object_set_new(payload, "remote_error",
                      remote_error ? json_string(remote_error) : json_null());
  bool ok = w == TC_RT_WAIT_READY || w == TC_RT_WAIT_HEALTHY;
  if (f->json) {
    tc_print_json(json_incref(payload));
    rc = ok ? 0 : 2;
  } else if (ok) {
    printf("Connected %s using %s mode\n", alias,
           use_tmux ? "tmux" : "process");
    tc_rt_view_print(payload);
    rc = 0;
  } else if (w == TC_RT_WAIT_EXITED) {
    json_t *tail = tc_rt_tail(log_path, 1);
    const char *last = json_string_value(json_array_get(tail, 0));
    char how[48] = "";
    if (exit_status >= 0)
      snprintf(how, sizeof(how), " (%s %d)",
               WIFEXITED(exit_status) ? "exit status" : "signal",
               WIFEXITED(exit_status) ? WEXITSTATUS(exit_status)
                                      : WTERMSIG(exit_status));
    tc_cli_fail(cmd, "%s exited during start-up%s%s%.300s; see %s", alias, how,
                last ? ": " : "", last ? last : "", log_path);
    json_decref(tail);
    rc = 1;
  } else {
    tc_cli_fail(cmd,
                "%s did not become healthy within %lldms (state %s)%s%s;"
                " see 'tunnel-client runtimes status %s' and %s",
                alias, (long long)wait_ms, v.state, remote_error ? "; " : "",
                remote_error ? remote_error : "", alias, log_path);
    rc = 2;
  }
out:
  tc_rt_probe_clear(&v.probe);
  json_decref(payload);
  json_decref(profile);
  json_decref(tunnel);
  tc_admin_api_clear(&base_api);
  free(remote_error);
  free(own_url);
  free(own_cmd);
  free(own_key_ref);
  free(own_pname);
  free(session);
  free(socket);
  free(exe);
  free(url_file);
  free(log_path);
  free(logs_dir);
  free(health_dir);
  free(config_path);
  free(profile_dir);
  free(prof_name);
  free(err);
  free(alias);
  tc_rt_ctx_free(&c);
  return rc;
}
