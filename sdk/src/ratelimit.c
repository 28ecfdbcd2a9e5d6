/* ratelimit.c - client-side token buckets per (service, region, class).
 *
 * AWS throttles each account per region and per API class with token
 * buckets of its own; mirroring them here lets a large composition pace
 * itself instead of collecting RequestLimitExceeded answers. Defaults:
 *
 *   service               class                        burst   refill/s
 *   ec2                   ec2/run-instances                5        2
 *   ec2                   ec2/non-mutating (Describe*,   100       20
 *                         Get*, List*, Search*)
 *   ec2                   ec2/mutating                    50        5
 *   elasticloadbalancing  .../create-load-balancer        10        0.2
 *   elasticloadbalancing  .../non-mutating                40       10
 *   elasticloadbalancing  .../mutating                    20        2
 *   lambda                lambda/invoke (data plane)      50       25
 *   lambda                lambda/control-plane            15       15
 *   iam                   iam/all                         20       10
 *   anything else         default                         50       25
 *
 * Adaptive part (additive increase, multiplicative decrease):
 *  - a throttled answer halves the bucket's rate, not below its floor
 *    (10% of the default, at least 0.1/s, never above the default), and
 *    empties the bucket's saved burst; throttles within THROTTLE_DEBOUNCE_MS
 *    of the last halving count once, since requests sent together tend to
 *    be throttled together;
 *  - a success adds RECOVERY_STEP of the default rate back, up to the
 *    default.
 *
 * Each bucket may go below zero tokens: a reservation always takes its
 * token and the caller waits until the bucket has refilled to it, so
 * concurrent callers are spaced 1/rate apart. Everything is computed from
 * the NOW_MS the caller passes, so tests can drive it with a fake clock. */
#include "ratelimit.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fugue/common.h"
#include "fugue/log.h"

#define NSLOTS 64
#define THROTTLE_FACTOR 0.5
#define FLOOR_FRACTION 0.1
#define FLOOR_MIN_RATE 0.1
#define RECOVERY_STEP 0.02
#define THROTTLE_DEBOUNCE_MS 200.0
#define LOG_WAIT_MS 1000L

typedef struct class_limit {
	const char *name;
	double burst;
	double rate; /* tokens per second */
} class_limit;

static const class_limit limits[] = {
	{ "ec2/run-instances", 5, 2 },
	{ "ec2/non-mutating", 100, 20 },
	{ "ec2/mutating", 50, 5 },
	{ "elasticloadbalancing/create-load-balancer", 10, 0.2 },
	{ "elasticloadbalancing/non-mutating", 40, 10 },
	{ "elasticloadbalancing/mutating", 20, 2 },
	{ "lambda/invoke", 50, 25 },
	{ "lambda/control-plane", 15, 15 },
	{ "iam/all", 20, 10 },
	{ "default", 50, 25 },
};

#define DEFAULT_LIMIT (&limits[sizeof(limits) / sizeof(limits[0]) - 1])

typedef struct bucket {
	struct bucket *next;
	char *service;
	char *region;
	const class_limit *limit;
	double rate;
	double floor_rate;
	double tokens;
	double last_ms;          /* when tokens were last refilled */
	double last_throttle_ms;
	int started;             /* last_ms is meaningful */
	int throttled;           /* last_throttle_ms is meaningful */
} bucket;

struct fugue_ratelimit {
	pthread_mutex_t lock;
	bucket *slots[NSLOTS];
};

/* --- classes ----------------------------------------------------------- */

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int is_read_only(const char *action)
{
	return has_prefix(action, "Describe") || has_prefix(action, "Get") ||
	       has_prefix(action, "List") || has_prefix(action, "Search");
}

static const char *ec2_class(const char *action)
{
	if (strcmp(action, "RunInstances") == 0)
		return "ec2/run-instances";
	if (is_read_only(action))
		return "ec2/non-mutating";
	return "ec2/mutating";
}

static const char *elb_class(const char *action)
{
	if (strcmp(action, "CreateLoadBalancer") == 0)
		return "elasticloadbalancing/create-load-balancer";
	if (is_read_only(action))
		return "elasticloadbalancing/non-mutating";
	return "elasticloadbalancing/mutating";
}

