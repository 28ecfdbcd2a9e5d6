# shellcheck shell=sh
# fugue-conductor %post: the fugue user and group, the state and runtime
# directories, systemd's view of the unit. Not enabled or started: it needs
# AWS credentials first (docs/install.md). On an upgrade ($1 = 2) a running
# service is restarted.
systemd-sysusers fugue-conductor.conf || :
systemd-tmpfiles --create fugue-conductor.conf || :
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
	if [ "$1" -ge 2 ]; then
		systemctl try-restart fugue-conductor.service >/dev/null 2>&1 || :
	fi
fi
