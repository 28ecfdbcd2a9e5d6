/* client.c - not written yet. */