static const char *lambda_class(const char *action)
{
	if (has_prefix(action, "Invoke"))
		return "lambda/invoke";
	return "lambda/control-plane";
}

const char *fugue_ratelimit_class(const char *service, const char *action)
{
	if (!service)
		service = "";
	if (!action)
		action = "";
	if (strcmp(service, "ec2") == 0)
		return ec2_class(action);
	if (strcmp(service, "elasticloadbalancing") == 0)
		return elb_class(action);
	if (strcmp(service, "lambda") == 0)
		return lambda_class(action);
	if (strcmp(service, "iam") == 0)
		return "iam/all";
	return "default";
}

static const class_limit *find_limit(const char *cls)
{
	size_t i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strcmp(limits[i].name, cls) == 0)
			return &limits[i];
	}
	return DEFAULT_LIMIT;
}

/* --- the map ----------------------------------------------------------- */

static uint32_t hash_str(uint32_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		h ^= *p++;
		h *= 16777619u;
	}
	h ^= 0xffu; /* separator, so ("ab","c") and ("a","bc") differ */
	h *= 16777619u;
	return h;
}

static size_t slot_of(const char *service, const char *region, const char *cls)
{
	uint32_t h = 2166136261u;

	h = hash_str(h, service);
	h = hash_str(h, region);
	h = hash_str(h, cls);
	return h % NSLOTS;
}

static bucket *lookup(fugue_ratelimit *rl, size_t slot, const char *service, const char *region,
                      const char *cls)
{
	bucket *b;

	for (b = rl->slots[slot]; b; b = b->next) {
		if (strcmp(b->limit->name, cls) == 0 && strcmp(b->service, service) == 0 &&
		    strcmp(b->region, region) == 0)
			return b;
	}
	return NULL;
}

static double floor_for(double default_rate)
{
	double f = default_rate * FLOOR_FRACTION;

	if (f < FLOOR_MIN_RATE)
		f = FLOOR_MIN_RATE;
	if (f > default_rate)
		f = default_rate;
	return f;
}

static bucket *bucket_new(const char *service, const char *region, const class_limit *limit)
{
	bucket *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->service = strdup(service);
	b->region = strdup(region);
	if (!b->service || !b->region) {
		free(b->service);
		free(b->region);
		free(b);
		return NULL;
	}
	b->limit = limit;
	b->rate = limit->rate;
	b->floor_rate = floor_for(limit->rate);
	b->tokens = limit->burst;
	return b;
}

/* The bucket for the call, created on first use; NULL only when out of
 * memory (the caller then does not limit). Called with the lock held. */
static bucket *get_bucket(fugue_ratelimit *rl, const char *service, const char *region,
                          const char *action)
{
	const char *cls;
	size_t slot;
	bucket *b;

	if (!service)
		service = "";
	if (!region)
		region = "";
	cls = fugue_ratelimit_class(service, action);
	slot = slot_of(service, region, cls);
	b = lookup(rl, slot, service, region, cls);
	if (b)
		return b;
	b = bucket_new(service, region, find_limit(cls));
	if (!b)
		return NULL;
	b->next = rl->slots[slot];
	rl->slots[slot] = b;
	return b;
}

/* --- buckets ----------------------------------------------------------- */

static void refill(bucket *b, double now_ms)
{
	if (!b->started) {
		b->started = 1;
		b->last_ms = now_ms;
		return;
	}
	if (now_ms <= b->last_ms)
		return; /* another thread's clock reading was later: nothing to add */
	b->tokens += (now_ms - b->last_ms) * b->rate / 1000.0;
	if (b->tokens > b->limit->burst)
		b->tokens = b->limit->burst;
	b->last_ms = now_ms;
}

static long take_token(bucket *b, double now_ms)
{
	double wait;

	refill(b, now_ms);
	b->tokens -= 1.0;
	if (b->tokens >= 0.0)
		return 0;
	wait = -b->tokens * 1000.0 / b->rate;
	/* The epsilon keeps 200.0000000001 from becoming 201. */
	return (long)ceil(wait - 1e-6);
}

