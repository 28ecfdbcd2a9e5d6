/* test_retry.c - standard retry mode: classification, backoff, quota. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fugue/common.h"
#include "retry.h"
#include "testmain.h"

/* --- classification ---------------------------------------------------- */

typedef struct classify_case {
	int transport;
	int status;
	const char *code;
	fugue_retry_kind want;
} classify_case;

static const classify_case cases[] = {
	/* throttling codes, whatever the status */
	{ 0, 400, "RequestLimitExceeded", FUGUE_RETRY_THROTTLE },
	{ 0, 503, "RequestLimitExceeded", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "Throttling", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "ThrottlingException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "ThrottledException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "RequestThrottledException", FUGUE_RETRY_THROTTLE },
	{ 0, 429, "TooManyRequestsException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "ProvisionedThroughputExceededException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "TransactionInProgressException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "RequestThrottled", FUGUE_RETRY_THROTTLE },
	{ 0, 503, "SlowDown", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "PriorRequestNotComplete", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "EC2ThrottledException", FUGUE_RETRY_THROTTLE },
	{ 0, 400, "LimitExceededException", FUGUE_RETRY_THROTTLE },
	{ 0, 509, "BandwidthLimitExceeded", FUGUE_RETRY_THROTTLE },
	{ 0, 429, NULL, FUGUE_RETRY_THROTTLE },
	{ 0, 429, "", FUGUE_RETRY_THROTTLE },
	/* transient codes and statuses */
	{ 0, 400, "RequestTimeout", FUGUE_RETRY_TRANSIENT },
	{ 0, 408, "RequestTimeoutException", FUGUE_RETRY_TRANSIENT },
	{ 0, 500, "InternalError", FUGUE_RETRY_TRANSIENT },
	{ 0, 500, "InternalFailure", FUGUE_RETRY_TRANSIENT },
	{ 0, 503, "ServiceUnavailable", FUGUE_RETRY_TRANSIENT },
	{ 0, 503, "Unavailable", FUGUE_RETRY_TRANSIENT },
	{ 0, 500, NULL, FUGUE_RETRY_TRANSIENT },
	{ 0, 502, "", FUGUE_RETRY_TRANSIENT },
	{ 0, 503, NULL, FUGUE_RETRY_TRANSIENT },
	{ 0, 504, NULL, FUGUE_RETRY_TRANSIENT },
	/* transport results */
	{ FUGUE_EIO, 0, "ConnectionError", FUGUE_RETRY_TRANSIENT },
	{ FUGUE_EIO, 0, NULL, FUGUE_RETRY_TRANSIENT },
	{ FUGUE_ETIMEOUT, 0, "RequestTimeout", FUGUE_RETRY_TIMEOUT },
	{ FUGUE_ETIMEOUT, 0, NULL, FUGUE_RETRY_TIMEOUT },
	{ FUGUE_ENOMEM, 0, NULL, FUGUE_RETRY_NONE },
	{ FUGUE_EINVAL, 0, NULL, FUGUE_RETRY_NONE },
	/* not worth another attempt */
	{ 0, 400, "ValidationError", FUGUE_RETRY_NONE },
	{ 0, 400, "InvalidParameterValue", FUGUE_RETRY_NONE },
	{ 0, 400, "InvalidVpcID.NotFound", FUGUE_RETRY_NONE },
	{ 0, 403, "AuthFailure", FUGUE_RETRY_NONE },
	{ 0, 403, "SignatureDoesNotMatch", FUGUE_RETRY_NONE },
	{ 0, 404, "ResourceNotFoundException", FUGUE_RETRY_NONE },
	{ 0, 409, "ResourceConflictException", FUGUE_RETRY_NONE },
	{ 0, 400, "InternalError", FUGUE_RETRY_NONE },  /* as botocore: by status only */
	{ 0, 400, "throttling", FUGUE_RETRY_NONE },     /* codes are case-sensitive */
	{ 0, 501, NULL, FUGUE_RETRY_NONE },
	{ 0, 400, NULL, FUGUE_RETRY_NONE },
	{ 0, 200, NULL, FUGUE_RETRY_NONE },
	{ 0, 204, "", FUGUE_RETRY_NONE },
};

static void test_classify_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const classify_case *c = &cases[i];
		fugue_retry_kind got = fugue_retry_classify(c->transport, c->status, c->code);

		if (got != c->want)
			fprintf(stderr, "\nclassify(%d, %d, %s) = %d, want %d\n", c->transport,
			        c->status, c->code ? c->code : "NULL", (int)got, (int)c->want);
		CU_ASSERT_EQUAL(got, c->want);
	}
}

