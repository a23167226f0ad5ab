/* config/reconcile.h — what a configuration reload (SIGHUP) may change in a
 * running process.
 *
 * Every key has a reload class: live (a reload applies it) or restart (the
 * process keeps its running value until it is restarted). The table is in
 * reconcile.c and docs/configuration.md; a key without a class is a defect
 * the unit tests catch.
 *
 * tc_config_reconcile() compares the running configuration with a freshly
 * loaded one (same argv, profile re-read, env:/file: references resolved
 * again), lists the keys whose value differs by class, and puts the running
 * value back into `next` for every restart key — so `next` is exactly what
 * the process runs with once the reload is applied, and the next reload
 * names the same restart keys again until the process restarts.
 *
 * Main thread; no I/O. Key names in the lists are YAML names ("log.level"),
 * or the flag name for keys without one ("modules.dir"); never values. */
#ifndef TC_CONFIG_RECONCILE_H
#define TC_CONFIG_RECONCILE_H

#include <stddef.h>

#include "config/config.h"

enum tc_reload_class {
  TC_RELOAD_UNCLASSIFIED = 0,
  TC_RELOAD_LIVE = 1,
  TC_RELOAD_RESTART = 2
};

/* Keys are numbered 0..tc_config_key_count()-1 (enum tc_key_id). */
int tc_config_key_count(void);
/* enum tc_reload_class of a key. */
int tc_config_reload_class(int key_id);
/* The name reports use for a key; NULL for profile-selection keys, which
 * come from argv and the environment and cannot change in a running
 * process. */
const char *tc_config_key_name(int key_id);

struct tc_config_changes {
  char **live; /* key names, key-table order */
  size_t live_count;
  char **restart;
  size_t restart_count;
};

/* Compare, fill *out and revert restart keys in *next. Returns 0, or -1
 * with *err (malloc()ed) on ENOMEM; *out is then empty. */
int tc_config_reconcile(const struct tc_config *running, struct tc_config *next,
                        struct tc_config_changes *out, char **err);
void tc_config_changes_free(struct tc_config_changes *c);

/* 1 when the two header lists hold the same entries in the same order
 * (names compared case-insensitively, values exactly). */
int tc_config_headers_equal(const struct tc_headers *a,
                            const struct tc_headers *b);

#endif /* TC_CONFIG_RECONCILE_H */
