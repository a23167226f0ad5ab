/* The proxy module (modules/proxy) loaded through the loader: the
 * environment proxy rules of its net hook, checked by where a real libcurl
 * handle connects (a listening socket on 127.0.0.1 stands in for the
 * proxy): HTTP_PROXY and http_proxy, NO_PROXY, loopback never proxied from
 * the environment, and an explicit proxy ignoring NO_PROXY. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "config/config_internal.h"
#include "loader/loader.h"
#include "tc/tc.h"

static struct tc_config g_cfg;
static struct tc_registry g_reg;
static const struct tc_host *g_host;

static int listen_local(unsigned *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(fd, 4), 0);
  socklen_t sl = sizeof(sa);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

/* Connect-only through the net hooks for `purpose`; the CURLcode. */
static CURLcode connect_via_hooks(int purpose, const char *url,
                                  const struct tc_binding *b) {
  CURL *c = curl_easy_init();
  char *msg = NULL;
  assert_int_equal(g_host->net_prepare(g_host, c, purpose, url, b, &msg),
                   TC_OK);
  assert_null(msg);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  return rc;
}

static void clear_env(void) {
  unsetenv("HTTP_PROXY");
  unsetenv("http_proxy");
  unsetenv("HTTPS_PROXY");
  unsetenv("https_proxy");
  unsetenv("NO_PROXY");
  unsetenv("no_proxy");
}

static void expect_via_proxy(const char *var, const char *url) {
  unsigned port;
  int lfd = listen_local(&port);
  char proxy[64];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", port);
  clear_env();
  setenv(var, proxy, 1);
  assert_int_equal(connect_via_hooks(TC_NET_CONTROL_PLANE, url, NULL),
                   CURLE_OK);
  int cfd = accept(lfd, NULL, NULL);
  assert_true(cfd >= 0);
  close(cfd);
  close(lfd);
  clear_env();
}

static void test_env_proxy_both_cases(void **state) {
  (void)state;
  expect_via_proxy("HTTP_PROXY", "http://cp.invalid/");
  expect_via_proxy("http_proxy", "http://cp.invalid/");
}

static void test_no_proxy_and_loopback_go_direct(void **state) {
  (void)state;
  unsigned pport, dport;
  int pfd = listen_local(&pport);
  int dfd = listen_local(&dport);
  char proxy[64], direct[64];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", pport);
  snprintf(direct, sizeof(direct), "http://127.0.0.1:%u/", dport);
  clear_env();
  setenv("HTTP_PROXY", proxy, 1);
  setenv("no_proxy", ".invalid", 1);
  /* NO_PROXY domain: not proxied, so the name must resolve (it cannot) */
  assert_int_equal(
      connect_via_hooks(TC_NET_CONTROL_PLANE, "http://cp.invalid/", NULL),
      CURLE_COULDNT_RESOLVE_HOST);
  /* loopback is never proxied from the environment */
  assert_int_equal(connect_via_hooks(TC_NET_CONTROL_PLANE, direct, NULL),
                   CURLE_OK);
  int cfd = accept(dfd, NULL, NULL);
  assert_true(cfd >= 0);
  close(cfd);
  clear_env();
  close(pfd);
  close(dfd);
}

static void test_explicit_binding_proxy_ignores_no_proxy(void **state) {
  (void)state;
  unsigned port;
  int lfd = listen_local(&port);
  char proxy[64];
  snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", port);
  clear_env();
  setenv("NO_PROXY", "*", 1);
  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b);
  b.channel = "main";
  b.url = "http://mcp.invalid/mcp";
  b.http_proxy = proxy;
  assert_int_equal(connect_via_hooks(TC_NET_MCP, b.url, &b), CURLE_OK);
  int cfd = accept(lfd, NULL, NULL);
  assert_true(cfd >= 0);
  close(cfd);
  close(lfd);
  clear_env();
}

static int setup(void **state) {
  (void)state;
  char *err = NULL;
  memset(&g_cfg, 0, sizeof(g_cfg));
  if (tc_loader_load_one(&g_reg, &g_cfg, TC_BUILD_MODULE_DIR "/proxy.so", NULL,
                         "test", &err) != 0 ||
      tc_registry_start(&g_reg, &err) != 0) {
    fprintf(stderr, "proxy: %s\n", err);
    return -1;
  }
  g_host = &tc_registry_net(&g_reg, "proxy")->owner->host;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tc_registry_free(&g_reg);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_env_proxy_both_cases),
      cmocka_unit_test(test_no_proxy_and_loopback_go_direct),
      cmocka_unit_test(test_explicit_binding_proxy_ignores_no_proxy),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
