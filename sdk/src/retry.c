/* retry.c - the AWS SDKs' "standard" retry mode: which failures are worth
 * another attempt, how long to wait before it, and the client-wide quota
 * that stops a struggling service from being hammered by retries.
 *
 * The code lists follow botocore's standard mode (botocore/retries/
 * standard.py): its throttling codes and its transient codes and statuses.
 * Two choices of ours on top:
 *  - HTTP 429 without a recognised code counts as throttling (the Java and
 *    Go SDKs do the same; botocore's legacy mode retries it too);
 *  - InternalError, InternalFailure and ServiceUnavailable are transient
 *    because AWS sends them with a 5xx status, which is what botocore keys
 *    on; with a 4xx status they are not retried, as in botocore. */
#include "retry.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "fugue/common.h"

static const char *const throttle_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"PriorRequestNotComplete",
};

static const int transient_statuses[] = { 500, 502, 503, 504 };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	if (!code || !*code)
		return 0;
	for (i = 0; i < n; i++) {
		if (strcmp(code, list[i]) == 0)
			return 1;
	}
	return 0;
}

static int is_transient_status(int status)
{
	size_t i;

	for (i = 0; i < COUNT(transient_statuses); i++) {
		if (status == transient_statuses[i])
			return 1;
	}
	return 0;
}

int fugue_retry_is_throttle_code(const char *code)
{
	return in_list(code, throttle_codes, COUNT(throttle_codes));
}

fugue_retry_kind fugue_retry_classify(int transport_result, int http_status, const char *code)
{
	if (transport_result == FUGUE_ETIMEOUT)
		return FUGUE_RETRY_TIMEOUT;
	if (transport_result == FUGUE_EIO)
		return FUGUE_RETRY_TRANSIENT;
	if (transport_result < 0)
		return FUGUE_RETRY_NONE; /* ENOMEM, EINVAL...: a retry cannot help */
	if (http_status >= 200 && http_status < 300)
		return FUGUE_RETRY_NONE;
	if (fugue_retry_is_throttle_code(code))
		return FUGUE_RETRY_THROTTLE;
	if (in_list(code, transient_codes, COUNT(transient_codes)))
		return FUGUE_RETRY_TRANSIENT;
	if (is_transient_status(http_status))
		return FUGUE_RETRY_TRANSIENT;
	if (http_status == 429)
		return FUGUE_RETRY_THROTTLE;
	return FUGUE_RETRY_NONE;
}

long fugue_retry_delay_ms(int attempt, long base_ms, double rand01)
{
	double ceiling;

	if (base_ms <= 0)
		return 0;
	if (attempt < 1)
		attempt = 1;
	if (!(rand01 >= 0.0)) /* also catches NaN */
		rand01 = 0.0;
	if (rand01 >= 1.0)
		rand01 = nextafter(1.0, 0.0);
	/* 2^(attempt-1) overflows nothing as a double; the cap keeps it sane. */
	ceiling = ldexp((double)base_ms, attempt > 64 ? 63 : attempt - 1);
	if (ceiling > (double)FUGUE_RETRY_MAX_BACKOFF_MS)
		ceiling = (double)FUGUE_RETRY_MAX_BACKOFF_MS;
	return (long)floor(rand01 * ceiling);
}

void fugue_retry_quota_init(fugue_retry_quota *q)
{
	pthread_mutex_init(&q->lock, NULL);
	q->tokens = FUGUE_RETRY_QUOTA_INITIAL;
}

void fugue_retry_quota_destroy(fugue_retry_quota *q)
{
	pthread_mutex_destroy(&q->lock);
}

static int retry_cost(fugue_retry_kind kind)
{
	return kind == FUGUE_RETRY_TIMEOUT ? FUGUE_RETRY_TIMEOUT_COST : FUGUE_RETRY_COST;
}

int fugue_retry_quota_acquire(fugue_retry_quota *q, fugue_retry_kind kind, int *spent)
{
	int cost;
	int rc = FUGUE_ERETRY;

	if (kind == FUGUE_RETRY_NONE)
		return FUGUE_ERETRY;
	cost = retry_cost(kind);
	pthread_mutex_lock(&q->lock);
	if (q->tokens >= cost) {
		q->tokens -= cost;
		rc = 0;
	}
	pthread_mutex_unlock(&q->lock);
	if (rc == 0 && spent)
		*spent += cost;
	return rc;
}

void fugue_retry_quota_success(fugue_retry_quota *q, int spent)
{
	int refund = spent > 0 ? spent : FUGUE_RETRY_NO_RETRY_INCREMENT;

	pthread_mutex_lock(&q->lock);
	q->tokens += refund;
	if (q->tokens > FUGUE_RETRY_QUOTA_INITIAL)
		q->tokens = FUGUE_RETRY_QUOTA_INITIAL;
	pthread_mutex_unlock(&q->lock);
}

int fugue_retry_quota_available(fugue_retry_quota *q)
{
	int n;

	pthread_mutex_lock(&q->lock);
	n = q->tokens;
	pthread_mutex_unlock(&q->lock);
	return n;
}
