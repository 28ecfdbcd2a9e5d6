/* json_path.c - not written yet. */
