/* Unit tests for controlplane/poller.c with a fake dispatcher (defined
 * here, same functions as dispatch/dispatcher.h) and an in-test tunnel
 * service: limit = min(free slots, 25), every command submitted in order
 * even when the queue is full, backoff after errors, stop within a second
 * while a poll hangs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "controlplane/client.h"
#include "controlplane/poller.h"
#include "dispatch/dispatcher.h"
#include "util/net_listen.h"
#include "util/sbuf.h"

#define TUNNEL "tunnel_0123456789abcdef0123456789abcdef"
#define MAX_RECORDS 32
#define MAX_STEPS 8

#include "cp_test_service.h"

/* ---- fake dispatcher ------------------------------------------------------
 */

struct tc_dispatcher {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  size_t cap, queued;
  char *ids[16];
  size_t nids;
  uint64_t receipt[16];
};

static struct tc_dispatcher g_d;

size_t tc_dispatcher_free_slots(struct tc_dispatcher *d) {
  pthread_mutex_lock(&d->lock);
  size_t n = d->cap - d->queued;
  pthread_mutex_unlock(&d->lock);
  return n;
}

int tc_dispatcher_wait_slot(struct tc_dispatcher *d, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += (long)timeout_ms * 1000000L;
  until.tv_sec += until.tv_nsec / 1000000000L;
  until.tv_nsec %= 1000000000L;
  pthread_mutex_lock(&d->lock);
  while (d->queued >= d->cap &&
         pthread_cond_timedwait(&d->cond, &d->lock, &until) == 0)
    ;
  int ok = d->queued < d->cap;
  pthread_mutex_unlock(&d->lock);
  return ok;
}

int tc_dispatcher_submit(struct tc_dispatcher *d, struct tc_cp_command *cmd,
                         uint64_t receipt_ns) {
  pthread_mutex_lock(&d->lock);
  if (d->queued >= d->cap || d->nids >= 16) {
    pthread_mutex_unlock(&d->lock);
    return -1;
  }
  d->queued++;
  d->receipt[d->nids] = receipt_ns;
  d->ids[d->nids++] = cmd->request_id;
  cmd->request_id = NULL;
  tc_cp_command_clear(cmd);
  memset(cmd, 0, sizeof(*cmd));
  pthread_mutex_unlock(&d->lock);
  return 0;
}

/* The "worker": frees one slot every 50 ms. */
static atomic_int g_worker_stop;
static void *worker(void *arg) {
  (void)arg;
  while (!atomic_load(&g_worker_stop)) {
    usleep(50000);
    pthread_mutex_lock(&g_d.lock);
    if (g_d.queued > 0)
      g_d.queued--;
    pthread_cond_broadcast(&g_d.cond);
    pthread_mutex_unlock(&g_d.lock);
  }
  return NULL;
}

/* ---- fixtures ------------------------------------------------------------ */

static struct tc_binding_cfg g_binding = {
    .channel = "main", .transport = "http", .url = "http://127.0.0.1:1/mcp"};
static struct tc_config g_cfg;
static struct tc_cp_client *g_client;

static int setup(void **state) {
  (void)state;
  pthread_mutex_init(&g.lock, NULL);
  pthread_mutex_init(&g_d.lock, NULL);
  pthread_cond_init(&g_d.cond, NULL);
  struct tc_net_listener l;
  char *err = NULL;
  struct tc_net_listen_names names = {"test", "--test", NULL};
  if (tc_net_listen_tcp("127.0.0.1:0", &names, &l, &err) != 0)
    return -1;
  g.base_url = l.base_url;
  g.mhd = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
      NULL, handler, NULL, MHD_OPTION_LISTEN_SOCKET, l.fd,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
      on_done, NULL, MHD_OPTION_END);
  if (g.mhd == NULL)
    return -1;
  g_cfg.cp_base_url = g.base_url;
  g_cfg.cp_tunnel_id = TUNNEL;
  g_cfg.cp_api_key = "test-api-key";
  g_cfg.cp_poll_timeout_ms = 5000;
  g_cfg.cp_poll_deadline_guardrail_ms = 1000;
  g_cfg.bindings = &g_binding;
  g_cfg.binding_count = 1;
  if (tc_cp_client_new(&g_client, &g_cfg, NULL, &err) != 0) {
    fprintf(stderr, "client: %s\n", err);
    free(err);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  atomic_store(&g.closing, 1);
  tc_cp_client_free(g_client);
  MHD_stop_daemon(g.mhd);
  clear_records();
  free(g.base_url);
  return 0;
}

static const char three[] =
    "{\"commands\":["
    "{\"request_id\":\"c1\",\"shard_token\":\"s\",\"command_type\":\"jsonrpc\","
    "\"created_at\":\"2025-01-01T00:00:00Z\","
    "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}},"
    "{\"request_id\":\"c2\",\"shard_token\":\"s\",\"command_type\":\"jsonrpc\","
    "\"created_at\":\"2025-01-01T00:00:00Z\","
    "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}},"
    "{\"request_id\":\"c3\",\"shard_token\":\"s\",\"command_type\":\"jsonrpc\","
    "\"created_at\":\"2025-01-01T00:00:00Z\","
    "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}}]}";

static void test_poller_limit_submit_backoff_stop(void **state) {
  (void)state;
  g_d.cap = 2;
  /* 1: three commands for a limit of 2; 2: 503 (backoff 200 ms); 3: hang. */
  struct step steps[] = {{200, three, NULL, 0},
                         {503, "{}", NULL, 0},
                         {204, NULL, NULL, 4000},
                         {204, NULL, NULL, 4000}};
  script(steps, 4);
  pthread_t w;
  assert_int_equal(pthread_create(&w, NULL, worker, NULL), 0);
  struct tc_poller *p = NULL;
  char *err = NULL;
  assert_int_equal(tc_poller_start(&p, g_client, &g_d, &err), 0);
  /* Wait for the hanging poll (the third request). */
  for (int i = 0; i < 300 && nrecords() < 3; i++)
    usleep(10000);
  assert_int_equal(nrecords(), 3);
  uint64_t t0 = tc_cp_now_ns();
  tc_poller_stop(p);
  uint64_t took_ms = (tc_cp_now_ns() - t0) / 1000000ull;
  assert_true(took_ms < 1000);
  atomic_store(&g_worker_stop, 1);
  pthread_join(w, NULL);

  /* limit = min(free slots, 25) = 2 on the first poll */
  assert_non_null(strstr(g.rec[0].uri, "?limit=2&timeout_ms=5000"));
  /* every command submitted, in order, sharing one receipt time */
  assert_int_equal(g_d.nids, 3);
  assert_string_equal(g_d.ids[0], "c1");
  assert_string_equal(g_d.ids[1], "c2");
  assert_string_equal(g_d.ids[2], "c3");
  assert_true(g_d.receipt[0] != 0);
  assert_true(g_d.receipt[0] == g_d.receipt[2]);
  /* the 503 backed off at least 200 ms before the next poll */
  assert_true(g.rec[2].at_ns - g.rec[1].at_ns >= 190000000ull);
  assert_int_equal(nrecords(), 3);
  for (size_t i = 0; i < g_d.nids; i++)
    free(g_d.ids[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_poller_limit_submit_backoff_stop),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
