/* fuzz_yaml_profile.c — libFuzzer target: a YAML profile loaded through the
 * real configuration path (tc_config_load with --profile-file, lenient
 * mode), so syntax errors, unknown keys, references and per-key validation
 * are all exercised. The input is written to a private temp file. A
 * failure must come with one error line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char profile_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (profile_path[0] == '\0') {
    snprintf(profile_path, sizeof(profile_path),
             "/tmp/tc-fuzz-profile-%ld.yaml", (long)getpid());
    /* The environment must not feed the configuration. */
    clearenv();
  }
  FILE *f = fopen(profile_path, "wb");
  if (f == NULL)
    return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  char *argv[] = {"--profile-file", profile_path, NULL};
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  char *err = NULL;
  if (tc_config_load(&cfg, 2, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL,
                     &err) != 0 &&
      err == NULL)
    abort();
  free(err);
  tc_config_free(&cfg);
  return 0;
}
