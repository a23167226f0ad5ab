/* fuzz_headers.c — libFuzzer target: header lists. The input is (1) a
 * configured extra-headers list (--mcp.extra-headers VALUE through
 * tc_config_load), (2) raw response header lines fed to the mcp-http
 * module's collector (mh_collect_header) and (3) the outgoing list built
 * from them (mh_build_headers), where no entry may carry CR or LF. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "mh_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';

  char *argv[] = {"--mcp.extra-headers", s, NULL};
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  char *err = NULL;
  if (tc_config_load(&cfg, 2, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL,
                     &err) != 0 &&
      err == NULL)
    abort();
  free(err);
  tc_config_free(&cfg);

  struct tc_headers h;
  memset(&h, 0, sizeof(h));
  const char *p = (const char *)data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
    if (mh_collect_header(&h, p, len) != 0)
      break;
    p += len;
  }
  struct curl_slist *out = NULL;
  size_t skipped = 0;
  if (mh_build_headers(&h, NULL, MH_HEADERS_POST, &out, &skipped) == 0) {
    for (struct curl_slist *e = out; e != NULL; e = e->next)
      if (strpbrk(e->data, "\r\n") != NULL)
        abort();
    curl_slist_free_all(out);
  }
  (void)mh_media_type_is(s, "application/json");
  tc_headers_clear(&h);
  free(s);
  return 0;
}
