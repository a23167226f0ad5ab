/* fakehost_internal.h — state shared by the fake host's files. */
#ifndef TC_FAKEHOST_INTERNAL_H
#define TC_FAKEHOST_INTERNAL_H

#include <pthread.h>

#include "tc/fakehost.h"

enum { FH_TRANSPORT = 1, FH_HOOK, FH_NET, FH_SINK };

struct fh_kv {
  char *key, *value;
};

struct tc_fakehost {
  struct tc_host host; /* host.core points back here */
  char *module_name;
  pthread_mutex_t mu; /* guards logs, config, log_level */
  int log_level;
  char **logs;
  size_t log_count, log_cap;
  struct fh_kv *config;
  size_t config_count;
  int in_init;
  struct {
    int kind;
    const void *vt;
  } vts[32];
  size_t vt_count;
  pthread_mutex_t metrics_mu;     /* guards families and their series */
  struct tc_metric *families;     /* registration order, linked (metrics.c) */
  size_t reply_limit, reply_used; /* the reply budget (guarded by mu) */
};

/* Fill the metric_* and metrics_visit members of the host table. */
void tc_fakehost_metrics_bind(struct tc_host *h);
void tc_fakehost_metrics_free(struct tc_fakehost *fh);

#endif /* TC_FAKEHOST_INTERNAL_H */
