/* ratelimit.h - client-side token buckets per service, region and action
 * class. Internal.
 *
 * Defaults come from AWS's published limits: EC2 mutating actions 50 burst,
 * 5/s; non-mutating (Describe*, Get*, List*) 100, 20/s; RunInstances 5, 2/s;
 * ELB CreateLoadBalancer 10, 0.2/s; Lambda control plane 15/s; other services
 * and classes a documented default. A throttled answer lowers the bucket's
 * rate multiplicatively (not below a floor); successes raise it back towards
 * the default, so a large composition settles below the limit instead of
 * hammering it. Thread-safe. */
#ifndef FUGUE_RATELIMIT_H
#define FUGUE_RATELIMIT_H

typedef struct fugue_ratelimit fugue_ratelimit;

int fugue_ratelimit_new(fugue_ratelimit **out);
void fugue_ratelimit_free(fugue_ratelimit *rl);

/* The class ACTION of SERVICE falls in: "ec2/run-instances", "ec2/mutating",
 * "ec2/non-mutating", "elasticloadbalancing/create-load-balancer", ...
 * A static string. */
const char *fugue_ratelimit_class(const char *service, const char *action);

/* Takes one token from the bucket of (SERVICE, REGION, class of ACTION),
 * returning how many milliseconds the caller must wait before sending
 * (0: send now). The token is reserved either way, so concurrent callers
 * are spaced out. NOW_MS is a monotonic clock in milliseconds. */
long fugue_ratelimit_reserve(fugue_ratelimit *rl, const char *service, const char *region,
                             const char *action, double now_ms);

/* As reserve, then sleeps the wait on the monotonic clock. */
void fugue_ratelimit_acquire(fugue_ratelimit *rl, const char *service, const char *region,
                             const char *action);

/* Feedback from the answer: a throttling error lowers the bucket's rate,
 * a success lets it recover. */
void fugue_ratelimit_throttled(fugue_ratelimit *rl, const char *service, const char *region,
                               const char *action, double now_ms);
void fugue_ratelimit_succeeded(fugue_ratelimit *rl, const char *service, const char *region,
                               const char *action, double now_ms);

/* The bucket's current refill rate in tokens per second (for tests and logs). */
double fugue_ratelimit_rate(fugue_ratelimit *rl, const char *service, const char *region,
                            const char *action);

/* A monotonic clock in milliseconds. */
double fugue_monotonic_ms(void);

#endif
