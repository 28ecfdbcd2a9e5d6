/* clock.c - see clock.h. */
#include "clock.h"

static int64_t ms_of(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t fugue_clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

int64_t fugue_clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

struct timespec fugue_clock_deadline(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}
