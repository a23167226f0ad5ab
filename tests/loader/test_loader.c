/* test_loader.c — the module loader against fixture modules that each break
 * one rule, and against the six real modules from the build tree.
 * Usage: test_loader
 *   [descriptor|registrar|config|search|builtins|lifecycle|reload]
 * (no argument runs every group). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <ltdl.h>

#include "config/config.h"
#include "config_fixture.h"
#include "dispatch/reply_budget.h"
#include "loader/loader.h"
#include "loader/loader_internal.h"
#include "ops/metrics_registry.h"
#include "util/redact.h"

/* ---- helpers ------------------------------------------------------------- */

static char *fixture(const char *name) {
  static char buf[8][4096];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof(buf[0]), "%s/%s.so", TC_FIXTURE_DIR, name);
  return b;
}

static char *canonical(const char *path) {
  char *r = realpath(path, NULL);
  assert_non_null(r);
  return r;
}

static void assert_contains(const char *text, const char *needle) {
  if (text == NULL || strstr(text, needle) == NULL)
    fail_msg("expected \"%s\" in: %s", needle, text ? text : "(null)");
}

static void assert_lacks(const char *text, const char *needle) {
  if (text != NULL && strstr(text, needle) != NULL)
    fail_msg("did not expect \"%s\" in: %s", needle, text);
}

/* A config with only module_dirs set (dirs are borrowed). */
static void cfg_with_dirs(struct tc_config *cfg, char **dirs, size_t n) {
  memset(cfg, 0, sizeof(*cfg));
  cfg->module_dirs = dirs;
  cfg->module_dir_count = n;
}

/* Load one fixture by path; it must be refused with an error that is one
 * line, names the file, and states `rule`. Nothing may stay registered. */
static void assert_refused(const char *name, const char *rule) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, NULL, 0);
  char *err = NULL;
  char *path = canonical(fixture(name));
  int rc = tc_loader_load_one(&reg, &cfg, fixture(name), NULL, "test", &err);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_contains(err, path);
  assert_contains(err, rule);
  assert_null(strchr(err, '\n'));
  assert_int_equal(reg.module_count, 0);
  assert_int_equal(
      reg.transport_count + reg.hook_count + reg.net_count + reg.sink_count, 0);
  free(err);
  free(path);
  tc_registry_free(&reg);
}

/* ---- descriptor rules ---------------------------------------------------- */

static void test_bad_magic(void **state) {
  assert_refused("bad_magic", "bad magic 0xdeadbeef, expected 0x54434d44");
}

static void test_major_mismatch(void **state) {
  char want[160];
  snprintf(want, sizeof(want),
           "ABI major version mismatch: module is built for ABI %d.%d, "
           "this tunnel-client provides ABI %d.%d",
           TC_ABI_MAJOR + 1, TC_ABI_MINOR, TC_ABI_MAJOR, TC_ABI_MINOR);
  assert_refused("major_mismatch", want);
}

static void test_minor_newer(void **state) {
  char want[160];
  snprintf(want, sizeof(want),
           "ABI minor version too new: module needs ABI %d.%d, this "
           "tunnel-client provides only %d.%d",
           TC_ABI_MAJOR, TC_ABI_MINOR + 1, TC_ABI_MAJOR, TC_ABI_MINOR);
  assert_refused("minor_newer", want);
}

/* A module built against the older SDK 1.0 headers loads into this host,
 * and its transport reads the binding the host grew since (struct_size
 * larger than the module's view) correctly. */
struct body_capture {
  int calls;
  char body[512];
};

static int capture_body(const struct tc_sink *sink,
                        const struct tc_response *res) {
  struct body_capture *c = sink->core;
  c->calls++;
  snprintf(c->body, sizeof(c->body), "%.*s", (int)res->body_len, res->body);
  return TC_OK;
}

static void test_older_minor_module_works(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, NULL, 0);
  char *err = NULL;
  if (tc_loader_load_one(&reg, &cfg, fixture("abi_1_0"), NULL, "test", &err) !=
      0)
    fail_msg("a 1.0 module was refused: %s", err);
  assert_int_equal(reg.modules[0]->desc->abi_minor, 0);
  assert_true(TC_ABI_MINOR > 0); /* the host really is newer */
  const struct tc_registered_transport *t =
      tc_registry_transport(&reg, "abi-1-0");
  assert_non_null(t);

  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b); /* this host's (grown) size */
  b.channel = "main";
  b.transport = "abi-1-0";
  b.url = "http://127.0.0.1:9/mcp";
  b.connection_max_ttl_ms = 600000;
  b.max_concurrent_requests = 10;
  b.startup_wait_timeout_ms = 1234; /* 1.1: invisible to the module */
  void *inst = NULL;
  char *msg = NULL;
  assert_int_equal(t->vt->create(&t->owner->host, &b, &inst, &msg), TC_OK);
  struct body_capture cap = {0, ""};
  struct tc_sink sink = {sizeof(sink), &cap, NULL, capture_body};
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.channel = "main";
  req.body = "{}";
  req.body_len = 2;
  assert_int_equal(t->vt->call(inst, &req, &sink), TC_OK);
  assert_int_equal(cap.calls, 1);
  assert_string_equal(cap.body,
                      "{\"channel\":\"main\",\"url\":\"http://127.0.0.1:9/"
                      "mcp\",\"ttl\":600000,\"max\":10,"
                      "\"host_struct_larger\":true,\"host_table_larger\":"
                      "true}");
  t->vt->destroy(inst);
  tc_registry_free(&reg);
}

/* ABI 1.4 host members: json_members looks into JSON without decoding
 * (any number size, last duplicate wins, more than 8 keys), and the reply
 * budget is shared by every module's table. */
