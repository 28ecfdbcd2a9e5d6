/* compiler.c - not written yet. */
