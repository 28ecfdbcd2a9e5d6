/* imds.c - not written yet. */
