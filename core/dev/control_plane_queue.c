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

void tc_devcp_pending_free(struct devcp_pending *p) {
  if (p == NULL)
    return;
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
    tc_devcp_pending_free(p);
    return NULL;
  }
  pthread_mutex_lock(&s->lock);
  if (s->stopping || s->npending >= DEVCP_MAX_PENDING) {
    pthread_mutex_unlock(&s->lock);
    tc_devcp_pending_free(p);
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

void tc_devcp_pending_unlink_locked(struct tc_devcp *s,
                                    struct devcp_pending *p) {
  for (struct devcp_pending **pp = &s->pending; *pp != NULL;
       pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      s->npending--;
      break;
    }
  }
  if (!p->terminal && !p->queued && p->holder > 0)
    s->instances[p->holder - 1].abandoned++;
  struct devcp_done *d = &s->done[s->done_next];
  s->done_next = (s->done_next + 1) % DEVCP_DONE_RING;
  memcpy(d->request_id, p->request_id, sizeof(d->request_id));
  d->terminal = p->terminal;
}

void tc_devcp_pending_finish(struct tc_devcp *s, struct devcp_pending *p) {
  if (p == NULL)
    return;
  pthread_mutex_lock(&s->lock);
  tc_devcp_pending_unlink_locked(s, p);
  pthread_mutex_unlock(&s->lock);
  tc_devcp_pending_free(p);
}

/* ---- injected commands ---------------------------------------------------
 */

/* Copy an optional id member of `cmd` into out, or generate one (and set the
 * member) when absent. -1 when present but not a 1..47 char string. */
static int take_id(json_t *cmd, const char *key, const char *prefix,
                   char out[DEVCP_ID_LEN]) {
  json_t *v = json_object_get(cmd, key);
  if (v == NULL) {
    if (random_id(out, prefix) != 0)
      return -1;
    return json_object_set_new(cmd, key, json_string(out));
  }
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      json_string_length(v) >= DEVCP_ID_LEN ||
      strlen(json_string_value(v)) != json_string_length(v))
    return -1;
  snprintf(out, DEVCP_ID_LEN, "%s", json_string_value(v));
  return 0;
}

static void free_chain(struct devcp_pending *p) {
  while (p != NULL) {
    struct devcp_pending *next = p->next;
    tc_devcp_pending_free(p);
    p = next;
  }
}

/* One detached entry from a raw command object (borrowed, copied). */
static struct devcp_pending *inject_one(json_t *raw, const char **why) {
  struct devcp_pending *p = calloc(1, sizeof(*p));
  json_t *cmd = json_is_object(raw) ? json_deep_copy(raw) : NULL;
  *why = "each command must be a JSON object";
  if (p == NULL || cmd == NULL)
    goto fail;
  *why = "request_id, when given, must be a string of 1-47 characters";
  if (take_id(cmd, "request_id", "devreq_", p->request_id) != 0)
    goto fail;
  *why = "shard_token, when given, must be a string of 1-47 characters";
  if (take_id(cmd, "shard_token", "", p->shard_token) != 0)
    goto fail;
  const char *ch = json_string_value(json_object_get(cmd, "channel"));
  if (ch != NULL && strlen(ch) < sizeof(p->channel))
    snprintf(p->channel, sizeof(p->channel), "%s", ch);
  *why = "out of memory";
  p->command = json_dumps(cmd, JSON_COMPACT);
  if (p->command == NULL)
    goto fail;
  json_decref(cmd);
  p->detached = 1;
  p->queued = 1;
  return p;
fail:
  json_decref(cmd);
  free(p);
  return NULL;
}

int tc_devcp_inject(struct tc_devcp *s, json_t *commands, json_t **ids,
                    const char **why) {
  *ids = NULL;
  *why = "body must be a JSON array of 1-256 command objects";
  size_t n = json_array_size(commands);
  if (!json_is_array(commands) || n == 0 || n > DEVCP_MAX_INJECT)
    return -1;
  struct devcp_pending *head = NULL, **tail = &head;
  json_t *out = json_array();
  if (out == NULL) {
    *why = "out of memory";
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    struct devcp_pending *p = inject_one(json_array_get(commands, i), why);
    if (p == NULL)
      goto fail;
    for (struct devcp_pending *q = head; q != NULL; q = q->next)
      if (strcmp(q->request_id, p->request_id) == 0) {
        tc_devcp_pending_free(p);
        *why = "request_id values must be unique";
        goto fail;
      }
    *tail = p;
    tail = &p->next;
    json_array_append_new(out, json_string(p->request_id));
  }
  pthread_mutex_lock(&s->lock);
  *why = NULL;
  if (s->stopping)
    *why = "the control plane is stopping";
  else if (s->npending + n > DEVCP_MAX_PENDING)
    *why = "too many pending commands (1024); wait for responses";
  for (struct devcp_pending *q = head; *why == NULL && q != NULL; q = q->next)
    if (tc_devcp_pending_find_locked(s, q->request_id) != NULL)
      *why = "a command with this request_id is already pending";
  if (*why != NULL) {
    pthread_mutex_unlock(&s->lock);
    goto fail;
  }
  struct devcp_pending **end = &s->pending;
  while (*end != NULL)
    end = &(*end)->next;
  *end = head;
  s->npending += n;
  s->stats.commands_queued += n;
  s->stats.commands_injected += n;
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->lock);
  *ids = out;
  return 0;
fail:
  free_chain(head);
  json_decref(out);
  return -1;
}

size_t tc_devcp_requeue(struct tc_devcp *s, char (*ids)[DEVCP_ID_LEN],
                        size_t n) {
  size_t moved = 0;
  pthread_mutex_lock(&s->lock);
  /* Walk backwards so that the first id ends up first in the queue. */
  for (size_t i = n; i-- > 0;) {
    struct devcp_pending *p = tc_devcp_pending_find_locked(s, ids[i]);
    if (p == NULL || p->queued || p->terminal || p->nmsgs > 0)
      continue; /* gone, already queued again, or the agent answered */
    for (struct devcp_pending **pp = &s->pending; *pp != NULL;
         pp = &(*pp)->next)
      if (*pp == p) {
        *pp = p->next;
        break;
      }
    p->next = s->pending;
    s->pending = p;
    p->queued = 1;
    if (p->holder > 0)
      s->instances[p->holder - 1].requeued++;
    moved++;
  }
  s->stats.requeued += moved;
  if (moved > 0)
    pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->lock);
  return moved;
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
