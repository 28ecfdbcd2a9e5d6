#!/usr/bin/env bash
# The packages as an operator and a planner author meet them:
#
#   test_packages.sh PACKAGES_DIR        (`make package-check` builds them first)
#
#  1. lintian on every .deb: no error and no warning that is not overridden
#     (each override is explained in packaging/lintian/ and docs/install.md);
#  2. every .deb and .rpm holds the expected files (dpkg-deb -c, rpm -qlp),
#     the config file is a conffile / %config(noreplace), the RPM's paths are
#     its own (lib64, /usr/lib/systemd) down to the compiled-in planners dir;
#  3. the .debs installed on THIS machine (dpkg -i): the fugue user, group and
#     directories, the unit (systemd-analyze verify, security score), the SDK
#     (pkg-config, CMake);
#  4. the out-of-tree planner (tests/out-of-tree-planner) built from a copy
#     outside the tree with only the installed SDK, by pkg-config and by
#     find_package(Fugue), dropped into the installed planners directory;
#  5. run_installed.py: the installed conductord, as the fugue user, with the
#     installed planners and the out-of-tree one, against a private moto, driven
#     by the installed fugue CLI;
#  6. run_under_systemd.sh: the installed unit, with all its hardening, under
#     a real systemd booted in its own PID and mount namespaces: notify,
#     watchdog, reload, a composition with the out-of-tree planner, stop;
#  7. purge: nothing of the packages is left (checked), and a fugue user this
#     test created is deleted; also on any failure or interruption (trap).
#
# Needs root (dpkg -i) and fails, never skips, without it. Refuses to run when
# fugue packages are already installed: it would replace and then purge them.
# Ends with "N passed, N failed"; exit 0 only when nothing failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
pkgdir=${1:-}
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
die() {
	echo "test_packages: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

if [ -z "$pkgdir" ] || [ ! -d "$pkgdir" ]; then
	die "usage: test_packages.sh PACKAGES_DIR (run 'make package-check')"
fi
pkgdir=$(cd "$pkgdir" && pwd)
[ "$(id -u)" = 0 ] || die "must run as root: it installs the .deb packages with dpkg -i and purges them (CI runs as root; locally: sudo make package-check)"
for tool in lintian rpm rpm2archive dpkg dpkg-deb dpkg-architecture systemd-analyze systemd-sysusers \
	pkg-config cc make cmake nm readelf python3 setpriv man unshare nsenter pgrep; do
	command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs what the packaging test needs)"
done
python3 -c 'import moto.server, boto3' 2>/dev/null || die "python3 cannot import moto and boto3 (pip install 'moto[server]' boto3)"

debs=(libfugue0 libfugue-dev fugue-conductor fugue-cli)
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${debs[@]}" 2>/dev/null | grep -c "install ok installed")
[ "$installed" = 0 ] || die "fugue packages are already installed on this machine; remove them first (dpkg --purge ${debs[*]})"

