/* endpoints.c - not written yet. */
