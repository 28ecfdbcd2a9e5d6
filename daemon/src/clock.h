/* clock.h - the kernel's clocks: wall time for what is stored and shown,
 * monotonic time for timeouts and deadlines (immune to clock changes).
 * Condition variables that wait on a fugue_clock_deadline() must be made
 * with pthread_condattr_setclock(CLOCK_MONOTONIC). */
#ifndef FUGUE_CLOCK_H
#define FUGUE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* UTC milliseconds since the Unix epoch. */
int64_t fugue_clock_wall_ms(void);

/* Milliseconds on the monotonic clock (an arbitrary origin). */
int64_t fugue_clock_mono_ms(void);

/* The monotonic time MS milliseconds from now, for pthread_cond_timedwait. */
struct timespec fugue_clock_deadline(long ms);

#endif
