/* metrics_jsonl.h — the example sink's config block, shared with its test. */
#ifndef METRICS_JSONL_H
#define METRICS_JSONL_H

#include <stdint.h>

struct metrics_jsonl_config {
  char *path;          /* path, required */
  int64_t interval_ms; /* interval, default 10s */
};

#endif /* METRICS_JSONL_H */
