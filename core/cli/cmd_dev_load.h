/* cli/cmd_dev_load.h — `dev load` entry point and help text (dispatched by
 * cli/cmd_dev.c). */
#ifndef TC_CLI_CMD_DEV_LOAD_H
#define TC_CLI_CMD_DEV_LOAD_H

extern const char tc_dev_load_usage[];
/* argv after "load"; returns the exit code. */
int tc_cmd_dev_load(int argc, char **argv);

#endif /* TC_CLI_CMD_DEV_LOAD_H */
