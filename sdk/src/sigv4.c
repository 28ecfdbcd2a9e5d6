/* sigv4.c - not written yet. */
