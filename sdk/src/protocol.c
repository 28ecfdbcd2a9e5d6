/* protocol.c - not written yet. */