static void test_host_14_members(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, NULL, 0);
  char *err = NULL;
  if (tc_loader_load_one(&reg, &cfg, fixture("good"), NULL, "test", &err) != 0)
    fail_msg("good fixture refused: %s", err);
  const struct tc_host *h = &reg.modules[0]->host;
  assert_true(TC_HOST_HAS(h, json_members));
  static const char msg[] =
      "{\"id\": 18446744073709551617 ,\"m\":\"x\",\"m\":[1,{\"id\":2}],"
      "\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7}";
  const char *keys[10] = {"id", "m", "a", "b", "c", "d", "e", "f", "g", "zz"};
  size_t off[10], len[10];
  assert_int_equal(h->json_members(msg, strlen(msg), keys, 10, off, len),
                   TC_OK);
  assert_int_equal(len[0], 20);
  assert_memory_equal(msg + off[0], "18446744073709551617", 20);
  assert_memory_equal(msg + off[1], "[1,{\"id\":2}]", len[1]);
  assert_memory_equal(msg + off[8], "7", len[8]);
  assert_int_equal(len[9], 0);
  assert_int_equal(h->json_members("{\"a\":", 5, keys, 1, off, len), TC_EINVAL);
  assert_int_equal(h->json_members("[1]", 3, keys, 1, off, len), TC_EINVAL);
  assert_int_equal(len[0], 0);

  tc_reply_budget_configure(1u << 20);
  assert_int_equal(h->reply_reserve(h, 600u << 10), TC_OK);
  assert_int_equal(h->reply_reserve(h, 600u << 10), TC_ENOMEM);
  assert_int_equal(tc_reply_budget_used(), 600u << 10);
  h->reply_release(h, 600u << 10);
  assert_int_equal(tc_reply_budget_used(), 0);
  tc_reply_budget_configure(0);
  tc_registry_free(&reg);
}

static void test_short_struct_size(void **state) {
  assert_refused("short_size", "shorter than the ABI 1.0 minimum");
}

static void test_missing_init(void **state) {
  assert_refused("missing_init", "has no init function (init is mandatory");
}

static void test_missing_name(void **state) {
  assert_refused("missing_name", "descriptor has no name");
}

static void test_missing_version(void **state) {
  assert_refused("missing_version", "has no version");
}

static void test_no_descriptor_symbol(void **state) {
  assert_refused("no_symbol", "exports no \"tc_module\" symbol");
}

static void test_not_loadable(void **state) {
  assert_refused("garbage", "cannot be loaded: ");
}

static void test_init_fails(void **state) {
  assert_refused("init_fails", "init failed: fixture refuses to start: no "
                               "upstream (TC_ECONFIG");
}

static void test_registers_nothing(void **state) {
  assert_refused("registers_nothing", "init registered nothing");
}

static void test_good_loads(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("good"), NULL, "test", &err), 0);
  assert_null(err);
  assert_int_equal(reg.module_count, 1);
  struct tc_loaded_module *m = tc_registry_module(&reg, "fixture-good");
  assert_non_null(m);
  assert_true(m->initialised);
  assert_int_equal(m->kinds, TC_KIND_TRANSPORT | TC_KIND_HOOK);
  assert_string_equal(m->desc->version, "1.2.3");
  assert_int_equal(m->desc->abi_minor, TC_ABI_MINOR); /* minor == host: ok */
  char *path = canonical(fixture("good"));
  assert_string_equal(m->path, path);
  free(path);
  assert_non_null(tc_registry_transport(&reg, "fixture"));
  assert_ptr_equal(tc_registry_transport(&reg, "fixture")->owner, m);
  assert_non_null(tc_registry_hook(&reg, "fixture-hook"));
  assert_null(tc_registry_transport(&reg, "http"));
  char kinds[64];
  assert_string_equal(tc_kinds_string(m->kinds, kinds, sizeof(kinds)),
                      "transport,hook");
  assert_string_equal(m->host.module_name, "fixture-good");
  assert_int_equal(m->host.abi_major, TC_ABI_MAJOR);
  tc_registry_free(&reg);
}

static void test_not_found(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  char *dirs[] = {TC_FIXTURE_DIR "/dir_a", TC_FIXTURE_DIR "/nowhere"};
  cfg_with_dirs(&cfg, dirs, 2);
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, &cfg, "no-such-module", NULL, "x.yaml:4", &err),
      -1);
  assert_contains(err, "module \"no-such-module\" (from x.yaml:4): not found: "
                       "no no-such-module.so in " TC_FIXTURE_DIR
                       "/dir_a, " TC_FIXTURE_DIR "/nowhere, ");
  assert_contains(err, TC_MODULE_INSTALL_FULL_DIR);
  free(err);
  err = NULL;
  assert_int_equal(tc_loader_load_one(&reg, &cfg, TC_FIXTURE_DIR "/absent.so",
                                      NULL, "--module", &err),
                   -1);
  assert_contains(err, "module " TC_FIXTURE_DIR "/absent.so (from --module): "
                       "No such file or directory");
  free(err);
  tc_registry_free(&reg);
}

static void test_duplicate_name(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("dup_one"), NULL, "test", &err),
      0);
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("dup_two"), NULL, "test", &err),
      -1);
  char *one = canonical(fixture("dup_one")),
       *two = canonical(fixture("dup_two"));
  assert_contains(err, two);
  assert_contains(err, "duplicate module name \"fixture-dup\": already loaded "
                       "from ");
  assert_contains(err, one);
  assert_int_equal(reg.module_count, 1);
  free(one);
  free(two);
  free(err);
  tc_registry_free(&reg);
}

/* The version rule itself, against hosts with a non-zero minor. */
static void test_version_rule(void **state) {
  struct tc_module m;
  memset(&m, 0, sizeof(m));
  m.magic = TC_MODULE_MAGIC;
  m.struct_size = sizeof(m);
  m.name = "v";
  m.version = "1";
  m.init = (int (*)(const struct tc_host *, struct tc_registrar *, const void *,
                    char **))1; /* never called */
  char *err = NULL;
  const unsigned cases[][3] = {
      /* module major, module minor, expected ok for host 1.3 */
      {1, 3, 1}, {1, 2, 1}, {1, 0, 1}, {1, 4, 0}, {2, 3, 0}, {0, 3, 0}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    m.abi_major = (uint16_t)cases[i][0];
    m.abi_minor = (uint16_t)cases[i][1];
    int rc = tc_module_check_header(&m, "/x/v.so", 1, 3, &err);
    assert_int_equal(rc, cases[i][2] ? 0 : -1);
    if (!cases[i][2]) {
      assert_contains(err, "module /x/v.so: ABI ");
      free(err);
    } else {
      assert_null(err);
    }
  }
  m.abi_major = 1;
  m.abi_minor = 0;
  m.struct_size = (uint32_t)tc_module_min_struct_size();
  assert_int_equal(tc_module_check_header(&m, "/x/v.so", 1, 0, &err), 0);
  m.struct_size--;
  assert_int_equal(tc_module_check_header(&m, "/x/v.so", 1, 0, &err), -1);
  free(err);
}

/* ---- registrar rules ----------------------------------------------------- */

static void test_transport_missing_call(void **state) {
  assert_refused("transport_no_call",
                 "transport \"fixture-t\": missing mandatory member call");
}

