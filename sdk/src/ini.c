/* ini.c - not written yet. */
