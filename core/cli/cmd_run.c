/* cli/cmd_run.c — `tunnel-client run`: the foreground agent with the
 * command line as given (the lifecycle lives in run_agent.c). */
#include "cli/cli.h"
#include "cli/run_agent.h"

int tc_cmd_run(int argc, char **argv) {
  return tc_run_agent(argc, argv, NULL);
}