static void test_vtable_short(void **state) {
  assert_refused("vtable_short", "transport \"fixture-t\": vtable struct_size");
}

static void test_vtable_no_name(void **state) {
  assert_refused("vtable_no_name", "transport: vtable has no name");
}

static void test_vtable_duplicate(void **state) {
  assert_refused("vtable_dup", "transport \"fixture-t\": already registered by "
                               "module \"fixture-vt-dup\"");
}

static void test_sink_missing_render(void **state) {
  assert_refused("sink_no_render",
                 "metrics sink \"fixture-s\": missing mandatory member render");
}

static void test_hook_without_callbacks(void **state) {
  assert_refused("hook_empty", "hook \"fixture-h\": missing mandatory member");
}

static void test_refusal_ignored_by_module(void **state) {
  /* The module registers one good transport, ignores the refusal of a bad
   * one and returns TC_OK: the module is refused and its good transport
   * does not stay behind. */
  assert_refused("ignores_refusal",
                 "transport \"fixture-t\": missing mandatory member call");
}

static void test_late_registration(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("good"), NULL, "test", &err), 0);
  struct tc_loaded_module *m = tc_registry_module(&reg, "fixture-good");
  int (*late)(char **) = (int (*)(char **))lt_dlsym((lt_dlhandle)m->handle,
                                                    "fixture_late_register");
  int (*fini_calls)(void) =
      (int (*)(void))lt_dlsym((lt_dlhandle)m->handle, "fixture_fini_calls");
  assert_non_null(late);
  assert_non_null(fini_calls);
  char *msg = NULL;
  assert_int_equal(late(&msg), TC_ESTATE);
  assert_contains(msg, "hook \"fixture-late\": registration after init() is "
                       "not allowed");
  free(msg);
  assert_null(tc_registry_hook(&reg, "fixture-late"));
  int before = fini_calls();
  tc_registry_free(&reg);
  assert_int_equal(fini_calls(), before + 1);
}

static void test_refused_module_leaves_registry_usable(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("vtable_dup"), NULL, "test", &err),
      -1);
  free(err);
  assert_int_equal(reg.transport_count, 0);
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("good"), NULL, "test", &err), 0);
  assert_int_equal(reg.module_count, 1);
  assert_int_equal(reg.transport_count, 1);
  tc_registry_free(&reg);
}

/* ---- declarative config ----------------------------------------------------
 */

static struct tc_kv kv(const char *k, const char *v, const char *origin) {
  struct tc_kv x = {(char *)(uintptr_t)k, (char *)(uintptr_t)v,
                    (char *)(uintptr_t)origin};
  return x;
}

/* Load config_fixture (or `name`) with the given settings. */
static int load_cfg(struct tc_registry *reg, const char *name,
                    struct tc_kv *items, size_t n, char **err) {
  struct tc_kvlist list = {n, items};
  return tc_loader_load_one(reg, NULL, fixture(name), n ? &list : NULL, "test",
                            err);
}

static void test_config_defaults(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(load_cfg(&reg, "config_fixture", NULL, 0, &err), 0);
  const struct fx_config *c = reg.modules[0]->config_block;
  assert_non_null(c);
  assert_string_equal(c->label, "alpha");
  assert_null(c->token);
  assert_int_equal(c->verbose, 0);
  assert_int_equal(c->retries, 3);
  assert_int_equal(c->timeout_ms, 2000);
  assert_null(c->unset);
  tc_registry_free(&reg);
}

static void test_config_values(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  setenv("FX_TOKEN", "tok-from-env-5551234", 1);
  struct tc_kv items[] = {
      kv("label", "beta", "p.yaml:3"), kv("token", "env:FX_TOKEN", "p.yaml:4"),
      kv("verbose", "TRUE", "p.yaml:5"), kv("retries", "10", "p.yaml:6"),
      kv("timeout", "1500ms", "p.yaml:7")};
  assert_int_equal(load_cfg(&reg, "config_fixture", items, 5, &err), 0);
  const struct fx_config *c = reg.modules[0]->config_block;
  assert_string_equal(c->label, "beta");
  assert_string_equal(c->token, "tok-from-env-5551234");
  assert_int_equal(c->verbose, 1);
  assert_int_equal(c->retries, 10);
  assert_int_equal(c->timeout_ms, 1500);
  /* The secret was handed to the redactor. */
  char *red = tc_redact("value tok-from-env-5551234 here");
  assert_non_null(red);
  assert_lacks(red, "tok-from-env-5551234");
  free(red);
  tc_registry_free(&reg);
  unsetenv("FX_TOKEN");
}

static void test_config_secret_file(void **state) {
  char path[] = "/tmp/tc-loader-secret-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "file-secret-987654\n", 19), 19);
  close(fd);
  char ref[64];
  snprintf(ref, sizeof(ref), "file:%s", path);
  struct tc_registry reg = {0};
  char *err = NULL;
  struct tc_kv items[] = {kv("token", ref, "p.yaml:9")};
  assert_int_equal(load_cfg(&reg, "config_fixture", items, 1, &err), 0);
  const struct fx_config *c = reg.modules[0]->config_block;
  assert_string_equal(c->token, "file-secret-987654");
  tc_registry_free(&reg);
  /* An empty file is refused, naming the path but no content. */
  fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(load_cfg(&reg, "config_fixture", items, 1, &err), -1);
  assert_contains(err, "p.yaml:9: module \"fixture-config\": setting "
                       "\"token\": cannot read secret file");
  assert_contains(err, "file is empty");
  free(err);
  tc_registry_free(&reg);
  unlink(path);
}

/* One bad setting: refused with `want`, naming origin and module. */
static void assert_setting_refused(struct tc_kv *items, size_t n,
                                   const char *want) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(load_cfg(&reg, "config_fixture", items, n, &err), -1);
  assert_contains(err, want);
  assert_null(strchr(err, '\n'));
  assert_int_equal(reg.module_count, 0);
  free(err);
  tc_registry_free(&reg);
}

