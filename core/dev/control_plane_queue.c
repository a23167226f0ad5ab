/* dev/control_plane_queue.c — pending ingress requests, the command queue
 * they feed, finished-id memory, fault queues and response-type names for
 * the dev control plane. See control_plane_internal.h for locking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dev/control_plane_internal.h"

static const char *const resp_type_names[DEVCP_RT_COUNT] = {
    "jsonrpc_response", "jsonrpc_notify", "notify_ack",
    "session_termination_response", "oauth_discovery_response"};

int tc_devcp_resp_type_parse(const char *name) {
  if (name == NULL)
    return DEVCP_RT_JSONRPC_RESPONSE;
  for (int i = 0; i < DEVCP_RT_COUNT; i++)
    if (strcmp(name, resp_type_names[i]) == 0)
      return i;
  return -1;
}

const char *tc_devcp_resp_type_name(int t) {
  return t >= 0 && t < DEVCP_RT_COUNT ? resp_type_names[t] : "unknown";
}

int tc_devcp_resp_type_terminal(int t) {
  return t != DEVCP_RT_JSONRPC_NOTIFY;
}

/* `prefix` + 32 random lowercase hex digits. */
static int random_id(char out[DEVCP_ID_LEN], const char *prefix) {
  unsigned char r[16];
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    return -1;
  int n = snprintf(out, DEVCP_ID_LEN, "%s", prefix);
  for (size_t i = 0; i < sizeof(r); i++)
    n += snprintf(out + n, DEVCP_ID_LEN - (size_t)n, "%02x", r[i]);
  return 0;
}

static void format_timeout(int64_t ms, char *out, size_t outlen) {
  if (ms % 1000 == 0)
    snprintf(out, outlen, "%llds", (long long)(ms / 1000));
  else
    snprintf(out, outlen, "%lldms", (long long)ms);
}

static void pending_free(struct devcp_pending *p) {
  for (size_t i = 0; i < p->nmsgs; i++)
    json_decref(p->msgs[i]);
  free(p->command);
  free(p);
}

struct devcp_pending *tc_devcp_pending_new(struct tc_devcp *s,
                                           const char *command_type,
                                           const char *channel, json_t *headers,
                                           json_t *jsonrpc) {
  struct devcp_pending *p = calloc(1, sizeof(*p));
  if (p == NULL || random_id(p->request_id, "devreq_") != 0 ||
      random_id(p->shard_token, "") != 0) {
    free(p);
    json_decref(headers);
    return NULL;
  }
  snprintf(p->channel, sizeof(p->channel), "%s", channel);
  char created[32], timeout[32];
  struct tm tm;
  time_t now = time(NULL);
  gmtime_r(&now, &tm);
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);
  format_timeout(s->response_timeout_ms, timeout, sizeof(timeout));
  json_t *cmd = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "request_id",
                          p->request_id, "shard_token", p->shard_token,
                          "command_type", command_type, "channel", p->channel,
                          "created_at", created, "response_timeout", timeout,
                          "headers", headers ? headers : json_object());
  if (cmd != NULL && jsonrpc != NULL)
    json_object_set(cmd, "jsonrpc", jsonrpc);
  p->command = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
  json_decref(cmd);
  if (p->command == NULL) {
    pending_free(p);
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  if (s->stopping || s->npending >= DEVCP_MAX_PENDING) {
    pthread_mutex_unlock(&s->lock);
    pending_free(p);
    return NULL;
  }
  struct devcp_pending **tail = &s->pending;
  while (*tail != NULL)
    tail = &(*tail)->next;
  *tail = p;
  s->npending++;
  p->queued = 1;
  s->stats.commands_queued++;
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->lock);
  return p;
}

int tc_devcp_pending_next(struct tc_devcp *s, struct devcp_pending *p,
                          const struct timespec *deadline, json_t **msg) {
  int rc = 0;
  pthread_mutex_lock(&s->lock);
  for (;;) {
    if (p->nmsgs > 0) {
      *msg = p->msgs[0];
      p->nmsgs--;
      memmove(&p->msgs[0], &p->msgs[1], p->nmsgs * sizeof(p->msgs[0]));
      rc = 1;
      break;
    }
    if (s->stopping) {
      rc = -1;
      break;
    }
    if (pthread_cond_timedwait(&s->changed, &s->lock, deadline) == ETIMEDOUT &&
        p->nmsgs == 0) {
      rc = 0;
      break;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return rc;
}

struct devcp_pending *tc_devcp_pending_find_locked(struct tc_devcp *s,
                                                   const char *request_id) {
  for (struct devcp_pending *p = s->pending; p != NULL; p = p->next)
    if (strcmp(p->request_id, request_id) == 0)
      return p;
  return NULL;
}

const struct devcp_done *tc_devcp_done_find_locked(const struct tc_devcp *s,
                                                   const char *request_id) {
  for (size_t i = 0; i < DEVCP_DONE_RING; i++)
    if (s->done[i].request_id[0] != '\0' &&
        strcmp(s->done[i].request_id, request_id) == 0)
      return &s->done[i];
  return NULL;
}

void tc_devcp_pending_finish(struct tc_devcp *s, struct devcp_pending *p) {
  if (p == NULL)
    return;
  pthread_mutex_lock(&s->lock);
  for (struct devcp_pending **pp = &s->pending; *pp != NULL;
       pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      s->npending--;
      break;
    }
  }
  struct devcp_done *d = &s->done[s->done_next];
  s->done_next = (s->done_next + 1) % DEVCP_DONE_RING;
  memcpy(d->request_id, p->request_id, sizeof(d->request_id));
  d->terminal = p->terminal;
  pthread_mutex_unlock(&s->lock);
  pending_free(p);
}

int tc_devcp_fault_pop_locked(struct devcp_fault_queue *q,
                              struct devcp_fault *f) {
  if (q->count == 0)
    return -1;
  *f = q->items[q->head];
  q->head = (q->head + 1) % DEVCP_MAX_FAULTS;
  q->count--;
  return 0;
}
