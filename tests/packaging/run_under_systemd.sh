#!/usr/bin/env bash
# The packaged unit under a real systemd, with all its hardening:
#
#   with_moto.py -- run_under_systemd.sh COMPOSITION
#
# Build and CI machines run no systemd as PID 1, so this boots one (the
# installed systemd 252) as PID 1 of new PID and mount namespaces, with a
# private /run. It starts only fugue-conductor.service (a test target that
# wants it; a drop-in adds the moto endpoint and dummy keys from with_moto.py,
# as an operator's /etc/fugue/conductor.env would, and leaves out the default
# dependencies, which would boot a whole system). Then, through systemctl and
# the installed fugue inside the namespaces:
#
#   the unit becomes active (Type=notify: READY=1) and runs as fugue, with
#   its STATUS= line and a watchdog; a composition (COMPOSITION: the
#   out-of-tree planner's queues and a VPC) converges under the sandbox
#   (ProtectSystem=strict, SystemCallFilter, MemoryDenyWriteExecute, ...);
#   the watchdog is fed; reload (SIGHUP) keeps the same process; kill;
#   stop ends with exit status 0 and the runtime directory removed.
#
# Needs root and the .debs installed (test_packages.sh runs it). Prints
# "ok: ..." / "FAIL: ..." lines and "run_under_systemd: done"; the namespace
# is killed and the cgroups systemd made are removed whatever happens.
set -u
comp=${1:?usage: run_under_systemd.sh COMPOSITION}
: "${AWS_ENDPOINT_URL:?run it under tests/tools/with_moto.py}"

ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; }
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

work=$(mktemp -d /tmp/fugue-systemd-XXXXXX)
chmod 755 "$work"
cp "$comp" "$work/composition.yaml"
cgroups_before=$(ls -d /sys/fs/cgroup/*/system.slice /sys/fs/cgroup/*/init.scope 2>/dev/null)

cat >"$work/boot.sh" <<EOF
set -e
mount --make-rprivate /
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/systemd/system/fugue-conductor.service.d
cat >/run/systemd/system/fugue-test.target <<T
[Unit]
Description=fugue-conductor alone
DefaultDependencies=no
Wants=fugue-conductor.service
T
cat >/run/systemd/system/fugue-conductor.service.d/test.conf <<T
[Unit]
DefaultDependencies=no
[Service]
Environment=AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing
Environment=AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
T
export container=fugue-test
exec /lib/systemd/systemd --system --unit=fugue-test.target --log-target=console
EOF

unshare --pid --fork --mount --mount-proc bash "$work/boot.sh" >"$work/console.log" 2>&1 &
unshare_pid=$!
pid1=

cleanup() {
	if [ -n "$pid1" ]; then
		kill -9 "$pid1" 2>/dev/null # PID 1 of the namespace: everything in it dies
	fi
	kill -9 "$unshare_pid" 2>/dev/null
	wait "$unshare_pid" 2>/dev/null
	# The (empty) cgroups that systemd made on this machine.
	for d in /sys/fs/cgroup/*/system.slice /sys/fs/cgroup/*/init.scope; do
		[ -d "$d" ] || continue
		printf '%s\n' "$cgroups_before" | grep -qxF "$d" && continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT

in_ns() { nsenter -t "$pid1" -m -p "$@"; }
prop() { in_ns systemctl show fugue-conductor -p "$1" --value; }

for _ in $(seq 100); do
	pid1=$(pgrep -P "$unshare_pid" 2>/dev/null | head -1)
	[ -n "$pid1" ] && [ "$(cat /proc/"$pid1"/comm 2>/dev/null)" = systemd ] && break
	pid1=
	sleep 0.1
done
if [ -z "$pid1" ]; then
	fail "systemd did not start as PID 1 of a new namespace:"
	cat "$work/console.log"
	echo "run_under_systemd: done"
	exit 1
fi

state=
for _ in $(seq 120); do
	state=$(prop ActiveState 2>/dev/null)
	[ "$state" = active ] || [ "$state" = failed ] && break
	sleep 0.5
done
if ! check "fugue-conductor.service is active under systemd (READY=1)" [ "$state" = active ]; then
	in_ns systemctl status fugue-conductor --no-pager -l
	cat "$work/console.log"
	echo "run_under_systemd: done"
	exit 1
fi
main=$(prop MainPID)
check "it runs as fugue" [ "$(in_ns ps -o user= -p "$main" | tr -d ' ')" = fugue ]
check "systemctl status shows its STATUS= line" \
	sh -c "echo '$(prop StatusText)' | grep -Eq '^[0-9]+ process(es)? \([0-9]+ running'"
check "WatchdogSec=60 is in force" [ "$(prop WatchdogUSec)" = 1min ]
first_pet=$(prop WatchdogTimestampMonotonic)

if in_ns /usr/bin/fugue run "$work/composition.yaml" >"$work/run.txt" 2>&1 &&
	grep -q converged "$work/run.txt"; then
	ok "fugue run under the hardened unit: converged"
else
	fail "fugue run under the hardened unit:"
	cat "$work/run.txt"
fi

check "systemctl reload: active, same process" \
	sh -c "nsenter -t $pid1 -m -p systemctl reload fugue-conductor &&
	       [ \"\$(nsenter -t $pid1 -m -p systemctl show fugue-conductor -p MainPID --value)\" = $main ]"
# WATCHDOG=1 comes every 30 s (half of WatchdogSec); wait for the next one.
for _ in $(seq 80); do
	[ "$(prop WatchdogTimestampMonotonic)" != "$first_pet" ] && break
	sleep 0.5
done
check "the watchdog is fed" [ "$(prop WatchdogTimestampMonotonic)" != "$first_pet" ]

alias=$(sed -n 's/^composition: *//p' "$work/composition.yaml")
check "fugue kill $alias" sh -c "nsenter -t $pid1 -m -p /usr/bin/fugue kill '$alias' -y >/dev/null"

in_ns systemctl stop fugue-conductor
check "systemctl stop: clean exit (status 0, result success)" \
	[ "$(prop ExecMainStatus)/$(prop Result)/$(prop NRestarts)" = "0/success/0" ]
check "the runtime directory is gone after the stop" sh -c "! nsenter -t $pid1 -m -p test -e /run/fugue"

echo "run_under_systemd: done"