static void test_config_errors(void **state) {
  struct tc_kv unknown[] = {kv("colour", "red", "prof.yaml:12")};
  assert_setting_refused(unknown, 1,
                         "prof.yaml:12: module \"fixture-config\": unknown "
                         "setting \"colour\" (known settings: label, token, "
                         "verbose, retries, timeout, unset");
  struct tc_kv range[] = {kv("retries", "11", "prof.yaml:13")};
  assert_setting_refused(range, 1,
                         "prof.yaml:13: module \"fixture-config\": setting "
                         "\"retries\": \"11\" is out of range, allowed 0..10");
  struct tc_kv notint[] = {kv("retries", "3x", "prof.yaml:14")};
  assert_setting_refused(notint, 1, "\"3x\" is not an integer");
  struct tc_kv notdur[] = {kv("timeout", "fast", "prof.yaml:15")};
  assert_setting_refused(notdur, 1, "\"timeout\": \"fast\" is not a duration");
  struct tc_kv durrange[] = {kv("timeout", "2m", "prof.yaml:16")};
  assert_setting_refused(durrange, 1, "is out of range, allowed 100ms..1m");
  struct tc_kv notbool[] = {kv("verbose", "maybe", "prof.yaml:17")};
  assert_setting_refused(notbool, 1, "\"maybe\" is not a bool");
  unsetenv("FX_MISSING_VAR");
  struct tc_kv noenv[] = {kv("token", "env:FX_MISSING_VAR", "prof.yaml:18")};
  assert_setting_refused(noenv, 1,
                         "prof.yaml:18: module \"fixture-config\": setting "
                         "\"token\": environment variable FX_MISSING_VAR is "
                         "unset or empty");
  struct tc_kv badenv[] = {kv("token", "env:1-bad", "prof.yaml:19")};
  assert_setting_refused(badenv, 1, "invalid env: reference");
  struct tc_kv twice[] = {kv("label", "a", "prof.yaml:20"),
                          kv("label", "b", "prof.yaml:21")};
  assert_setting_refused(twice, 2,
                         "prof.yaml:21: module \"fixture-config\": setting "
                         "\"label\" is given twice (first at prof.yaml:20");
}

static void test_config_secret_never_in_errors(void **state) {
  /* A literal secret followed by an invalid setting: the error is about
   * the other setting and must not echo the secret. */
  struct tc_kv items[] = {kv("token", "literal-secret-42424242", "p.yaml:1"),
                          kv("retries", "many", "p.yaml:2")};
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(load_cfg(&reg, "config_fixture", items, 2, &err), -1);
  assert_contains(err, "\"many\" is not an integer");
  assert_lacks(err, "literal-secret-42424242");
  free(err);
  tc_registry_free(&reg);
}

static void test_config_no_fields(void **state) {
  struct tc_kv items[] = {kv("anything", "1", "p.yaml:30")};
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(load_cfg(&reg, "good", items, 1, &err), -1);
  assert_contains(err, "p.yaml:30: module \"fixture-good\": unknown setting "
                       "\"anything\" (this module has no settings");
  free(err);
  tc_registry_free(&reg);
}

static void test_config_bad_declarations(void **state) {
  assert_refused("bad_config_offset",
                 "config field \"timeout\": offset 56 + 8 bytes lies outside "
                 "config_size 48");
  assert_refused("bad_config_type",
                 "config field \"retries\": unknown type 99");
  assert_refused("bad_config_default",
                 "config field \"retries\": default \"11\" is out of range, "
                 "allowed 0..10");
}

static void test_duration_format(void **state) {
  char b[32];
  assert_string_equal(tc_format_duration_ms(0, b, sizeof(b)), "0s");
  assert_string_equal(tc_format_duration_ms(250, b, sizeof(b)), "250ms");
  assert_string_equal(tc_format_duration_ms(1500, b, sizeof(b)), "1.5s");
  assert_string_equal(tc_format_duration_ms(90000, b, sizeof(b)), "1m30s");
  assert_string_equal(tc_format_duration_ms(7200000, b, sizeof(b)), "2h");
}

/* ---- search path -----------------------------------------------------------
 */

static void test_search_order(void **state) {
  char *ab[] = {TC_FIXTURE_DIR "/dir_a", TC_FIXTURE_DIR "/dir_b"};
  char *ba[] = {TC_FIXTURE_DIR "/dir_b", TC_FIXTURE_DIR "/dir_a"};
  struct {
    char **dirs;
    const char *version;
  } cases[] = {{ab, "from-a"}, {ba, "from-b"}};
  for (size_t i = 0; i < 2; i++) {
    struct tc_registry reg = {0};
    struct tc_config cfg;
    cfg_with_dirs(&cfg, cases[i].dirs, 2);
    char *err = NULL;
    assert_int_equal(
        tc_loader_load_one(&reg, &cfg, "searchme", NULL, "test", &err), 0);
    assert_string_equal(reg.modules[0]->desc->version, cases[i].version);
    tc_registry_free(&reg);
  }
}

/* --modules.dir comes before TUNNEL_CLIENT_MODULE_PATH, through the real
 * config loader. */
static void test_search_flag_before_env(void **state) {
  setenv("TUNNEL_CLIENT_MODULE_PATH", TC_FIXTURE_DIR "/dir_b", 1);
  char *argv[] = {"--modules.dir", TC_FIXTURE_DIR "/dir_a", NULL};
  struct {
    int argc;
    const char *version;
  } cases[] = {{2, "from-a"}, {0, "from-b"}};
  for (size_t i = 0; i < 2; i++) {
    struct tc_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    char *err = NULL;
    if (tc_config_load(&cfg, cases[i].argc, argv, TC_CONFIG_LENIENT, NULL, NULL,
                       NULL, &err) != 0)
      fail_msg("tc_config_load: %s", err ? err : "?");
    struct tc_registry reg = {0};
    if (tc_loader_load_one(&reg, &cfg, "searchme", NULL, "test", &err) != 0)
      fail_msg("load: %s", err ? err : "?");
    assert_string_equal(reg.modules[0]->desc->version, cases[i].version);
    tc_registry_free(&reg);
    tc_config_free(&cfg);
  }
  unsetenv("TUNNEL_CLIENT_MODULE_PATH");
}

static void test_search_dirs_order(void **state) {
  char *d[] = {"/first", "/second"};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, d, 2);
  char **dirs = NULL;
  size_t n = tc_loader_search_dirs(&cfg, &dirs);
  assert_int_equal(n, 4);
  assert_string_equal(dirs[0], "/first");
  assert_string_equal(dirs[1], "/second");
  assert_non_null(strstr(dirs[2], "/tests/loader/modules")); /* exe dir */
  assert_string_equal(dirs[3], TC_MODULE_INSTALL_FULL_DIR);
  tc_loader_dirs_free(dirs, n);
}

