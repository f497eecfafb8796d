#!/usr/bin/env bash
# guest-run-args.sh - guest-run's bad arguments: each is refused with exit
# status 2 and a message that names the option, before any guest boots
# (no QEMU needed). Run by the wire step (tests/softroce/two-hosts.sh).
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
gr=tests/softroce/guest-run
passed=0 failed=0
share=$(mktemp -d "${BUILD:-build}/guest-run-args.XXXXXX") || exit 1
trap 'rm -rf "$share"' EXIT

# refused WANT ARGS...: guest-run ARGS must exit 2 with WANT in its message.
refused() {
	local want=$1 out rc
	shift
	out=$(timeout 20 "$gr" "$@" -- true 2>&1 >/dev/null)
	rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$want" <<<"$out"; then
		passed=$((passed + 1))
	else
		echo "FAIL guest-run $*: exit $rc, '$out' (want 2, '$want')"
		failed=$((failed + 1))
	fi
}

# "ARGS|what the message must say", one a line; ARGS split on blanks.
while IFS='|' read -r args want; do
	# shellcheck disable=SC2086 # split on purpose
	refused "$want" $args
done <<LIST
--wire 1:2|want LPORT:RPORT:ADDR/PREFIX
--wire 1:2:10.0.0.1|want LPORT:RPORT:ADDR/PREFIX
--wire a:2:10.0.0.1/24|want LPORT:RPORT:ADDR/PREFIX
--wire 0:2:10.0.0.1/24|port 0 is not in 1..65535
--wire 1:65536:10.0.0.1/24|port 65536 is not in 1..65535
--wire 99999:2:10.0.0.1/24|port 99999 is not in 1..65535
--wire 7:7:10.0.0.1/24|the two ports are the same
--wire 1:2:10.0.0/24|is not an IPv4 ADDR/PREFIX
--wire 1:2:10.0.0.1.5/24|is not an IPv4 ADDR/PREFIX
--wire 1:2:10.0.0.256/24|is not an IPv4 address
--wire 1:2:10.0.0.1/31|prefix /31 is not in 8..30
--wire 1:2:10.0.0.1/0|prefix /0 is not in 8..30
--name Guest|--name: not a host name
--name -a|--name: not a host name
--name a_b|--name: not a host name
--name $(printf 'a%.0s' $(seq 64))|--name: not a host name
--hosts guest-a|--hosts: want
--hosts 10.0.0.1 guest-a,|--hosts: want
--hosts 10.0.0.1_guest-a|--hosts: want
--share /nonexistent/dir|--share: no directory
--share /tmp|must not be under /tmp
--timeout 0|not a positive integer
--mem -5|not a positive integer
--smp 1x|not a positive integer
--frob|unknown option
LIST

# Values with blanks, which the list above cannot hold.
refused '--hosts: want' --hosts "10.0.0.1 guest-a,10.0.0.2 Guest-B"
mkdir -p "$share/a b"
refused 'must not be under /tmp or hold blanks' --share "$share/a b"
echo "guest-run-args: $passed passed, $failed failed"
[ $failed -eq 0 ]
