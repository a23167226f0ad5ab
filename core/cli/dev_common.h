/* cli/dev_common.h — internal to the `dev` commands (cli/cmd_dev*.c): the
 * subcommand entry points and the helpers they share (flag parsing, signal
 * handling, the --url-file output). Not part of any public contract. */
#ifndef TC_CLI_DEV_COMMON_H
#define TC_CLI_DEV_COMMON_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Subcommands: argv after the subcommand word; return the exit code. */
int tc_cmd_dev_mcp_stub(int argc, char **argv);
int tc_cmd_dev_control_plane(int argc, char **argv);
int tc_cmd_dev_proxy(int argc, char **argv);

/* Their help texts, printed by --help and 'dev help <command>'. */
extern const char tc_dev_mcp_stub_usage[];
extern const char tc_dev_control_plane_usage[];
extern const char tc_dev_proxy_usage[];

/* A repeatable flag's values: every occurrence, each split at commas and
 * trimmed (malloc()ed copies; release with tc_dev_list_free). */
struct tc_dev_list {
  char **items;
  size_t count;
};

/* One accepted flag. A value flag (value != NULL) takes `--name V` or
 * `--name=V`; the value is borrowed from argv and must be 1..256 printable
 * characters, or any non-empty text when long_ok. A boolean flag (on !=
 * NULL) takes `--name`, `--name=true` or `--name=false`. A list flag (list
 * != NULL) is a value flag that may repeat, each value a comma-separated
 * list without empty entries. */
struct tc_dev_flag {
  const char *name;
  char **value;
  bool *on;
  bool long_ok;
  struct tc_dev_list *list;
};

void tc_dev_list_free(struct tc_dev_list *l);

/* The --allowed-hosts lines of the stand-ins' help texts. */
#define TC_DEV_ALLOWED_HOSTS_HELP                                              \
  "  --allowed-hosts NAME      also accept NAME in the Host and Origin of a\n" \
  "                            request (repeatable, or comma-separated): a\n"  \
  "                            host name, .domain (it and every name under\n"  \
  "                            it), an IP address or [IPv6], each "            \
  "optionally\n"                                                               \
  "                            with :port. By default only localhost,\n"       \
  "                            127.0.0.1, [::1] and the listen address with\n" \
  "                            its port are accepted (DNS-rebinding\n"         \
  "                            protection)\n"

/* --allowed-hosts of `dev <cmd>`: every entry must follow
 * util/host_pattern.h. Returns 0, or prints one error line and returns
 * -1. */
int tc_dev_check_allowed_hosts(const char *cmd, const struct tc_dev_list *l);

/* Parses argv against flags for `dev <cmd>`. Unknown arguments get
 * "dev <cmd>: unknown argument "..."; <unknown_hint>". Returns 0, 1 (one
 * error line printed on stderr) or 2 (--help/-h: usage printed on stdout,
 * exit 0). */
int tc_dev_parse_flags(const char *cmd, const char *usage,
                       const char *unknown_hint,
                       const struct tc_dev_flag *flags, size_t nflags, int argc,
                       char **argv);

/* --response-timeout for `dev <cmd>`: at least 1ms. Stores milliseconds and
 * returns 0, or prints one error line and returns -1. */
int tc_dev_response_timeout_ms(const char *cmd, const char *text,
                               int64_t *out_ms);

/* Call before any thread starts (threads inherit the mask): blocks SIGINT
 * and SIGTERM into *signals so only sigwait() sees them, undoes an inherited
 * "ignore" for them and ignores SIGPIPE. */
void tc_dev_block_signals(sigset_t *signals);

/* Waits for SIGINT or SIGTERM (blocked by tc_dev_block_signals) and logs
 * "shutting down" under component. */
void tc_dev_wait_for_stop(const sigset_t *signals, const char *component);

/* Writes base to path (mode 0600, atomically) for --url-file of `dev <cmd>`.
 * Returns 0, or prints one error line and returns -1. */
int tc_dev_write_url_file(const char *cmd, const char *path, const char *base);

/* Removes an output file written earlier (no-op when path is NULL); logs
 * warning under component when that fails. */
void tc_dev_remove_output_file(const char *component, const char *path,
                               const char *warning);

#endif /* TC_CLI_DEV_COMMON_H */