static void test_throttle_codes(void)
{
	CU_ASSERT_TRUE(fugue_retry_is_throttle_code("RequestLimitExceeded"));
	CU_ASSERT_TRUE(fugue_retry_is_throttle_code("Throttling"));
	CU_ASSERT_TRUE(fugue_retry_is_throttle_code("TooManyRequestsException"));
	CU_ASSERT_TRUE(fugue_retry_is_throttle_code("EC2ThrottledException"));
	CU_ASSERT_FALSE(fugue_retry_is_throttle_code("RequestTimeout"));
	CU_ASSERT_FALSE(fugue_retry_is_throttle_code("ValidationError"));
	CU_ASSERT_FALSE(fugue_retry_is_throttle_code("Throttling "));
	CU_ASSERT_FALSE(fugue_retry_is_throttle_code(""));
	CU_ASSERT_FALSE(fugue_retry_is_throttle_code(NULL));
}

/* --- backoff ----------------------------------------------------------- */

static long ceiling_for(int attempt, long base)
{
	double c = (double)base * pow(2.0, attempt - 1);

	return c > 20000.0 ? 20000L : (long)c;
}

static void check_delays(long base)
{
	static const double rands[] = { 0.0, 0.5, 0.999 };
	int attempt;
	size_t i;

	for (attempt = 1; attempt <= 10; attempt++) {
		long cap = ceiling_for(attempt, base);

		for (i = 0; i < sizeof(rands) / sizeof(rands[0]); i++) {
			long d = fugue_retry_delay_ms(attempt, base, rands[i]);

			CU_ASSERT_TRUE(d >= 0);
			CU_ASSERT_TRUE(d <= cap);
			CU_ASSERT_TRUE(d >= (long)floor(rands[i] * (double)cap) - 1);
		}
		CU_ASSERT_EQUAL(fugue_retry_delay_ms(attempt, base, 0.0), 0);
		CU_ASSERT_EQUAL(fugue_retry_delay_ms(attempt, base, 0.5), cap / 2);
	}
}

static void test_delay_bounds(void)
{
	check_delays(20);
	check_delays(1000);
	check_delays(50);
	/* the first retry of the default unit: up to 1 s; the cap: 20 s */
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(1, 1000, 0.5), 500);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(6, 1000, 0.5), 10000);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(10, 1000, 0.5), 10000);
	CU_ASSERT_TRUE(fugue_retry_delay_ms(10, 1000, 0.999) <= 20000);
	CU_ASSERT_TRUE(fugue_retry_delay_ms(10, 1000, 0.999) >= 19900);
}

static void test_delay_edges(void)
{
	/* no overflow for absurd attempt numbers; out-of-range randoms clamped */
	CU_ASSERT_TRUE(fugue_retry_delay_ms(1000, 1000, 0.999) <= 20000);
	CU_ASSERT_TRUE(fugue_retry_delay_ms(1000, 1000, 0.999) > 0);
	CU_ASSERT_TRUE(fugue_retry_delay_ms(3, 1000, 1.0) < 4000);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(3, 1000, -1.0), 0);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(3, 1000, NAN), 0);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(0, 1000, 0.5), 500);
	CU_ASSERT_EQUAL(fugue_retry_delay_ms(3, 0, 0.5), 0);
}

/* --- quota ------------------------------------------------------------- */

static void test_quota_exhaustion(void)
{
	fugue_retry_quota q;
	int spent = 0;
	int granted = 0;

	fugue_retry_quota_init(&q);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);
	while (granted < 1000 && fugue_retry_quota_acquire(&q, FUGUE_RETRY_TRANSIENT, &spent) == 0)
		granted++;
	CU_ASSERT_EQUAL(granted, 100);
	CU_ASSERT_EQUAL(spent, 500);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_THROTTLE, &spent), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(spent, 500);
	/* a success refunds what its retries cost */
	fugue_retry_quota_success(&q, 15);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 15);
	fugue_retry_quota_destroy(&q);
}

