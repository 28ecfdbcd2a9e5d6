/* test_ratelimit.c - client-side token buckets, driven by a fake clock. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "testmain.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

static fugue_ratelimit *rl;

static int setup(void)
{
	return fugue_ratelimit_new(&rl);
}

static int teardown(void)
{
	fugue_ratelimit_free(rl);
	rl = NULL;
	return 0;
}

/* A fresh limiter per test, so buckets do not leak state between tests. */
static void fresh(void)
{
	fugue_ratelimit_free(rl);
	rl = NULL;
	CU_ASSERT_EQUAL_FATAL(fugue_ratelimit_new(&rl), 0);
}

/* Reserves N tokens at NOW and checks that none has to wait. */
static void burst(const char *service, const char *region, const char *action, int n, double now)
{
	int i;
	int waited = 0;

	for (i = 0; i < n; i++) {
		if (fugue_ratelimit_reserve(rl, service, region, action, now) != 0)
			waited++;
	}
	CU_ASSERT_EQUAL(waited, 0);
}

static void test_classes(void)
{
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "RunInstances"), "ec2/run-instances");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "DescribeInstances"), "ec2/non-mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "GetConsoleOutput"), "ec2/non-mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "ListImagesInRecycleBin"),
	                       "ec2/non-mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "SearchTransitGatewayRoutes"),
	                       "ec2/non-mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "CreateVpc"), "ec2/mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "TerminateInstances"), "ec2/mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("ec2", "RunScheduledInstances"), "ec2/mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("elasticloadbalancing", "CreateLoadBalancer"),
	                       "elasticloadbalancing/create-load-balancer");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("elasticloadbalancing", "DescribeLoadBalancers"),
	                       "elasticloadbalancing/non-mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("elasticloadbalancing", "RegisterTargets"),
	                       "elasticloadbalancing/mutating");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("lambda", "CreateFunction"),
	                       "lambda/control-plane");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("lambda", "ListFunctions"),
	                       "lambda/control-plane");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("lambda", "Invoke"), "lambda/invoke");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("iam", "CreateRole"), "iam/all");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class("sqs", "SendMessage"), "default");
	CU_ASSERT_STRING_EQUAL(fugue_ratelimit_class(NULL, NULL), "default");
}

static void test_burst_then_spacing(void)
{
	fresh();
	/* EC2 mutating: 50 at once, then one every 200 ms */
	burst("ec2", "us-east-1", "CreateVpc", 50, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "CreateVpc", 0), 200);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "CreateTags", 0), 400);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "CreateVpc", 0), 600);
	/* 1 s later the bucket got 5 tokens: it owed 3, so 2 pass at once */
	burst("ec2", "us-east-1", "CreateVpc", 2, 1000);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "CreateVpc", 1000), 200);
	/* after a long pause the bucket holds its burst again, not more */
	burst("ec2", "us-east-1", "CreateVpc", 50, 1000000);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "CreateVpc", 1000000), 200);
}

static void test_class_defaults(void)
{
	fresh();
	burst("ec2", "us-east-1", "DescribeVpcs", 100, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "DescribeVpcs", 0), 50);
	burst("elasticloadbalancing", "us-east-1", "CreateLoadBalancer", 10, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "elasticloadbalancing", "us-east-1",
	                                        "CreateLoadBalancer", 0), 5000);
	burst("lambda", "us-east-1", "CreateFunction", 15, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "lambda", "us-east-1", "GetFunction", 0), 67);
	burst("iam", "us-east-1", "CreateRole", 20, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "iam", "us-east-1", "GetRole", 0), 100);
	burst("sqs", "us-east-1", "SendMessage", 50, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "sqs", "us-east-1", "SendMessage", 0), 40);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "us-east-1", "CreateVpc"), 5.0));
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "us-east-1", "DescribeVpcs"), 20.0));
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "eu-west-1", "RunInstances"), 2.0));
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "elasticloadbalancing", "x",
	                                         "CreateLoadBalancer"), 0.2));
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "lambda", "x", "CreateFunction"), 15.0));
}

static void test_run_instances_separate(void)
{
	fresh();
	burst("ec2", "us-east-1", "RunInstances", 5, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "RunInstances", 0), 500);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "RunInstances", 0), 1000);
	/* other EC2 classes are untouched */
	burst("ec2", "us-east-1", "DescribeInstances", 100, 0);
	burst("ec2", "us-east-1", "CreateVpc", 50, 0);
	/* and their exhaustion does not slow RunInstances further */
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "RunInstances", 0), 1500);
}

static void test_regions_independent(void)
{
	fresh();
	burst("ec2", "us-east-1", "RunInstances", 5, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "us-east-1", "RunInstances", 0), 500);
	burst("ec2", "eu-west-1", "RunInstances", 5, 0);
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "eu-west-1", "RunInstances", 0), 500);
	/* services are independent too: same class name space, other bucket */
	burst("sqs", "us-east-1", "A", 50, 0);
	burst("sns", "us-east-1", "A", 50, 0);
	/* a NULL region is a bucket of its own, not a crash */
	burst("ec2", NULL, "RunInstances", 5, 0);
}

