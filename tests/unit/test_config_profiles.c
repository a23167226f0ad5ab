/* Profile selection (--config / --profile / --profile-file and their env
 * vars), name and file rules, and profile directory resolution. */
#include "config/profiles.h"
#include "config_test_support.h"

/* Only the selection variables and the two keys these tests set are
 * cleared (not the whole key table); HOME is restored after each test. */
static const char *const env_vars[] = {"TUNNEL_CLIENT_CONFIG",
                                       "TUNNEL_CLIENT_PROFILE",
                                       "TUNNEL_CLIENT_PROFILE_FILE",
                                       "TUNNEL_CLIENT_PROFILE_DIR",
                                       "XDG_CONFIG_HOME",
                                       "LOG_LEVEL",
                                       "CONTROL_PLANE_MAX_INFLIGHT_REQUESTS",
                                       NULL};
static char *saved_home;

static int setup(void **state) {
  (void)state;
  unset_env_list(env_vars);
  return make_tmpdir("/tmp/tc-cfg-prof-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  unset_env_list(env_vars);
  if (saved_home != NULL)
    setenv("HOME", saved_home, 1);
  else
    unsetenv("HOME");
  return remove_tmpdir();
}

static void expect_error(const char *want, ...) {
  va_list ap;
  va_start(ap, want);
  char *err = vload_error(want, ap);
  va_end(ap);
  free(err);
}

static void test_mutual_exclusion(void **state) {
  (void)state;
  char *a = write_file("a.yaml", "log:\n  level: info\n");
  expect_error("--config and --profile are mutually exclusive", "--config", a,
               "--profile", "dev", NULL);
  expect_error("--profile and --profile-file are mutually exclusive",
               "--profile", "dev", "--profile-file", a, NULL);
  expect_error("--config and --profile-file are mutually exclusive",
               "--profile-file", a, "--config", a, NULL);

  setenv("TUNNEL_CLIENT_CONFIG", a, 1);
  setenv("TUNNEL_CLIENT_PROFILE", "dev", 1);
  expect_error(
      "TUNNEL_CLIENT_CONFIG and TUNNEL_CLIENT_PROFILE are mutually exclusive",
      NULL);
  unsetenv("TUNNEL_CLIENT_CONFIG");
  setenv("TUNNEL_CLIENT_PROFILE_FILE", a, 1);
  expect_error("TUNNEL_CLIENT_PROFILE and TUNNEL_CLIENT_PROFILE_FILE are "
               "mutually exclusive",
               NULL);

  /* a flag overrides all the env vars (even conflicting ones) */
  struct tc_config cfg;
  char *err = NULL;
  char *b =
      write_file("b.yaml", "control_plane:\n  max_inflight_requests: 7\n");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", b, NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 7);
  assert_string_equal(cfg.profile_path, b);
  assert_null(cfg.profile_name);
  tc_config_free(&cfg);
  free(a);
  free(b);
}

static void test_empty_values(void **state) {
  (void)state;
  expect_error("empty value in --config", "--config", "", NULL);
  expect_error("empty value in --profile", "--profile=", NULL);
  expect_error("empty value in --profile-file", "--profile-file", "", NULL);
  /* empty env vars count as unset */
  setenv("TUNNEL_CLIENT_PROFILE", "", 1);
  setenv("TUNNEL_CLIENT_CONFIG", "", 1);
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  assert_null(cfg.profile_path);
  tc_config_free(&cfg);
}

static void test_names_and_files(void **state) {
  (void)state;
  assert_true(tc_profile_name_ok("dev"));
  assert_true(tc_profile_name_ok("Dev.v1_x-2"));
  assert_true(tc_profile_name_ok("9"));
  assert_false(tc_profile_name_ok(""));
  assert_false(tc_profile_name_ok(".hidden"));
  assert_false(tc_profile_name_ok("-x"));
  assert_false(tc_profile_name_ok("a/b"));
  assert_false(tc_profile_name_ok("a b"));
  assert_false(tc_profile_name_ok("caf\xc3\xa9"));
  char name[200];
  memset(name, 'a', 128);
  name[128] = '\0';
  assert_true(tc_profile_name_ok(name));
  name[128] = 'a';
  name[129] = '\0';
  assert_false(tc_profile_name_ok(name));

  expect_error("invalid profile name in --profile: \"../etc\"", "--profile",
               "../etc", NULL);
  setenv("TUNNEL_CLIENT_PROFILE", "bad name", 1);
  expect_error("invalid profile name in TUNNEL_CLIENT_PROFILE", NULL);
  unsetenv("TUNNEL_CLIENT_PROFILE");

  char *yml = write_file("p.yml", "log: {}\n");
  expect_error("must end in .yaml", "--profile-file", yml, NULL);
  char *yaml = write_file("p.yaml", "log:\n  level: info\n");
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile-file", yaml, NULL), 0);
  assert_string_equal(cfg.profile_path, yaml);
  tc_config_free(&cfg);
  /* --config takes any file name */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", yml, NULL),
                   0);
  tc_config_free(&cfg);
  /* a missing explicit file */
  char *missing = tmp_path("missing.yaml");
  expect_error("cannot read profile", "--profile-file", missing, NULL);
  free(missing);
  free(yml);
  free(yaml);
}

