/* systemd.h - conductord's side of the service manager protocol
 * (sd_notify(3)): READY=1, STATUS=, WATCHDOG=1, RELOADING=1, STOPPING=1.
 *
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op, so the daemon
 * never needs to ask where it runs. Messages go out on the calling thread;
 * call these from the main loop only. */
#ifndef FUGUE_DAEMON_SYSTEMD_H
#define FUGUE_DAEMON_SYSTEMD_H

/* Startup is complete: READY=1 with STATUS (may be NULL) and MAINPID. */
void fugue_sd_ready(const char *status);

/* STATUS=STATUS (one line; newlines are replaced). */
void fugue_sd_status(const char *status);

/* RELOADING=1 with MONOTONIC_USEC (as Type=notify-reload wants); follow it
 * with fugue_sd_ready() when the reload is done. */
void fugue_sd_reloading(void);

/* STOPPING=1 with STATUS (may be NULL). */
void fugue_sd_stopping(const char *status);

/* WATCHDOG=1. */
void fugue_sd_watchdog(void);

/* How often to send WATCHDOG=1: half of the interval systemd asked for
 * (WATCHDOG_USEC, for this pid), in milliseconds, at least 1; 0 when no
 * watchdog is wanted. */
long fugue_sd_watchdog_period_ms(void);

#endif