version=$(sed -n 's/^project(fugue VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
soversion=$(sed -n 's/^set(FUGUE_ABI_SOVERSION \([0-9]*\))/\1/p' "$src/CMakeLists.txt")
release=1
full="$version-$release"
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debarch=$(dpkg-architecture -qDEB_HOST_ARCH)
libdir=/usr/lib/$multiarch
plannersdir=$libdir/fugue/planners
# The planners in the tree (the five services, as their sources appear).
planners=()
for s in vpc ec2 iam elb lambda; do
	[ -f "$src/plugins/$s/CMakeLists.txt" ] && planners+=("$s")
done
echo "fugue $full, soversion $soversion, $multiarch, planners: ${planners[*]}"

deb_file() { echo "$pkgdir/${1}_${full}_${debarch}.deb"; }
tmp=$(mktemp -d /tmp/fugue-pkgtest-XXXXXX)
chmod 755 "$tmp"
user_existed=0
getent passwd fugue >/dev/null && user_existed=1
group_existed=0
getent group fugue >/dev/null && group_existed=1

# Whatever happens: the out-of-tree planner out of the packages' directory,
# the packages purged, a fugue user and group this test made deleted.
cleanup() {
	rm -f "$plannersdir/example-sqs.so"
	dpkg --purge fugue-cli fugue-conductor libfugue-dev "libfugue$soversion" >"$tmp/purge.log" 2>&1
	if [ "$user_existed" = 0 ] && getent passwd fugue >/dev/null; then
		userdel fugue
	fi
	if [ "$group_existed" = 0 ] && getent group fugue >/dev/null; then
		groupdel fugue
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. lintian -------------------------------------------------------------------

echo "== lintian"
deb_files=()
for p in "libfugue$soversion" libfugue-dev fugue-conductor fugue-cli; do
	f=$(deb_file "$p")
	check "$(basename "$f") exists" test -f "$f"
	deb_files+=("$f")
done
# --fail-on warning: a new warning fails until it is fixed or overridden
# with its reason (packaging/lintian/). (With --show-overrides lintian
# would count the overridden ones too: shown in a second run.)
if lintian --fail-on error,warning --info "${deb_files[@]}" >"$tmp/lintian.txt" 2>&1; then
	pass "lintian: no errors, no warnings that are not overridden"
else
	fail "lintian found errors or warnings:"
	cat "$tmp/lintian.txt" >&2
fi
lintian --fail-on none --show-overrides "${deb_files[@]}" 2>/dev/null | grep -E '^[EWIO]:' | sed 's/^/  lintian /'

# --- 2. contents ----------------------------------------------------------------------

# has_files LISTING PATH...: every PATH is a line of the file LISTING.
has_files() {
	local listing=$1 missing=0 f
	shift
	for f in "$@"; do
		if ! grep -qxF "$f" "$listing"; then
			echo "  missing: $f" >&2
			missing=1
		fi
	done
	return $missing
}

echo "== .deb contents"
deb_list() { dpkg-deb -c "$(deb_file "$1")" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' >"$tmp/$1.files"; }
for p in "libfugue$soversion" libfugue-dev fugue-conductor fugue-cli; do deb_list "$p"; done
check "libfugue$soversion: the library with its soname" has_files "$tmp/libfugue$soversion.files" \
	"$libdir/libfugue.so.$soversion" "$libdir/libfugue.so.$version" \
	"/usr/share/doc/libfugue$soversion/copyright" "/usr/share/doc/libfugue$soversion/changelog.Debian.gz"
check "libfugue-dev: headers, link name, fugue.pc, CMake package" has_files "$tmp/libfugue-dev.files" \
	/usr/include/fugue/planner.h /usr/include/fugue/aws.h /usr/include/fugue/common.h /usr/include/fugue/log.h \
	"$libdir/libfugue.so" "$libdir/pkgconfig/fugue.pc" "$libdir/cmake/Fugue/FugueConfig.cmake" \
	"$libdir/cmake/Fugue/FugueConfigVersion.cmake" "$libdir/cmake/Fugue/FugueTargets.cmake"
conductor_files=(/usr/sbin/conductord /usr/share/man/man8/conductord.8.gz /etc/fugue/conductor.yaml
	/lib/systemd/system/fugue-conductor.service /usr/lib/sysusers.d/fugue-conductor.conf
	/usr/lib/tmpfiles.d/fugue-conductor.conf /usr/share/doc/fugue-conductor/changelog.Debian.gz)
for s in "${planners[@]}"; do conductor_files+=("$plannersdir/$s.so"); done
check "fugue-conductor: daemon, planners (${planners[*]}), unit, sysusers, tmpfiles, config" \
	has_files "$tmp/fugue-conductor.files" "${conductor_files[@]}"
check "fugue-cli: fugue, its man page, bash completion" has_files "$tmp/fugue-cli.files" \
	/usr/bin/fugue /usr/share/man/man1/fugue.1.gz /usr/share/bash-completion/completions/fugue
check "fugue-conductor: /etc/fugue/conductor.yaml is a conffile" \
	sh -c "dpkg-deb -I '$(deb_file fugue-conductor)' conffiles | grep -qx /etc/fugue/conductor.yaml"
check "libfugue$soversion: shlibs for packages built against it" \
	sh -c "dpkg-deb -I '$(deb_file "libfugue$soversion")' shlibs | grep -qx 'libfugue $soversion libfugue$soversion (>= $full)'"
check "fugue-conductor depends on libfugue$soversion (= $full) and computed library dependencies" \
	sh -c "dpkg-deb -f '$(deb_file fugue-conductor)' Depends | grep -q 'libfugue$soversion (= $full).*libjson-c5'"

echo "== .rpm contents (rpm -qlp)"
rpm_file() { echo "$pkgdir/$1-$full.$(uname -m).rpm"; }
for p in libfugue libfugue-devel fugue-conductor fugue-cli; do
	f=$(rpm_file "$p")
	if rpm -qlp "$f" >"$tmp/$p.rpmfiles" 2>"$tmp/rpm.err"; then
		pass "rpm -qlp $(basename "$f")"
		sed 's/^/  /' "$tmp/$p.rpmfiles"
	else
		fail "rpm -qlp $f: $(cat "$tmp/rpm.err")"
	fi
done
check "libfugue.rpm: the library in lib64" has_files "$tmp/libfugue.rpmfiles" \
	"/usr/lib64/libfugue.so.$soversion" "/usr/lib64/libfugue.so.$version"
check "libfugue-devel.rpm: headers, link name, fugue.pc, CMake package" has_files "$tmp/libfugue-devel.rpmfiles" \
	/usr/include/fugue/planner.h /usr/include/fugue/aws.h /usr/lib64/libfugue.so /usr/lib64/pkgconfig/fugue.pc \
	/usr/lib64/cmake/Fugue/FugueConfig.cmake /usr/lib64/cmake/Fugue/FugueTargets.cmake
rpm_conductor=(/usr/sbin/conductord /usr/share/man/man8/conductord.8.gz /etc/fugue/conductor.yaml
	/usr/lib/systemd/system/fugue-conductor.service /usr/lib/sysusers.d/fugue-conductor.conf
	/usr/lib/tmpfiles.d/fugue-conductor.conf)
for s in "${planners[@]}"; do rpm_conductor+=("/usr/lib64/fugue/planners/$s.so"); done
check "fugue-conductor.rpm: daemon, planners, unit, sysusers, tmpfiles, config" \
	has_files "$tmp/fugue-conductor.rpmfiles" "${rpm_conductor[@]}"
check "fugue-cli.rpm: fugue, man page, completion" has_files "$tmp/fugue-cli.rpmfiles" \
	/usr/bin/fugue /usr/share/man/man1/fugue.1.gz /usr/share/bash-completion/completions/fugue
check "fugue-conductor.rpm: conductor.yaml is %config(noreplace)" \
	sh -c "rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' '$(rpm_file fugue-conductor)' | grep -qx 'cn /etc/fugue/conductor.yaml'"
check "fugue-conductor.rpm: %changelog has $full" \
	sh -c "rpm -qp --changelog '$(rpm_file fugue-conductor)' | head -1 | grep -q ' - $full\$'"
check "fugue-conductor.rpm: requires libfugue = $full and libjson-c.so.5 (autoreq)" \
	sh -c "rpm -qp --requires '$(rpm_file fugue-conductor)' | grep -qx 'libfugue = $full' &&
	       rpm -qp --requires '$(rpm_file fugue-conductor)' | grep -q '^libjson-c.so.5()'"
mkdir "$tmp/rpmroot"
(cd "$tmp/rpmroot" && rpm2archive - <"$(rpm_file fugue-conductor)" | tar xzf -)
check "fugue-conductor.rpm: its conductord looks for planners in /usr/lib64/fugue/planners" \
	sh -c "grep -qa /usr/lib64/fugue/planners '$tmp/rpmroot/usr/sbin/conductord' &&
	       ! grep -qa '$multiarch/fugue' '$tmp/rpmroot/usr/sbin/conductord'"
check "fugue-conductor.rpm: its unit starts /usr/sbin/conductord" \
	grep -qx 'ExecStart=/usr/sbin/conductord' "$tmp/rpmroot/usr/lib/systemd/system/fugue-conductor.service"

# --- 3. installed ---------------------------------------------------------------------

echo "== dpkg -i"
if dpkg -i "${deb_files[@]}" >"$tmp/dpkg.log" 2>&1; then
	pass "dpkg -i ${debs[*]}"
else
	fail "dpkg -i failed:"
	cat "$tmp/dpkg.log" >&2
	echo "$passed passed, $failed failed"
	exit 1
fi

check "the fugue user (system, home /var/lib/fugue, no login shell)" \
	sh -c 'getent passwd fugue | grep -Eq "^fugue:x:[0-9]+:[0-9]+:[^:]*:/var/lib/fugue:/(usr/)?sbin/nologin$"'
check "the fugue group" sh -c 'getent group fugue >/dev/null'
check "/var/lib/fugue: fugue:fugue 750" sh -c '[ "$(stat -c "%U:%G %a" /var/lib/fugue)" = "fugue:fugue 750" ]'
check "/run/fugue: fugue:fugue 750" sh -c '[ "$(stat -c "%U:%G %a" /run/fugue)" = "fugue:fugue 750" ]'
check "conductord --version is $version" sh -c "/usr/sbin/conductord --version | grep -q '^conductord $version '"
check "fugue --version is $version" sh -c "/usr/bin/fugue --version | grep -q '^fugue $version '"
check "the installed programs use the installed libfugue, no build tree" \
	sh -c "ldd /usr/sbin/conductord | grep -Eq '=> (/usr)?/lib/$multiarch/libfugue.so.$soversion ' &&
	       ! readelf -d /usr/sbin/conductord /usr/bin/fugue $plannersdir/*.so | grep -Eq 'RPATH|RUNPATH'"
check "man conductord and man fugue" sh -c 'man -w conductord >/dev/null && man -w fugue >/dev/null'

unit=/lib/systemd/system/fugue-conductor.service
if systemd-analyze verify "$unit" >"$tmp/verify.txt" 2>&1 && [ ! -s "$tmp/verify.txt" ]; then
	pass "systemd-analyze verify $unit: clean"
else
	fail "systemd-analyze verify $unit:"
	cat "$tmp/verify.txt" >&2
fi
# The exposure score (0 = locked down, 10 = exposed); docs/install.md has it.
# A limit, so that dropping a hardening setting fails here.
score=$(systemd-analyze security --offline=true "$unit" 2>/dev/null |
	sed -n 's/.*Overall exposure level for fugue-conductor.service: \([0-9.]*\).*/\1/p')
echo "  systemd-analyze security: exposure $score"
check "systemd-analyze security: exposure $score <= 1.5" \
	python3 -c "import sys; sys.exit(0 if '$score' and float('$score') <= 1.5 else 1)"
# Two malloc arenas keep the daemon's memory flat (docs/performance.md).
check "the unit sets MALLOC_ARENA_MAX=2" grep -qx 'Environment=MALLOC_ARENA_MAX=2' "$unit"

check "pkg-config --modversion fugue is $version" sh -c "[ \"\$(pkg-config --modversion fugue)\" = '$version' ]"
check "pkg-config plannersdir is $plannersdir" \
	sh -c "[ \"\$(pkg-config --variable=plannersdir fugue)\" = '$plannersdir' ]"

# --- 4. the out-of-tree planner --------------------------------------------------------

echo "== out-of-tree planner"
# A copy outside the tree: nothing but the installed SDK can be found from it.
cp -r "$src/tests/out-of-tree-planner" "$tmp/planner"
rm -rf "$tmp/planner/build"
if make -C "$tmp/planner" >"$tmp/make.log" 2>&1; then
	pass "built with pkg-config --cflags --libs fugue"
else
	fail "make (pkg-config) failed:"
	cat "$tmp/make.log" >&2
fi
check "it exports only fugue_planner_entry_v1" \
	sh -c "[ \"\$(nm -D --defined-only '$tmp/planner/example-sqs.so' | awk '{print \$3}')\" = fugue_planner_entry_v1 ]"
if cmake -S "$tmp/planner" -B "$tmp/planner/build" >"$tmp/cmake.log" 2>&1 &&
	cmake --build "$tmp/planner/build" >>"$tmp/cmake.log" 2>&1 &&
	[ -f "$tmp/planner/build/example-sqs.so" ]; then
	pass "built with find_package(Fugue)"
else
	fail "cmake with find_package(Fugue) failed:"
	cat "$tmp/cmake.log" >&2
fi
check "make install puts it in the planners directory" make -C "$tmp/planner" install
check "the installed conductord loads it with the installed planners" \
	sh -c "/usr/sbin/conductord --list-planners >'$tmp/list.txt' 2>&1 &&
	       grep -q '^example-sqs .*$plannersdir/example-sqs.so' '$tmp/list.txt' &&
	       grep -q '^  Example.SQS.Queue\$' '$tmp/list.txt'"
for s in "${planners[@]}"; do
	check "  ... and $s" grep -q "^$s .*$plannersdir/$s.so" "$tmp/list.txt"
done

# --- 5. the installed Conductor against moto ----------------------------------------

echo "== installed conductord + fugue against moto"
python3 "$here/run_installed.py" --composition "$src/tests/out-of-tree-planner/queue.yaml" \
	--work "$tmp" 2>&1 | tee "$tmp/run.txt"
passed=$((passed + $(grep -c '^ok: ' "$tmp/run.txt")))
failed=$((failed + $(grep -c '^FAIL: ' "$tmp/run.txt")))
grep -q '^run_installed: done$' "$tmp/run.txt" || fail "run_installed.py did not finish"

# --- 6. the unit under a real systemd ----------------------------------------------

echo "== fugue-conductor.service under systemd"
python3 "$src/tests/tools/with_moto.py" -- "$here/run_under_systemd.sh" \
	"$src/tests/out-of-tree-planner/queue.yaml" 2>&1 | tee "$tmp/systemd.txt"
passed=$((passed + $(grep -c '^ok: ' "$tmp/systemd.txt")))
failed=$((failed + $(grep -c '^FAIL: ' "$tmp/systemd.txt")))
grep -q '^run_under_systemd: done$' "$tmp/systemd.txt" || fail "run_under_systemd.sh did not finish"

# --- 7. purge ----------------------------------------------------------------------------

echo "== dpkg --purge"
rm -f "$plannersdir/example-sqs.so"
check "dpkg --purge ${debs[*]}" dpkg --purge fugue-cli fugue-conductor libfugue-dev "libfugue$soversion"
leftovers=()
for f in /usr/sbin/conductord /usr/bin/fugue "$libdir/libfugue.so.$soversion" "$libdir/fugue" \
	/usr/include/fugue /etc/fugue /var/lib/fugue /run/fugue "$unit"; do
	[ -e "$f" ] && leftovers+=("$f")
done
check "nothing left after the purge${leftovers:+ (left: ${leftovers[*]})}" test ${#leftovers[@]} -eq 0

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
