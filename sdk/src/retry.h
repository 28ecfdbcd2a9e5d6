/* retry.h - the AWS SDKs' "standard" retry mode. Internal.
 *
 * Classification of a failed attempt, full-jitter exponential backoff capped
 * at 20 s, and the client-wide retry quota (500 tokens; a retry costs 5, a
 * retry after a timeout 10; a success refunds what its retries cost, or 1
 * token when it needed none, up to the initial 500). */
#ifndef FUGUE_RETRY_H
#define FUGUE_RETRY_H

#include <pthread.h>

typedef enum fugue_retry_kind {
	FUGUE_RETRY_NONE = 0,   /* not retryable (validation, auth, not found, ...) */
	FUGUE_RETRY_TRANSIENT,  /* HTTP 500/502/503/504, connection failures, RequestTimeout... */
	FUGUE_RETRY_THROTTLE,   /* Throttling, ThrottlingException, RequestLimitExceeded, ... */
	FUGUE_RETRY_TIMEOUT     /* the attempt timed out (costs more quota) */
} fugue_retry_kind;

#define FUGUE_RETRY_QUOTA_INITIAL 500
#define FUGUE_RETRY_COST 5
#define FUGUE_RETRY_TIMEOUT_COST 10
#define FUGUE_RETRY_NO_RETRY_INCREMENT 1
#define FUGUE_RETRY_MAX_BACKOFF_MS 20000L

/* TRANSPORT_RESULT is fugue_http_perform()'s result (0, FUGUE_EIO,
 * FUGUE_ETIMEOUT); HTTP_STATUS and CODE (may be NULL or "") describe the
 * answer when there was one. */
fugue_retry_kind fugue_retry_classify(int transport_result, int http_status, const char *code);

/* Nonzero when CODE is one of the throttling error codes. */
int fugue_retry_is_throttle_code(const char *code);

/* The delay before retry number ATTEMPT (1 for the first retry):
 * RAND01 * min(20 s, BASE_MS * 2^(ATTEMPT-1)), RAND01 in [0, 1). */
long fugue_retry_delay_ms(int attempt, long base_ms, double rand01);

typedef struct fugue_retry_quota {
	pthread_mutex_t lock;
	int tokens;
} fugue_retry_quota;

void fugue_retry_quota_init(fugue_retry_quota *q);
void fugue_retry_quota_destroy(fugue_retry_quota *q);
/* Takes the cost of one retry of KIND. Returns 0 and adds the cost to
 * *SPENT, or FUGUE_ERETRY when the quota cannot pay for it (no retry). */
int fugue_retry_quota_acquire(fugue_retry_quota *q, fugue_retry_kind kind, int *spent);
/* After a successful call: refunds SPENT, or FUGUE_RETRY_NO_RETRY_INCREMENT
 * when SPENT is 0, never above the initial amount. */
void fugue_retry_quota_success(fugue_retry_quota *q, int spent);
int fugue_retry_quota_available(fugue_retry_quota *q);

#endif