static void test_path_spec(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  char rel[4096];
  /* A spec with '/' is a path, even relative. */
  assert_int_equal(chdir(TC_FIXTURE_DIR), 0);
  snprintf(rel, sizeof(rel), "./good.so");
  assert_int_equal(tc_loader_load_one(&reg, NULL, rel, NULL, "test", &err), 0);
  tc_registry_free(&reg);
  /* A bare name ending in .so too (relative to the working directory). */
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, "good.so", NULL, "test", &err), 0);
  tc_registry_free(&reg);
}

/* ---- the real modules ------------------------------------------------------
 */

static void load_builtins(struct tc_registry *reg, struct tc_config *cfg,
                          char **dirs) {
  dirs[0] = TC_BUILD_MODULE_DIR;
  cfg_with_dirs(cfg, dirs, 1);
  char *err = NULL;
  if (tc_loader_load_all(reg, cfg, &err) != 0)
    fail_msg("loading the built-in modules: %s", err);
}

static void test_builtins_load(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  char *dirs[1];
  load_builtins(&reg, &cfg, dirs);
  assert_int_equal(reg.module_count, 6);
  const unsigned kinds[] = {TC_KIND_TRANSPORT,    TC_KIND_TRANSPORT,
                            TC_KIND_HOOK,         TC_KIND_NET,
                            TC_KIND_METRICS_SINK, TC_KIND_METRICS_SINK};
  for (size_t i = 0; i < 6; i++) {
    const struct tc_loaded_module *m = reg.modules[i];
    assert_string_equal(m->desc->name, tc_builtin_modules[i]);
    assert_int_equal(m->kinds, kinds[i]);
    assert_non_null(tc_module_summary(m->desc));
    char expect[4096];
    snprintf(expect, sizeof(expect), "%s/%s.so", TC_BUILD_MODULE_DIR,
             tc_builtin_modules[i]);
    char *p = canonical(expect);
    assert_string_equal(m->path, p);
    free(p);
  }
  const struct tc_registered_transport *http =
      tc_registry_transport(&reg, "http");
  const struct tc_registered_transport *stdio_t =
      tc_registry_transport(&reg, "stdio");
  assert_non_null(http);
  assert_non_null(stdio_t);
  assert_int_equal(http->vt->flags & TC_TRANSPORT_PROC_AFFINITY, 0);
  assert_int_equal(stdio_t->vt->flags & TC_TRANSPORT_PROC_AFFINITY,
                   TC_TRANSPORT_PROC_AFFINITY);
  assert_string_equal(stdio_t->owner->desc->name, "mcp-stdio");
  assert_non_null(tc_registry_hook(&reg, "oauth"));
  assert_non_null(tc_registry_net(&reg, "proxy"));
  assert_int_equal(tc_registry_sink(&reg, "prometheus")->vt->flags,
                   TC_SINK_PULL);
  assert_int_equal(tc_registry_sink(&reg, "statsd")->vt->flags, TC_SINK_PUSH);
  /* statsd declares its settings with defaults. */
  const struct tc_config_field *f =
      tc_module_config_fields(tc_registry_module(&reg, "metrics-statsd")->desc);
  assert_string_equal(f[0].key, "address");
  assert_null(f[0].default_value); /* no address: export stays off */
  assert_string_equal(f[1].key, "interval");
  assert_string_equal(f[1].default_value, "10s");
  assert_string_equal(f[2].key, "prefix");
  assert_string_equal(f[2].default_value, "tunnel_client");
  /* Frozen after load_all. */
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, &cfg, fixture("good"), NULL, "test", &err), -1);
  assert_contains(err, "frozen");
  free(err);
  tc_registry_free(&reg);
}

static void test_builtins_selected_list(void **state) {
  /* cfg->modules selects exactly what loads, with per-module settings. */
  char *dirs[] = {TC_BUILD_MODULE_DIR};
  struct tc_kv items[] = {kv("prefix", "bad prefix!", "p.yaml:40")};
  struct tc_kvlist settings = {1, items};
  struct tc_module_req reqs[] = {{"proxy", "p.yaml:38", NULL},
                                 {"metrics-statsd", "p.yaml:39", &settings}};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, dirs, 1);
  cfg.modules = reqs;
  cfg.module_count = 1;
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(tc_loader_load_all(&reg, &cfg, &err), 0);
  assert_int_equal(reg.module_count, 1);
  assert_string_equal(reg.modules[0]->desc->name, "proxy");
  tc_registry_free(&reg);
  /* The module's own validation (in init) refuses a bad prefix. */
  cfg.module_count = 2;
  assert_int_equal(tc_loader_load_all(&reg, &cfg, &err), -1);
  assert_contains(err, "metrics-statsd.so: init failed: setting \"prefix\"");
  free(err);
  tc_registry_free(&reg);
}

struct captured {
  int calls;
  char source[64], kind[64];
};

static int capture_complete(const struct tc_sink *sink,
                            const struct tc_response *res) {
  struct captured *c = sink->core;
  c->calls++;
  snprintf(c->source, sizeof(c->source), "%s",
           res->failure_source ? res->failure_source : "");
  snprintf(c->kind, sizeof(c->kind), "%s",
           res->failure_kind ? res->failure_kind : "");
  return TC_OK;
}

static void test_transports_thin(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  char *dirs[1];
  load_builtins(&reg, &cfg, dirs);
  const struct tc_registered_transport *http =
      tc_registry_transport(&reg, "http");
  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b);
  b.channel = "main";
  b.transport = "http";
  void *inst = NULL;
  char *msg = NULL;
  assert_int_equal(http->vt->create(&http->owner->host, &b, &inst, &msg),
                   TC_ECONFIG);
  assert_contains(msg, "channel \"main\": the http transport needs an MCP "
                       "server URL");
  free(msg);
  msg = NULL;
  b.url = "http://127.0.0.1:9/mcp";
  assert_int_equal(http->vt->create(&http->owner->host, &b, &inst, &msg),
                   TC_OK);
  struct captured cap = {0, "", ""};
  struct tc_sink sink = {sizeof(sink), &cap, NULL, capture_complete};
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.request_id = "req_1";
  static const char body[] =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
  req.body = body;
  req.body_len = sizeof(body) - 1;
  /* The built-ins started together: the proxy net hook prepares the
   * handle, mcp-http reports the refused connection with its provenance. */
  char *err = NULL;
  if (tc_registry_start(&reg, &err) != 0)
    fail_msg("%s", err);
  assert_int_equal(http->vt->call(inst, &req, &sink), TC_OK);
  assert_int_equal(cap.calls, 1);
  assert_string_equal(cap.source, "connect");
  assert_string_equal(cap.kind, "connection_refused");
  http->vt->destroy(inst);
  tc_registry_stop(&reg);
  tc_registry_free(&reg);
}

