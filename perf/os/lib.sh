# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # variables shared with the callers
# perf/os/lib.sh - sourced by perf/compare-boot.sh, perf/compare-os-io.sh and
# perf/os/idle-cpu.sh (not run): paths, the timed runner, medians, ratios.
#
# The caller sets os_name (its name, for messages) and os_verbose (1:
# print every command before running it), then calls os_setup.

os_verbose=${os_verbose:-0}
os_keep=${os_keep:-0}
os_tmp=

# shellcheck disable=SC2317 # called by the EXIT trap
os_cleanup() {
	if [ -n "$os_tmp" ]; then
		if [ "$os_keep" = 1 ]; then
			echo "$os_name: raw outputs kept in $os_tmp"
		else
			rm -rf "$os_tmp"
		fi
	fi
}

# os_setup [PROG...]: paths of the build (BUILD, default build, relative to
# the top of the tree), a scratch directory, the traps; fails if skrun,
# walltime or a PROG of build/perf/os is missing.
os_setup() {
	local top p
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
	os_build=${BUILD:-build}
	case $os_build in /*) ;; *) os_build=$top/$os_build ;; esac
	os_skrun=$os_build/bin/skrun
	os_bin=$os_build/perf/os
	os_walltime=$os_bin/walltime
	for p in "$os_skrun" "$os_walltime" "${@/#/$os_bin/}"; do
		[ -x "$p" ] || {
			echo "$os_name: $p missing (run make perf-os)" >&2
			return 1
		}
	done
	os_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-perf-os.XXXXXX") || return 1
	trap os_cleanup EXIT
	trap 'exit 130' INT TERM
}

# Print a command as it would be typed (--verbose only).
os_show() {
	[ "$os_verbose" = 1 ] || return 0
	local redir=$1
	shift
	printf '+'
	printf ' %q' "$@"
	printf '%s\n' "${redir:+ $redir}"
}

# os_time OUT CMD...: run CMD with stdin from /dev/null, stdout to OUT
# (a file, or /dev/null), stderr to $os_tmp/last.err, timed by walltime
# (CLOCK_MONOTONIC around the whole command). The wall time goes to os_ms
# (milliseconds, 3 decimals); returns CMD's status.
os_time() {
	local out=$1 rc ns
	shift
	os_show ">$out" "$@"
	"$os_walltime" -o "$os_tmp/last.ns" "$@" </dev/null >"$out" \
		2>"$os_tmp/last.err"
	rc=$?
	ns=$(cat "$os_tmp/last.ns" 2>/dev/null) || ns=0
	os_ms=$(awk -v n="$ns" 'BEGIN{printf "%.3f", n / 1e6}')
	return "$rc"
}

# Median of the numbers given (empty: fails).
os_median() {
	[ $# -gt 0 ] || return 1
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{
		if (NR % 2) print a[(NR+1)/2]; else printf "%.4f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# $1 / $2, 4 decimals (0 if $2 is 0).
os_div() {
	awk -v a="$1" -v b="$2" 'BEGIN{printf "%.4f", (b > 0) ? a / b : 0}'
}

# Print $1 with $2 decimals.
os_fmt() {
	awk -v v="$1" -v d="$2" 'BEGIN{printf "%.*f", d, v}'
}

# Show the end of the last command's stderr and of file $1 (a failure).
os_tail() {
	tail -n 5 "$os_tmp/last.err" "$@" 2>/dev/null | sed 's/^/    /' >&2
}