static void test_throttle_and_recover(void)
{
	int i;

	fresh();
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "r", "CreateVpc", 0), 0);
	fugue_ratelimit_throttled(rl, "ec2", "r", "CreateVpc", 0);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc"), 2.5));
	/* a throttle empties the saved burst: the next call waits 1/rate */
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "r", "CreateVpc", 0), 400);
	/* throttles answered together count once */
	fugue_ratelimit_throttled(rl, "ec2", "r", "CreateVpc", 50);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc"), 2.5));
	fugue_ratelimit_throttled(rl, "ec2", "r", "CreateVpc", 1000);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc"), 1.25));
	/* other classes and regions keep their rate */
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "RunInstances"), 2.0));
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r2", "CreateVpc"), 5.0));
	/* successes bring it back, step by step, never above the default */
	fugue_ratelimit_succeeded(rl, "ec2", "r", "CreateVpc", 2000);
	CU_ASSERT_TRUE(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc") > 1.25);
	CU_ASSERT_TRUE(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc") < 5.0);
	for (i = 0; i < 1000; i++) {
		fugue_ratelimit_succeeded(rl, "ec2", "r", "CreateVpc", 2000 + i);
		CU_ASSERT_TRUE(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc") <= 5.0);
	}
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc"), 5.0));
	/* a success on an untouched bucket leaves it at the default */
	fugue_ratelimit_succeeded(rl, "ec2", "r", "DescribeVpcs", 0);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "DescribeVpcs"), 20.0));
}

static void test_floors(void)
{
	int i;

	fresh();
	/* EC2 mutating: floor 10% of 5/s */
	for (i = 0; i < 20; i++)
		fugue_ratelimit_throttled(rl, "ec2", "r", "CreateVpc", 1000.0 * i);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "ec2", "r", "CreateVpc"), 0.5));
	CU_ASSERT_EQUAL(fugue_ratelimit_reserve(rl, "ec2", "r", "CreateVpc", 19000), 2000);
	/* CreateLoadBalancer (0.2/s): the 0.1/s minimum applies */
	for (i = 0; i < 20; i++)
		fugue_ratelimit_throttled(rl, "elasticloadbalancing", "r", "CreateLoadBalancer",
		                          1000.0 * i);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "elasticloadbalancing", "r",
	                                         "CreateLoadBalancer"), 0.1));
	/* Lambda (15/s): floor 1.5/s */
	for (i = 0; i < 20; i++)
		fugue_ratelimit_throttled(rl, "lambda", "r", "CreateFunction", 1000.0 * i);
	CU_ASSERT_TRUE(NEAR(fugue_ratelimit_rate(rl, "lambda", "r", "CreateFunction"), 1.5));
}

#define NTHREADS 8
#define PER_THREAD 100

typedef struct worker {
	pthread_barrier_t *start;
	long waits[PER_THREAD];
} worker;

static void *reserve_many(void *arg)
{
	worker *w = arg;
	int i;

	pthread_barrier_wait(w->start);
	for (i = 0; i < PER_THREAD; i++)
		w->waits[i] = fugue_ratelimit_reserve(rl, "ec2", "threads", "CreateVpc", 0);
	return NULL;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a;
	long y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Concurrent callers are spaced out: every wait is distinct, 200 ms apart. */
static void test_threads(void)
{
	static worker w[NTHREADS];
	static long all[NTHREADS * PER_THREAD];
	pthread_t tid[NTHREADS];
	pthread_barrier_t start;
	int i;
	int bad = 0;

	fresh();
	pthread_barrier_init(&start, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		w[i].start = &start;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, reserve_many, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < NTHREADS; i++)
		memcpy(&all[i * PER_THREAD], w[i].waits, sizeof(w[i].waits));
	qsort(all, NTHREADS * PER_THREAD, sizeof(all[0]), cmp_long);
	for (i = 0; i < NTHREADS * PER_THREAD; i++) {
		long want = i < 50 ? 0 : (long)(i - 49) * 200;

		if (all[i] != want)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* The real clock: acquire sleeps out the wait (lower bound only). */
static void test_acquire_sleeps(void)
{
	double t0;
	double t1;
	double elapsed;
	int i;

	fresh();
	t0 = fugue_monotonic_ms();
	for (i = 0; i < 5; i++)
		fugue_ratelimit_acquire(rl, "ec2", "sleep", "RunInstances");
	t1 = fugue_monotonic_ms();
	CU_ASSERT_TRUE(t1 - t0 < 400); /* the burst does not wait */
	fugue_ratelimit_acquire(rl, "ec2", "sleep", "RunInstances");
	elapsed = fugue_monotonic_ms() - t1;
	CU_ASSERT_TRUE(elapsed >= 400);
	CU_ASSERT_TRUE(elapsed < 10000);
	CU_ASSERT_TRUE(fugue_monotonic_ms() >= t1);
}

int fugue_test_register(void)
{
	CU_pSuite s = CU_add_suite("ratelimit", setup, teardown);

	CU_add_test(s, "classes", test_classes);
	CU_add_test(s, "burst then spacing", test_burst_then_spacing);
	CU_add_test(s, "class defaults", test_class_defaults);
	CU_add_test(s, "run instances separate", test_run_instances_separate);
	CU_add_test(s, "regions independent", test_regions_independent);
	CU_add_test(s, "throttle and recover", test_throttle_and_recover);
	CU_add_test(s, "floors", test_floors);
	CU_add_test(s, "threads", test_threads);
	CU_add_test(s, "acquire sleeps", test_acquire_sleeps);
	return 0;
}