static void slow_down(bucket *b, double now_ms)
{
	refill(b, now_ms);
	if (b->throttled && now_ms - b->last_throttle_ms < THROTTLE_DEBOUNCE_MS)
		return;
	b->throttled = 1;
	b->last_throttle_ms = now_ms;
	b->rate *= THROTTLE_FACTOR;
	if (b->rate < b->floor_rate)
		b->rate = b->floor_rate;
	/* The server's bucket is empty; ours should not let a burst through. */
	if (b->tokens > 0.0)
		b->tokens = 0.0;
}

static void speed_up(bucket *b, double now_ms)
{
	refill(b, now_ms);
	b->rate += b->limit->rate * RECOVERY_STEP;
	if (b->rate > b->limit->rate)
		b->rate = b->limit->rate;
}

/* --- public ------------------------------------------------------------ */

int fugue_ratelimit_new(fugue_ratelimit **out)
{
	fugue_ratelimit *rl = calloc(1, sizeof(*rl));

	*out = NULL;
	if (!rl)
		return FUGUE_ENOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return FUGUE_ENOMEM;
	}
	*out = rl;
	return 0;
}

void fugue_ratelimit_free(fugue_ratelimit *rl)
{
	size_t i;

	if (!rl)
		return;
	for (i = 0; i < NSLOTS; i++) {
		bucket *b = rl->slots[i];

		while (b) {
			bucket *next = b->next;

			free(b->service);
			free(b->region);
			free(b);
			b = next;
		}
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

long fugue_ratelimit_reserve(fugue_ratelimit *rl, const char *service, const char *region,
                             const char *action, double now_ms)
{
	bucket *b;
	long wait = 0;

	assert(rl);
	pthread_mutex_lock(&rl->lock);
	b = get_bucket(rl, service, region, action);
	if (b)
		wait = take_token(b, now_ms);
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

static void sleep_until(double deadline_ms)
{
	struct timespec ts;
	int rc;

	ts.tv_sec = (time_t)(deadline_ms / 1000.0);
	ts.tv_nsec = (long)((deadline_ms - (double)ts.tv_sec * 1000.0) * 1e6);
	if (ts.tv_nsec < 0)
		ts.tv_nsec = 0;
	if (ts.tv_nsec > 999999999L)
		ts.tv_nsec = 999999999L;
	do {
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	} while (rc == EINTR);
}

void fugue_ratelimit_acquire(fugue_ratelimit *rl, const char *service, const char *region,
                             const char *action)
{
	double now = fugue_monotonic_ms();
	long wait = fugue_ratelimit_reserve(rl, service, region, action, now);

	if (wait <= 0)
		return;
	if (wait >= LOG_WAIT_MS)
		fugue_log_debug("rate limit: %s %s in %s waits %ld ms", service ? service : "",
		                action ? action : "", region ? region : "", wait);
	sleep_until(now + (double)wait);
}

void fugue_ratelimit_throttled(fugue_ratelimit *rl, const char *service, const char *region,
                               const char *action, double now_ms)
{
	bucket *b;

	assert(rl);
	pthread_mutex_lock(&rl->lock);
	b = get_bucket(rl, service, region, action);
	if (b)
		slow_down(b, now_ms);
	pthread_mutex_unlock(&rl->lock);
}

void fugue_ratelimit_succeeded(fugue_ratelimit *rl, const char *service, const char *region,
                               const char *action, double now_ms)
{
	bucket *b;

	assert(rl);
	pthread_mutex_lock(&rl->lock);
	b = get_bucket(rl, service, region, action);
	if (b)
		speed_up(b, now_ms);
	pthread_mutex_unlock(&rl->lock);
}

double fugue_ratelimit_rate(fugue_ratelimit *rl, const char *service, const char *region,
                            const char *action)
{
	const char *cls = fugue_ratelimit_class(service, action);
	bucket *b;
	double rate;

	assert(rl);
	if (!service)
		service = "";
	if (!region)
		region = "";
	pthread_mutex_lock(&rl->lock);
	b = lookup(rl, slot_of(service, region, cls), service, region, cls);
	rate = b ? b->rate : find_limit(cls)->rate;
	pthread_mutex_unlock(&rl->lock);
	return rate;
}

double fugue_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}
