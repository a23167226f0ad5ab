/* Unit tests for controlplane/server_info.c: the v1 header value, order,
 * proc_affinity, the allowlist, harpoon, and every limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/server_info.h"

static void builds(const struct tc_cp_server_channel *ch, size_t n,
                   const char *const *allow, size_t an, bool harpoon,
                   const char *want) {
  char *err = NULL;
  char *got = tc_cp_server_info_build(ch, n, allow, an, harpoon, &err);
  assert_null(err);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void fails(const struct tc_cp_server_channel *ch, size_t n,
                  const char *const *allow, size_t an, bool harpoon,
                  const char *part) {
  char *err = NULL;
  assert_null(tc_cp_server_info_build(ch, n, allow, an, harpoon, &err));
  assert_non_null(err);
  assert_non_null(strstr(err, part));
  free(err);
}

static void test_shapes(void **state) {
  struct tc_cp_server_channel main_only[] = {{"main", false}};
  builds(main_only, 1, NULL, 0, false,
         "{\"version\":1,\"channels\":[{\"name\":\"main\"}]}");
  builds(main_only, 1, NULL, 0, true,
         "{\"version\":1,\"channels\":[{\"name\":\"main\"},"
         "{\"name\":\"harpoon\",\"proc_affinity\":true}]}");
  struct tc_cp_server_channel three[] = {
      {"main", false}, {"stdio", true}, {"zeta", false}};
  builds(three, 3, NULL, 0, false,
         "{\"version\":1,\"channels\":[{\"name\":\"main\"},{\"name\":"
         "\"stdio\",\"proc_affinity\":true},{\"name\":\"zeta\"}]}");
  const char *allow[] = {"harpoon", "stdio"};
  builds(three, 3, allow, 2, true,
         "{\"version\":1,\"channels\":[{\"name\":\"stdio\","
         "\"proc_affinity\":true},{\"name\":\"harpoon\","
         "\"proc_affinity\":true}]}");
  const char *allow_main[] = {"main"};
  builds(three, 3, allow_main, 1, true, /* harpoon not allowlisted */
         "{\"version\":1,\"channels\":[{\"name\":\"main\"}]}");
}

static void test_limits(void **state) {
  struct tc_cp_server_channel ch[40];
  char names[40][70];
  for (int i = 0; i < 40; i++) {
    snprintf(names[i], sizeof(names[i]), "c%02d", i);
    ch[i].name = names[i];
    ch[i].proc_affinity = false;
  }
  char *err = NULL;
  char *v = tc_cp_server_info_build(ch, 32, NULL, 0, false, &err);
  assert_non_null(v); /* exactly 32 is fine */
  free(v);
  fails(ch, 33, NULL, 0, false, "more than 32 channels");
  fails(ch, 32, NULL, 0, true, "more than 32 channels"); /* + harpoon */
  fails(ch, 0, NULL, 0, false, "no channel");
  const char *allow_none[] = {"other"};
  fails(ch, 3, allow_none, 1, false, "no channel");

  struct tc_cp_server_channel dup[] = {{"main", false}, {"main", true}};
  fails(dup, 2, NULL, 0, false, "appears twice");
  struct tc_cp_server_channel bad[] = {{"Main", false}};
  fails(bad, 1, NULL, 0, false, "not canonical");
  struct tc_cp_server_channel harp[] = {{"harpoon", true}};
  fails(harp, 1, NULL, 0, true, "appears twice");

  /* The largest valid value (32 names of 64 chars, all proc_affinity) is
   * about 3.1 KB, so the 4096-byte limit is a guard that cannot trip with
   * canonical names; check the worst case is accepted and within it. */
  for (int i = 0; i < 32; i++) {
    memset(names[i], 'a', 64);
    snprintf(names[i] + 60, 5, "%04d", i);
    ch[i].proc_affinity = true;
  }
  v = tc_cp_server_info_build(ch, 32, NULL, 0, false, &err);
  assert_non_null(v);
  assert_true(strlen(v) <= 4096);
  free(v);
}

static void test_from_config(void **state) {
  struct tc_binding_cfg b[2];
  memset(b, 0, sizeof(b));
  b[0].channel = (char *)(uintptr_t) "main";
  b[0].transport = (char *)(uintptr_t) "http";
  b[1].channel = (char *)(uintptr_t) "local";
  b[1].transport = (char *)(uintptr_t) "stdio";
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.bindings = b;
  cfg.binding_count = 2;
  char *err = NULL;
  char *v = tc_cp_server_info_from_config(&cfg, false, &err);
  assert_non_null(v);
  assert_string_equal(v, "{\"version\":1,\"channels\":[{\"name\":\"main\"},"
                         "{\"name\":\"local\",\"proc_affinity\":true}]}");
  free(v);
  char *allow[] = {(char *)(uintptr_t) "local"};
  cfg.cp_poll_channels = allow;
  cfg.cp_poll_channel_count = 1;
  v = tc_cp_server_info_from_config(&cfg, true, &err);
  assert_non_null(v);
  assert_string_equal(v, "{\"version\":1,\"channels\":[{\"name\":\"local\","
                         "\"proc_affinity\":true}]}");
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shapes),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
