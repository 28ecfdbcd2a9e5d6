#!/bin/sh
# Runs a test executable under $FUGUE_TEST_WRAPPER (e.g. valgrind) when set.
# shellcheck disable=SC2086
exec ${FUGUE_TEST_WRAPPER:-} "$@"
