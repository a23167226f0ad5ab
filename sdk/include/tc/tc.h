/* tc/tc.h — convenience umbrella: everything a module may include. */
#ifndef TC_TC_H
#define TC_TC_H
#include "tc/errors.h"
#include "tc/headers.h"
#include "tc/hook.h"
#include "tc/host.h"
#include "tc/json_scan.h"
#include "tc/metrics.h"
#include "tc/module.h"
#include "tc/net.h"
#include "tc/transport.h"
#include "tc/version.h"
#endif
