/* systemd.c - see systemd.h. */
#include "systemd.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "fugue/log.h"

#define STATUS_MAX 512

/* STATUS= is a line of the notification; a newline in it would start
 * another assignment. */
static void one_line(char *dst, size_t size, const char *src)
{
	size_t i;

	snprintf(dst, size, "%s", src ? src : "");
	for (i = 0; dst[i]; i++) {
		if (dst[i] == '\n' || dst[i] == '\r')
			dst[i] = ' ';
	}
}

/* sd_notify's answer is only interesting when it failed: the daemon runs
 * on regardless, but an operator wondering why systemd timed out wants to
 * know. */
static void notify(const char *message)
{
	int rc = sd_notify(0, message);

	if (rc < 0)
		fugue_log_warn("sd_notify failed: %s", strerror(-rc));
}

void fugue_sd_ready(const char *status)
{
	char line[STATUS_MAX];
	char message[STATUS_MAX + 64];

	one_line(line, sizeof(line), status);
	snprintf(message, sizeof(message), "READY=1\nMAINPID=%ld%s%s", (long)getpid(),
	         status ? "\nSTATUS=" : "", status ? line : "");
	notify(message);
}

void fugue_sd_status(const char *status)
{
	char line[STATUS_MAX];
	char message[STATUS_MAX + 16];

	one_line(line, sizeof(line), status);
	snprintf(message, sizeof(message), "STATUS=%s", line);
	notify(message);
}

void fugue_sd_reloading(void)
{
	struct timespec ts;
	unsigned long long usec;
	char message[96];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	usec = (unsigned long long)ts.tv_sec * 1000000ULL;
	usec += (unsigned long long)ts.tv_nsec / 1000ULL;
	snprintf(message, sizeof(message), "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
	notify(message);
}

void fugue_sd_stopping(const char *status)
{
	char line[STATUS_MAX];
	char message[STATUS_MAX + 32];

	one_line(line, sizeof(line), status);
	snprintf(message, sizeof(message), "STOPPING=1%s%s", status ? "\nSTATUS=" : "",
	         status ? line : "");
	notify(message);
}

void fugue_sd_watchdog(void)
{
	notify("WATCHDOG=1");
}

long fugue_sd_watchdog_period_ms(void)
{
	uint64_t usec = 0;
	long ms;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return 0;
	ms = (long)(usec / 2000);
	return ms > 0 ? ms : 1;
}
