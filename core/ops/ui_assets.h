/* ops/ui_assets.h — the table of UI files embedded at build time.
 *
 * The definitions are generated into the build directory by
 * core/ops/ui/embed_assets.cmake from the files in core/ops/ui/; each entry
 * is one file, named by its base name ("index.html", "app.js", ...).
 * Immutable, static storage. */
#ifndef TC_OPS_UI_ASSETS_H
#define TC_OPS_UI_ASSETS_H

#include <stddef.h>

struct tc_ui_asset {
  const char *name;          /* base name, e.g. "app.js" */
  const unsigned char *data; /* file bytes (not NUL-terminated) */
  size_t size;
};

extern const struct tc_ui_asset tc_ui_assets[];
extern const size_t tc_ui_asset_count;

#endif /* TC_OPS_UI_ASSETS_H */
