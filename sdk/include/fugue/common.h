/* fugue/common.h - result codes and export macros shared by every public
 * header of libfugue. */
#ifndef FUGUE_COMMON_H
#define FUGUE_COMMON_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FUGUE_BUILDING_SDK)
#define FUGUE_API __attribute__((visibility("default")))
#else
#define FUGUE_API
#endif

/* Every libfugue function that can fail returns 0 or one of these negative
 * codes; details (the AWS error code, message and request id) travel in the
 * per-call diagnostics object the function takes, never in a global. */
enum fugue_result {
	FUGUE_OK = 0,
	FUGUE_EINVAL = -1,    /* bad argument or bad input document */
	FUGUE_ENOMEM = -2,    /* allocation failed */
	FUGUE_ENOTFOUND = -3, /* the resource does not exist (AWS *NotFound*, NoSuchEntity, ...) */
	FUGUE_ECONFLICT = -4, /* the resource exists or is in a conflicting state */
	FUGUE_ERETRY = -5,    /* throttled or transient and out of attempts: try again later */
	FUGUE_EAUTH = -6,     /* credentials missing, rejected or not allowed */
	FUGUE_EAWS = -7,      /* any other error answered by AWS (see the diagnostics) */
	FUGUE_EIO = -8,       /* transport failure: connect, TLS, reset */
	FUGUE_ETIMEOUT = -9,  /* no answer within the deadline */
	FUGUE_ECANCELED = -10,/* cancelled by the caller */
	FUGUE_EPROTO = -11,   /* a response we cannot parse */
	FUGUE_ECONFIG = -12   /* configuration missing or invalid (region, endpoint, profile) */
};

/* A static, lower-case description of a result code ("not found"). */
FUGUE_API const char *fugue_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif
