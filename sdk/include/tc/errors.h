/* tc/errors.h — the one result enum used across the module boundary.
 *
 * TC_OK is 0, errors are negative, TC_DECLINED ("not mine") and TC_AGAIN
 * ("try later") are positive so `rc < 0` always means failure.
 * tc_strerror() and tc_errname() are header-only, so a module never needs a
 * symbol from the executable. Both return static strings, never NULL. */
#ifndef TC_ERRORS_H
#define TC_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) — append only; values are part of ABI v1. */
#define TC_ERRNO_MAP(X)                                                        \
  X(TC_OK, 0, "success")                                                       \
  X(TC_DECLINED, 1, "declined: not handled by this module")                    \
  X(TC_AGAIN, 2, "temporarily unavailable, try again")                         \
  X(TC_ERR, -1, "unspecified error")                                           \
  X(TC_ENOMEM, -2, "out of memory")                                            \
  X(TC_EINVAL, -3, "invalid argument")                                         \
  X(TC_ECONFIG, -4, "invalid configuration")                                   \
  X(TC_ENOTSUP, -5, "not supported")                                           \
  X(TC_EIO, -6, "input/output error")                                          \
  X(TC_ETIMEDOUT, -7, "timed out")                                             \
  X(TC_ECANCELED, -8, "canceled")                                              \
  X(TC_ECLOSED, -9, "transport closed")                                        \
  X(TC_EPROTO, -10, "protocol error")                                          \
  X(TC_ECONNECT, -11, "connection failed")                                     \
  X(TC_ETLS, -12, "TLS error")                                                 \
  X(TC_EDNS, -13, "name resolution failed")                                    \
  X(TC_EEXIST, -14, "already exists")                                          \
  X(TC_ENOENT, -15, "not found")                                               \
  X(TC_ESTATE, -16, "operation not allowed in the current state")              \
  X(TC_EABI, -17, "ABI mismatch")

enum tc_result {
#define TC_ERR_ENUM_(name, value, msg) name = (value),
  TC_ERRNO_MAP(TC_ERR_ENUM_)
#undef TC_ERR_ENUM_
};

/* Human-readable message for a result code; "unknown error" for others. */
static inline const char *tc_strerror(int rc) {
  switch (rc) {
#define TC_ERR_STR_(name, value, msg)                                          \
  case (value):                                                                \
    return (msg);
    TC_ERRNO_MAP(TC_ERR_STR_)
#undef TC_ERR_STR_
  default:
    return "unknown error";
  }
}

/* Symbolic name ("TC_EINVAL") for a result code; "TC_UNKNOWN" for others. */
static inline const char *tc_errname(int rc) {
  switch (rc) {
#define TC_ERR_NAME_(name, value, msg)                                         \
  case (value):                                                                \
    return #name;
    TC_ERRNO_MAP(TC_ERR_NAME_)
#undef TC_ERR_NAME_
  default:
    return "TC_UNKNOWN";
  }
}

#ifdef __cplusplus
}
#endif
#endif /* TC_ERRORS_H */
