/* query.c - not written yet. */
