# shellcheck shell=sh
# fugue-conductor %postun. The state in /var/lib/fugue and the fugue user
# stay (RPM has no purge); remove them by hand when wanted.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || :
fi
