#!/bin/sh
# conductord --list-planners end to end: a planners directory holding the
# fake planner and a broken one lists the fake with its types (exit 0, the
# refusal on stderr); an unreadable directory exits 1; a bad option exits 2.
# Usage: test_conductord_list.sh CONDUCTORD FAKE_SO BROKEN_SO
# Honours FUGUE_TEST_WRAPPER (valgrind).
set -u
conductord=$1
fake_so=$2
broken_so=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fugue-list-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=0

fail() {
	echo "FAIL: $*" >&2
	failed=1
}

# run EXPECTED_STATUS ARGS...: runs conductord, output in $tmp/out and $tmp/err
run() {
	expected=$1
	shift
	# shellcheck disable=SC2086
	${FUGUE_TEST_WRAPPER:-} "$conductord" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ "$status" -ne "$expected" ]; then
		fail "conductord $* exited $status, expected $expected"
		cat "$tmp/out" "$tmp/err" >&2
	fi
}

expect_in() {
	if ! grep -q -e "$2" "$1"; then
		fail "'$2' not in $(basename "$1"):"
		cat "$1" >&2
	fi
}

mkdir "$tmp/planners"
ln -s "$fake_so" "$tmp/planners/fugue_fake.so"
ln -s "$broken_so" "$tmp/planners/zz_broken.so"

run 0 --planners-dir "$tmp/planners" --list-planners
expect_in "$tmp/out" '^PLANNER  *VERSION  *PATH$'
expect_in "$tmp/out" "^fake  *1\.0\.0  *$tmp/planners/fugue_fake\.so\$"
expect_in "$tmp/out" '^  Fake\.Net\.Network$'
expect_in "$tmp/out" '^  Fake\.Net\.Subnet$'
expect_in "$tmp/out" '^  Fake\.Compute\.Server$'
expect_in "$tmp/err" "planner $tmp/planners/zz_broken.so refused: signature"
if grep -q zz_broken "$tmp/out"; then
	fail "a refused planner is listed"
fi

# the directory from the environment
FUGUE_PLANNERS_DIR="$tmp/planners" run 0 --list-planners
expect_in "$tmp/out" '^  Fake\.Compute\.Server$'

run 1 --planners-dir "$tmp/missing" --list-planners
expect_in "$tmp/err" "cannot load planners from $tmp/missing"

run 2 --bogus
expect_in "$tmp/err" '^usage: conductord'
run 2 --list-planners extra

run 0 --version
expect_in "$tmp/out" '^conductord [0-9]'
run 0 --help
expect_in "$tmp/out" '--list-planners'

exit $failed
