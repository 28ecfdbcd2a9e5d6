/* ratelimit.c - not written yet. */
