#!/bin/sh
# Installs the canhgac agent on many Linux hosts over ssh.
#
#   install-many.sh [--dry-run] HOSTS_FILE CANHGAC_BINARY SERVER_URL TOKEN FINGERPRINT
#
# HOSTS_FILE lists one ssh destination per line (host, user@host or an
# alias from ~/.ssh/config); blank lines and lines starting with # are
# skipped. On each host the binary is copied to /usr/local/bin/canhgac,
# then `canhgac agent enroll` and `canhgac agent install` run with sudo
# (the ssh user needs sudo without a password prompt, or a terminal: set
# SSH_OPTS="-t"). The enrollment token must allow as many uses as there are
# hosts. --dry-run prints the commands instead of running them.
# Environment: SSH_OPTS (extra ssh/scp options, e.g. "-i key -p 2222"),
# REMOTE_BIN (default /usr/local/bin/canhgac).
set -eu

usage() {
	echo "usage: $0 [--dry-run] HOSTS_FILE CANHGAC_BINARY SERVER_URL TOKEN FINGERPRINT" >&2
	exit 2
}

dry_run=false
if [ "${1:-}" = "--dry-run" ]; then
	dry_run=true
	shift
fi
[ "$#" -eq 5 ] || usage
hosts_file=$1
binary=$2
server=$3
token=$4
fingerprint=$5
ssh_opts=${SSH_OPTS:-}
remote_bin=${REMOTE_BIN:-/usr/local/bin/canhgac}

[ -r "$hosts_file" ] || { echo "$0: cannot read hosts file $hosts_file" >&2; exit 2; }
[ -f "$binary" ] || { echo "$0: no canhgac binary at $binary" >&2; exit 2; }

# quote prints its argument as one single-quoted shell word, for the
# command line the remote shell parses.
quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# run runs its arguments, or prints them under --dry-run.
run() {
	if $dry_run; then
		printf '+'
		for arg in "$@"; do
			printf ' %s' "$(quote "$arg")"
		done
		printf '\n'
		return 0
	fi
	"$@"
}

# remote_script prints what runs on each host, with $1 as the token.
tmp_remote="/tmp/canhgac.$$"
remote_script() {
	printf '%s\n' "set -e" \
		"sudo install -m 0755 $(quote "$tmp_remote") $(quote "$remote_bin")" \
		"rm -f $(quote "$tmp_remote")" \
		"sudo $(quote "$remote_bin") agent enroll --server $(quote "$server") --token $(quote "$1") --server-fingerprint $(quote "$fingerprint")" \
		"sudo $(quote "$remote_bin") agent install" \
		"sudo systemctl restart canhgac-agent"
}
if $dry_run; then
	remote_cmd=$(remote_script '<token>') # the secret is not printed
else
	remote_cmd=$(remote_script "$token")
fi

ok=0
failed=0
summary=""
# Read from fd 3 so that ssh cannot swallow the rest of the hosts file.
while IFS= read -r line <&3 || [ -n "$line" ]; do
	host=$(printf '%s' "$line" | sed 's/#.*//; s/^[[:space:]]*//; s/[[:space:]]*$//')
	[ -n "$host" ] || continue
	echo "== $host"
	# shellcheck disable=SC2086 # SSH_OPTS is split into options on purpose
	if run scp -q $ssh_opts -- "$binary" "$host:$tmp_remote" &&
		run ssh $ssh_opts -- "$host" "$remote_cmd" </dev/null; then
		ok=$((ok + 1))
		summary="$summary
OK    $host"
	else
		failed=$((failed + 1))
		summary="$summary
FAIL  $host"
	fi
done 3<"$hosts_file"

if $dry_run; then
	summary="$summary
(dry run: nothing was done)"
fi
printf '\nSummary:%s\n%d OK, %d FAIL\n' "$summary" "$ok" "$failed"
[ "$failed" -eq 0 ]
