/* paginate.c - not written yet. */
