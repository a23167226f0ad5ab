/* ops/ui_routes.h — the ops web UI: static files compiled into the binary.
 *
 * The ops listener hands `/`, `/ui`, `/ui/...`, `/assets/...` and
 * `/favicon.ico` here. `/` redirects to `/ui`; `/ui` and `/ui/` serve the
 * page; `/assets/<file>` serves one embedded file; anything else is 404.
 * Only GET and HEAD are allowed (405 with `Allow: GET, HEAD` otherwise).
 * Every answer carries a strict Content-Security-Policy (self only, no inline
 * script or style), nosniff, `X-Frame-Options: DENY` and `no-cache`.
 * Threads: any (libmicrohttpd's); reads only immutable data. */
#ifndef TC_OPS_UI_ROUTES_H
#define TC_OPS_UI_ROUTES_H

#include <microhttpd.h>

enum MHD_Result tc_ui_serve(struct MHD_Connection *c, const char *method,
                            const char *url);

#endif /* TC_OPS_UI_ROUTES_H */