static void test_prometheus_render(void **state) {
  struct tc_registry reg = {0};
  struct tc_metrics_registry *mr = tc_metrics_registry_new();
  reg.metrics = mr;
  struct tc_config cfg;
  char *dirs[1];
  load_builtins(&reg, &cfg, dirs);
  const struct tc_host *h = &reg.modules[0]->host;
  const char *const labels[] = {"channel", "code", NULL};
  struct tc_metric_desc counter = {sizeof(counter),
                                   "tc_test_requests_total",
                                   "Requests.\nSecond \\ line",
                                   TC_METRIC_COUNTER,
                                   labels,
                                   NULL,
                                   0};
  const double bounds[] = {0.1, 1};
  struct tc_metric_desc hist = {sizeof(hist),
                                "tc_test_latency_seconds",
                                "Latency.",
                                TC_METRIC_HISTOGRAM,
                                NULL,
                                bounds,
                                2};
  struct tc_metric_desc gauge = {
      sizeof(gauge), "tc_test_up", "Up.", TC_METRIC_GAUGE, NULL, NULL, 0};
  char *err = NULL;
  struct tc_metric *c = h->metric_register(h, &counter, &err);
  struct tc_metric *hi = h->metric_register(h, &hist, &err);
  struct tc_metric *g = h->metric_register(h, &gauge, &err);
  assert_non_null(c);
  assert_non_null(hi);
  assert_non_null(g);
  const char *const v1[] = {"ma\"in\\x\n", "200"};
  h->metric_add(c, v1, 3);
  h->metric_observe(hi, NULL, 0.25);
  h->metric_observe(hi, NULL, 0.0625);
  h->metric_observe(hi, NULL, 4);
  h->metric_set(g, NULL, 1);
  err = NULL;
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  const struct tc_registered_sink *prom = tc_registry_sink(&reg, "prometheus");
  char *out = NULL;
  size_t len = 0;
  const char *ctype = NULL;
  assert_int_equal(prom->vt->render(prom->inst, &out, &len, &ctype), TC_OK);
  assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
  assert_int_equal(len, strlen(out));
  const char *want =
      "# HELP tc_test_requests_total Requests.\\nSecond \\\\ line\n"
      "# TYPE tc_test_requests_total counter\n"
      "tc_test_requests_total{channel=\"ma\\\"in\\\\x\\n\",code=\"200\"} 3\n"
      "# HELP tc_test_latency_seconds Latency.\n"
      "# TYPE tc_test_latency_seconds histogram\n"
      "tc_test_latency_seconds_bucket{le=\"0.1\"} 1\n"
      "tc_test_latency_seconds_bucket{le=\"1\"} 2\n"
      "tc_test_latency_seconds_bucket{le=\"+Inf\"} 3\n"
      "tc_test_latency_seconds_sum 4.3125\n"
      "tc_test_latency_seconds_count 3\n"
      "# HELP tc_test_up Up.\n"
      "# TYPE tc_test_up gauge\n"
      "tc_test_up 1\n";
  assert_string_equal(out, want);
  free(out);
  tc_registry_free(&reg);
  tc_metrics_registry_free(mr);
}

static void test_proxy_net_hook(void **state) {
  struct tc_registry reg = {0};
  struct tc_config cfg;
  char *dirs[1];
  load_builtins(&reg, &cfg, dirs);
  char *err = NULL;
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  const struct tc_registered_net *px = tc_registry_net(&reg, "proxy");
  /* A local "proxy": the handle must connect here instead of resolving
   * the (unresolvable) destination host. */
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(lfd, 4), 0);
  socklen_t sl = sizeof(sa);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
  char proxy[64];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", ntohs(sa.sin_port));
  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b);
  b.channel = "main";
  b.url = "http://mcp.invalid/mcp";
  b.http_proxy = proxy;
  CURL *curl = curl_easy_init();
  assert_non_null(curl);
  struct tc_net_target t = {sizeof(t), TC_NET_CONTROL_PLANE, b.url, NULL};
  char *msg = NULL;
  /* no explicit proxy for the control plane: the environment rules apply
   * (libcurl's own lookup is replaced; no proxy variable here = direct) */
  assert_int_equal(px->vt->prepare(px->inst, curl, &t, &msg), TC_OK);
  assert_null(msg);
  const struct tc_host *h = &px->owner->host;
  assert_int_equal(h->net_prepare(h, curl, TC_NET_MCP, b.url, &b, &msg), TC_OK);
  assert_null(msg);
  curl_easy_setopt(curl, CURLOPT_URL, b.url);
  curl_easy_setopt(curl, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  assert_int_equal(curl_easy_perform(curl), CURLE_OK);
  int cfd = accept(lfd, NULL, NULL);
  assert_true(cfd >= 0);
  close(cfd);
  curl_easy_cleanup(curl);
  close(lfd);
  tc_registry_free(&reg);
}

/* Loaded by default, the statsd sink must not export anywhere until an
 * address is configured. */
static void test_statsd_off_without_address(void **state) {
  char *dirs[] = {TC_BUILD_MODULE_DIR};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, dirs, 1);
  struct tc_registry reg = {0};
  char *err = NULL;
  if (tc_loader_load_one(&reg, &cfg, "metrics-statsd", NULL, "test", &err) != 0)
    fail_msg("%s", err);
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  const struct tc_registered_sink *s = tc_registry_sink(&reg, "statsd");
  assert_non_null(s);
  assert_true(s->started);
  assert_null(s->inst); /* no exporter instance, no thread, no socket */
  tc_registry_stop(&reg);
  tc_registry_free(&reg);
}