static void test_dir_resolution(void **state) {
  (void)state;
  char *out = NULL, *err = NULL;
  char *home = tmp_path("home");
  char *xdg = tmp_path("xdg");
  char *envdir = tmp_path("envdir");
  setenv("HOME", home, 1);
  assert_int_equal(tc_profile_dir(NULL, &out, &err), 0);
  char want[600];
  snprintf(want, sizeof(want), "%s/.config/tunnel-client", home);
  assert_string_equal(out, want);
  free(out);
  setenv("XDG_CONFIG_HOME", xdg, 1);
  assert_int_equal(tc_profile_dir(NULL, &out, &err), 0);
  snprintf(want, sizeof(want), "%s/tunnel-client", xdg);
  assert_string_equal(out, want);
  free(out);
  setenv("TUNNEL_CLIENT_PROFILE_DIR", envdir, 1);
  assert_int_equal(tc_profile_dir(NULL, &out, &err), 0);
  assert_string_equal(out, envdir);
  free(out);
  assert_int_equal(tc_profile_dir("/flag/dir/", &out, &err), 0);
  assert_string_equal(out, "/flag/dir");
  free(out);
  unsetenv("TUNNEL_CLIENT_PROFILE_DIR");
  unsetenv("XDG_CONFIG_HOME");
  unsetenv("HOME");
  assert_int_equal(tc_profile_dir(NULL, &out, &err), -1);
  assert_non_null(strstr(err, "--profile-dir"));
  free(err);
  err = NULL;

  assert_int_equal(tc_profile_path("/d", "dev", &out, &err), 0);
  assert_string_equal(out, "/d/dev.yaml");
  free(out);
  assert_int_equal(tc_profile_path("/d", "x/y", &out, &err), -1);
  free(err);
  free(home);
  free(xdg);
  free(envdir);
}

/* --profile NAME through each directory source. */
static void test_profile_by_name(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *h = write_file("home/.config/tunnel-client/dev.yaml",
                       "control_plane:\n  max_inflight_requests: 1\n");
  char *x = write_file("xdg/tunnel-client/dev.yaml",
                       "control_plane:\n  max_inflight_requests: 2\n");
  char *e = write_file("envdir/dev.yaml",
                       "control_plane:\n  max_inflight_requests: 3\n");
  char *f = write_file("flagdir/dev.yaml",
                       "control_plane:\n  max_inflight_requests: 4\n");
  char *home = tmp_path("home"), *xdg = tmp_path("xdg"),
       *envdir = tmp_path("envdir"), *flagdir = tmp_path("flagdir");

  setenv("HOME", home, 1);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile", "dev", NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 1);
  assert_string_equal(cfg.profile_path, h);
  assert_string_equal(cfg.profile_name, "dev");
  tc_config_free(&cfg);

  setenv("XDG_CONFIG_HOME", xdg, 1);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile", "dev", NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 2);
  tc_config_free(&cfg);

  setenv("TUNNEL_CLIENT_PROFILE_DIR", envdir, 1);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile", "dev", NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 3);
  tc_config_free(&cfg);

  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--profile", "dev",
                        "--profile-dir", flagdir, NULL),
                   0);
  assert_int_equal(cfg.cp_max_inflight, 4);
  assert_string_equal(cfg.profile_path, f);
  tc_config_free(&cfg);

  /* --profile-dir also applies to the TUNNEL_CLIENT_PROFILE env var */
  setenv("TUNNEL_CLIENT_PROFILE", "dev", 1);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile-dir", flagdir, NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 4);
  assert_string_equal(cfg.profile_name, "dev");
  tc_config_free(&cfg);
  unsetenv("TUNNEL_CLIENT_PROFILE");

  /* a missing profile names the path it looked at */
  char want[600];
  snprintf(want, sizeof(want),
           "profile \"prod\" from --profile not found at "
           "%s/prod.yaml",
           envdir);
  expect_error(want, "--profile", "prod", NULL);

  /* flags and env still beat the profile */
  setenv("CONTROL_PLANE_MAX_INFLIGHT_REQUESTS", "9", 1);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--profile", "dev", NULL), 0);
  assert_int_equal(cfg.cp_max_inflight, 9);
  tc_config_free(&cfg);

  free(h);
  free(x);
  free(e);
  free(f);
  free(home);
  free(xdg);
  free(envdir);
  free(flagdir);
}

int main(void) {
  const char *home = getenv("HOME");
  saved_home = home != NULL ? strdup(home) : NULL;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_mutual_exclusion, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names_and_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dir_resolution, setup, teardown),
      cmocka_unit_test_setup_teardown(test_profile_by_name, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  free(saved_home);
  return rc;
}