static void test_quota_costs(void)
{
	fugue_retry_quota q;
	int spent = 0;
	int granted = 0;

	fugue_retry_quota_init(&q);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_TIMEOUT, &spent), 0);
	CU_ASSERT_EQUAL(spent, 10);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 490);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_THROTTLE, &spent), 0);
	CU_ASSERT_EQUAL(spent, 15);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 485);
	/* nothing to retry: refused, nothing taken */
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_NONE, &spent), FUGUE_ERETRY);
	CU_ASSERT_EQUAL(spent, 15);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 485);
	/* timeouts alone: 485 / 10 = 48 more, then 5 left for one cheap retry */
	spent = 0;
	while (granted < 1000 && fugue_retry_quota_acquire(&q, FUGUE_RETRY_TIMEOUT, &spent) == 0)
		granted++;
	CU_ASSERT_EQUAL(granted, 48);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 5);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_TRANSIENT, NULL), 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 0);
	fugue_retry_quota_destroy(&q);
}

static void test_quota_refunds(void)
{
	fugue_retry_quota q;
	int spent = 0;
	int i;

	fugue_retry_quota_init(&q);
	/* a success without retries on a full quota: stays at 500 */
	fugue_retry_quota_success(&q, 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_TRANSIENT, &spent), 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_acquire(&q, FUGUE_RETRY_TRANSIENT, &spent), 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 490);
	/* a success without retries gives 1 back */
	fugue_retry_quota_success(&q, 0);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 491);
	/* one with retries gives their cost back, capped at 500 */
	fugue_retry_quota_success(&q, spent);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);
	for (i = 0; i < 10; i++)
		fugue_retry_quota_success(&q, 10);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);
	fugue_retry_quota_destroy(&q);
}

#define NTHREADS 8

typedef struct quota_worker {
	fugue_retry_quota *q;
	pthread_barrier_t *start;
	int granted;
	int spent;
	int refunds;
} quota_worker;

static void *drain(void *arg)
{
	quota_worker *w = arg;

	pthread_barrier_wait(w->start);
	while (w->granted < 1000 &&
	       fugue_retry_quota_acquire(w->q, FUGUE_RETRY_TRANSIENT, &w->spent) == 0)
		w->granted++;
	return NULL;
}

static void *churn(void *arg)
{
	quota_worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < 2000; i++) {
		int spent = 0;

		if (fugue_retry_quota_acquire(w->q, FUGUE_RETRY_THROTTLE, &spent) == 0) {
			fugue_retry_quota_success(w->q, spent);
			w->refunds++;
		}
		if (fugue_retry_quota_available(w->q) > 500)
			w->granted = -1000000; /* over the cap: make the test fail */
	}
	return NULL;
}

static void run_threads(void *(*fn)(void *), quota_worker *w, fugue_retry_quota *q)
{
	pthread_t tid[NTHREADS];
	pthread_barrier_t start;
	int i;

	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].q = q;
		w[i].start = &start;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, fn, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
}

static void test_quota_threads(void)
{
	quota_worker w[NTHREADS];
	fugue_retry_quota q;
	int granted = 0;
	int spent = 0;
	int refunds = 0;
	int i;

	fugue_retry_quota_init(&q);
	run_threads(drain, w, &q);
	for (i = 0; i < NTHREADS; i++) {
		granted += w[i].granted;
		spent += w[i].spent;
	}
	CU_ASSERT_EQUAL(granted, 100);
	CU_ASSERT_EQUAL(spent, 500);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 0);
	for (i = 0; i < NTHREADS; i++)
		fugue_retry_quota_success(&q, w[i].spent);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);

	run_threads(churn, w, &q);
	for (i = 0; i < NTHREADS; i++) {
		CU_ASSERT_TRUE(w[i].granted >= 0);
		refunds += w[i].refunds;
	}
	CU_ASSERT_EQUAL(refunds, NTHREADS * 2000);
	CU_ASSERT_EQUAL(fugue_retry_quota_available(&q), 500);
	fugue_retry_quota_destroy(&q);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("classify", NULL, NULL);

	CU_add_test(s, "table", test_classify_table);
	CU_add_test(s, "throttle codes", test_throttle_codes);
	s = CU_add_suite("backoff", NULL, NULL);
	CU_add_test(s, "bounds", test_delay_bounds);
	CU_add_test(s, "edges", test_delay_edges);
	s = CU_add_suite("quota", NULL, NULL);
	CU_add_test(s, "exhaustion", test_quota_exhaustion);
	CU_add_test(s, "costs", test_quota_costs);
	CU_add_test(s, "refunds", test_quota_refunds);
	CU_add_test(s, "threads", test_quota_threads);
	return 0;
}