static void test_statsd_exports(void **state) {
  int ufd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(ufd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  socklen_t sl = sizeof(sa);
  assert_int_equal(getsockname(ufd, (struct sockaddr *)&sa, &sl), 0);
  struct timeval tv = {5, 0};
  setsockopt(ufd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));

  char *dirs[] = {TC_BUILD_MODULE_DIR};
  struct tc_config cfg;
  cfg_with_dirs(&cfg, dirs, 1);
  struct tc_kv items[] = {kv("address", addr, "p.yaml:1"),
                          kv("interval", "100ms", "p.yaml:2"),
                          kv("prefix", "tct", "p.yaml:3")};
  struct tc_kvlist settings = {3, items};
  struct tc_registry reg = {0};
  struct tc_metrics_registry *mr = tc_metrics_registry_new();
  reg.metrics = mr;
  char *err = NULL;
  if (tc_loader_load_one(&reg, &cfg, "metrics-statsd", &settings, "test",
                         &err) != 0)
    fail_msg("%s", err);
  const struct tc_host *h = &reg.modules[0]->host;
  const char *const labels[] = {"channel", NULL};
  struct tc_metric_desc cd = {sizeof(cd), "tc_test_sent_total",
                              "Sent.",    TC_METRIC_COUNTER,
                              labels,     NULL,
                              0};
  struct tc_metric_desc gd = {
      sizeof(gd), "tc_test_depth", "Depth.", TC_METRIC_GAUGE, NULL, NULL, 0};
  struct tc_metric *c = h->metric_register(h, &cd, &err);
  struct tc_metric *g = h->metric_register(h, &gd, &err);
  const char *const main_ch[] = {"main"};
  h->metric_add(c, main_ch, 5);
  h->metric_set(g, NULL, 4);
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  char got[4096] = "";
  size_t used = 0;
  while (strstr(got, "tct.tc_test_sent_total:5|c|#channel:main") == NULL ||
         strstr(got, "tct.tc_test_depth:4|g") == NULL) {
    char buf[2048];
    ssize_t n = recv(ufd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
      fail_msg("no statsd datagram within 5s; got so far: %s", got);
    buf[n] = '\0';
    used += (size_t)snprintf(got + used, sizeof(got) - used, "%s\n", buf);
    if (used >= sizeof(got) - 1)
      fail_msg("statsd lines never matched: %s", got);
  }
  tc_registry_stop(&reg);
  tc_registry_free(&reg);
  tc_metrics_registry_free(mr);
  close(ufd);
}

/* ---- lifecycle -------------------------------------------------------------
 */

static const char *(*lifecycle_events(struct tc_registry *reg))(void) {
  return (const char *(*)(void))lt_dlsym((lt_dlhandle)reg->modules[0]->handle,
                                         "fixture_lifecycle_events");
}

static void test_lifecycle_order(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(
      tc_loader_load_one(&reg, NULL, fixture("lifecycle"), NULL, "test", &err),
      0);
  const char *(*events)(void) = lifecycle_events(&reg);
  assert_non_null(events);
  char *msg = NULL;
  /* Before start: a net hook with create() cannot prepare yet. */
  assert_int_equal(
      tc_registry_net_prepare(&reg, NULL, TC_NET_MCP, "http://x/", NULL, &msg),
      TC_ESTATE);
  assert_contains(msg, "net hook \"lc-net\" (module fixture-lifecycle) is not "
                       "started yet");
  free(msg);
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  assert_string_equal(events(), "net.create net.start hook.create hook.start "
                                "sink.create sink.start");
  const struct tc_host *h = &reg.modules[0]->host;
  assert_int_equal(h->net_prepare(h, NULL, TC_NET_OAUTH_METADATA,
                                  "https://as.example/", NULL, &msg),
                   TC_OK);
  assert_int_equal(h->net_prepare(h, NULL, TC_NET_MCP,
                                  "https://refuse.example/", NULL, &msg),
                   TC_ECONNECT);
  assert_string_equal(msg, "fixture refuses this destination");
  free(msg);
  tc_registry_stop(&reg);
  assert_string_equal(events(),
                      "net.create net.start hook.create hook.start "
                      "sink.create sink.start net.prepare:3 net.prepare:2 "
                      "sink.stop hook.stop net.stop sink.destroy "
                      "hook.destroy net.destroy");
  tc_registry_stop(&reg); /* idempotent */
  tc_registry_free(&reg);
}

static void test_lifecycle_start_failure(void **state) {
  struct tc_registry reg = {0};
  char *err = NULL;
  assert_int_equal(tc_loader_load_one(&reg, NULL, fixture("lifecycle_fail"),
                                      NULL, "test", &err),
                   0);
  const char *(*events)(void) = lifecycle_events(&reg);
  assert_int_equal(tc_registry_start(&reg, &err), -1);
  assert_string_equal(err, "hook \"lc-hook\" (module fixture-lifecycle-fail): "
                           "start failed: no route to the authorization "
                           "server (TC_ECONNECT)");
  free(err);
  /* The net hook is stopped and destroyed, the hook destroyed (it was
   * created but never started), the sink never created. */
  assert_string_equal(events(), "net.create net.start hook.create hook.start "
                                "net.stop hook.destroy net.destroy");
  assert_false(reg.started);
  tc_registry_free(&reg);
}

/* ---- reload ---------------------------------------------------------------
 */

/* A configuration from flags only (lenient: nothing required). */
static void cfg_from_flags(struct tc_config *cfg, const char *interval,
                           const char *ca_bundle) {
  char *argv[] = {"--proxy.check-interval", (char *)(uintptr_t)interval,
                  "--ca-bundle", (char *)(uintptr_t)ca_bundle, NULL};
  char *err = NULL;
  if (tc_config_load(cfg, 4, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL, &err) !=
      0)
    fail_msg("config: %s", err);
}

static void *fixture_sym(struct tc_registry *reg, size_t module,
                         const char *name) {
  void *f = lt_dlsym((lt_dlhandle)reg->modules[module]->handle, name);
  assert_non_null(f);
  return f;
}

/* Net hooks flagged TC_NET_RECREATE_ON_RELOAD get a new instance reading
 * the new settings; a 1.0 net hook (no flags) and the hooks keep theirs;
 * a refused prepare changes nothing; config_get answers outlive their
 * configuration. */
static void test_reload_net_hooks(void **state) {
  struct tc_registry reg = {0};
  struct tc_config c0, c1, c2;
  cfg_from_flags(&c0, "5s", "/etc/ca-a.pem");
  char *err = NULL;
  reg.cfg = &c0;
  assert_int_equal(
      tc_loader_load_one(&reg, &c0, fixture("reload"), NULL, "test", &err), 0);
  assert_int_equal(
      tc_loader_load_one(&reg, &c0, fixture("abi_1_0"), NULL, "test", &err), 0);
  reg.frozen = 1;
  const char *(*events)(void) =
      (const char *(*)(void))fixture_sym(&reg, 0, "fixture_reload_events");
  int (*intact)(void) =
      (int (*)(void))fixture_sym(&reg, 0, "fixture_reload_answers_intact");
  int (*old_creates)(void) =
      (int (*)(void))fixture_sym(&reg, 1, "fixture_abi_1_0_net_creates");
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  assert_int_equal(tc_registry_reloadable_nets(&reg), 1);
  assert_int_equal(old_creates(), 1);
  const struct tc_host *h = &reg.modules[0]->host;
  char *msg = NULL;
  assert_int_equal(h->net_prepare(h, NULL, TC_NET_MCP, "http://x/", NULL, &msg),
                   TC_OK);

  /* A refused reload: the new instance is gone, config_get reads c0. */
  struct tc_registry_reload *r = NULL;
  cfg_from_flags(&c2, "13s", "/etc/ca-a.pem");
  assert_int_equal(tc_registry_reload_prepare(&reg, &c2, &r, &err), -1);
  assert_null(r);
  assert_contains(err, "net hook \"rl-net\" (module fixture-reload)");
  assert_contains(err, "an interval of 13s is unlucky");
  free(err);
  err = NULL;
  assert_ptr_equal(reg.cfg, &c0);
  tc_config_free(&c2);

  cfg_from_flags(&c1, "9s", "/etc/ca-b.pem");
  assert_int_equal(tc_registry_reload_prepare(&reg, &c1, &r, &err), 0);
  /* Until the commit, prepare() still runs on the old instance. */
  assert_int_equal(h->net_prepare(h, NULL, TC_NET_MCP, "http://x/", NULL, &msg),
                   TC_OK);
  tc_registry_reload_commit(&reg, r);
  assert_int_equal(h->net_prepare(h, NULL, TC_NET_MCP, "http://x/", NULL, &msg),
                   TC_OK);
  assert_string_equal(events(),
                      "create:5s start:5s hook.create prepare:5s "
                      "create:9s start:9s prepare:5s stop:5s destroy:5s "
                      "prepare:9s");
  assert_int_equal(old_creates(), 1); /* the 1.0 net hook kept its instance */

  /* What the modules read outside a recreated instance is fixed: a change
   * to it is named with the module; what rl-net's create() read is not. */
  char *changed[] = {"proxy.check_interval", "ca_bundle", "log.format",
                     "log.level"};
  char **fixed = NULL;
  size_t nfixed = 0;
  assert_int_equal(
      tc_registry_fixed_settings(&reg, changed, 4, &fixed, &nfixed), 0);
  assert_int_equal(nfixed, 2);
  assert_string_equal(fixed[0], "log.format (module fixture-reload)");
  assert_string_equal(fixed[1], "ca_bundle (module fixture-reload)");
  for (size_t i = 0; i < nfixed; i++)
    free(fixed[i]);
  free(fixed);

  /* c0 is gone: every answer handed out still reads as it did. */
  tc_config_free(&c0);
  assert_int_equal(intact(), 4); /* log.format, 5s, ca-a, 9s */
  tc_registry_stop(&reg);
  assert_contains(events(), "prepare:9s stop:9s destroy:9s");
  tc_registry_free(&reg);
  tc_config_free(&c1);
}

/* ---- main ------------------------------------------------------------------
 */

int main(int argc, char **argv) {
  const struct CMUnitTest descriptor[] = {
      cmocka_unit_test(test_bad_magic),
      cmocka_unit_test(test_major_mismatch),
      cmocka_unit_test(test_minor_newer),
      cmocka_unit_test(test_older_minor_module_works),
      cmocka_unit_test(test_host_14_members),
      cmocka_unit_test(test_short_struct_size),
      cmocka_unit_test(test_missing_init),
      cmocka_unit_test(test_missing_name),
      cmocka_unit_test(test_missing_version),
      cmocka_unit_test(test_no_descriptor_symbol),
      cmocka_unit_test(test_not_loadable),
      cmocka_unit_test(test_init_fails),
      cmocka_unit_test(test_registers_nothing),
      cmocka_unit_test(test_good_loads),
      cmocka_unit_test(test_not_found),
      cmocka_unit_test(test_duplicate_name),
      cmocka_unit_test(test_version_rule),
  };
  const struct CMUnitTest registrar[] = {
      cmocka_unit_test(test_transport_missing_call),
      cmocka_unit_test(test_vtable_short),
      cmocka_unit_test(test_vtable_no_name),
      cmocka_unit_test(test_vtable_duplicate),
      cmocka_unit_test(test_sink_missing_render),
      cmocka_unit_test(test_hook_without_callbacks),
      cmocka_unit_test(test_refusal_ignored_by_module),
      cmocka_unit_test(test_late_registration),
      cmocka_unit_test(test_refused_module_leaves_registry_usable),
  };
  const struct CMUnitTest config[] = {
      cmocka_unit_test(test_config_defaults),
      cmocka_unit_test(test_config_values),
      cmocka_unit_test(test_config_secret_file),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_config_secret_never_in_errors),
      cmocka_unit_test(test_config_no_fields),
      cmocka_unit_test(test_config_bad_declarations),
      cmocka_unit_test(test_duration_format),
  };
  const struct CMUnitTest search[] = {
      cmocka_unit_test(test_search_order),
      cmocka_unit_test(test_search_flag_before_env),
      cmocka_unit_test(test_search_dirs_order),
      cmocka_unit_test(test_path_spec),
  };
  const struct CMUnitTest builtins[] = {
      cmocka_unit_test(test_builtins_load),
      cmocka_unit_test(test_builtins_selected_list),
      cmocka_unit_test(test_transports_thin),
      cmocka_unit_test(test_prometheus_render),
      cmocka_unit_test(test_proxy_net_hook),
      cmocka_unit_test(test_statsd_off_without_address),
      cmocka_unit_test(test_statsd_exports),
  };
  const struct CMUnitTest lifecycle[] = {
      cmocka_unit_test(test_lifecycle_order),
      cmocka_unit_test(test_lifecycle_start_failure),
  };
  const struct CMUnitTest reload[] = {
      cmocka_unit_test(test_reload_net_hooks),
  };
  const char *group = argc > 1 ? argv[1] : NULL;
  int failed = 0, ran = 0;
#define TC_GROUP(g)                                                            \
  if (group == NULL || strcmp(group, #g) == 0) {                               \
    failed += cmocka_run_group_tests_name(#g, g, NULL, NULL);                  \
    ran++;                                                                     \
  }
  TC_GROUP(descriptor)
  TC_GROUP(registrar)
  TC_GROUP(config)
  TC_GROUP(search)
  TC_GROUP(builtins)
  TC_GROUP(lifecycle)
  TC_GROUP(reload)
#undef TC_GROUP
  if (ran == 0) {
    fprintf(stderr, "unknown group \"%s\"\n", group);
    return 2;
  }
  return failed != 0;
}
