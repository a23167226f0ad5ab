/* cli/cli.h — command entry points. Each takes the arguments after its
 * command words and returns the process exit code (0 ok, 1 error, 2 "not
 * healthy"/check failed). Errors are one line on stderr. */
#ifndef TC_CLI_CLI_H
#define TC_CLI_CLI_H

int tc_cmd_run(int argc, char **argv);
int tc_cmd_modules(int argc, char **argv); /* list [--json] | describe NAME */
int tc_cmd_dev(int argc, char **argv);     /* mcp-stub [...] */
int tc_cmd_help(int argc, char **argv);
int tc_cmd_version(int argc, char **argv);
/* runtimes connect|status|list|stop|rm|cleanup (cmd_runtimes*.c) */
int tc_cmd_runtimes(int argc, char **argv);
int tc_cmd_admin(int argc, char **argv);          /* tunnels CRUD */
int tc_cmd_admin_profiles(int argc, char **argv); /* list|set|... */
/* Their full help texts (shown by `help CMD` and `CMD --help`). */
extern const char tc_runtimes_usage[];
extern const char tc_admin_usage[];
extern const char tc_admin_profiles_usage[];
/* init | doctor | health | profiles (cmd_init.c, cmd_doctor*.c,
 * cmd_health.c, cmd_profiles*.c) and their help texts. */
int tc_cmd_init(int argc, char **argv);
int tc_cmd_doctor(int argc, char **argv);
int tc_cmd_health(int argc, char **argv);
int tc_cmd_profiles(int argc, char **argv);
extern const char tc_init_usage[];
extern const char tc_doctor_usage[];
extern const char tc_health_usage[];
extern const char tc_profiles_usage[];

/* The version string printed by --version. */
const char *tc_version_string(void);

#endif /* TC_CLI_CLI_H */
