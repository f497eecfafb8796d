# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # variables shared with the callers
# compare-lib.sh - shared by perf/compare-ucx.sh and perf/compare-rdma.sh
# (sourced, not run): run Skiff's benchmarks and a reference tool pair by
# pair, each as a server and a client over TCP on a free port, several
# trials interleaved, and print the table of medians and ratios.
# compare-rpc.sh and rpc-callgrind.sh use its start (cmp_setup) and its
# server and client runs (cmp_pair, cmp_reap, cmp_cleanup).
#
# The caller calls cmp_setup first; then it sets, before cmp_main:
#   cmp_name     its name, for messages
#   cmp_bin      directory of the sk_* binaries
#   cmp_host     address the clients connect to
#   cmp_trials   trials per figure
#   cmp_peer     name of the reference, for the table header
#   cmp_tests    array of "id|kind|size|skiff|peer|peer-server|peer-client|note"
#                kind: lat (ratio <= 1.10) or bw (ratio >= 0.95);
#                skiff: an sk_* tool and its arguments (-p and the host are
#                added); peer: the reference's name in the table;
#                peer-server, peer-client: its command lines, where @PORT@
#                and @HOST@ are replaced; note: a key of cmp_note_text.
#   cmp_note_text[key]  footnote printed under the table for that row;
#                rows with a note are not judged (their peer is invalid).
# Values: the last output line that starts with three numbers (the data
# row of Skiff's tools and perftest, ucx_perftest's final line with -f);
# latency column 5 (t_typical) or ucx_perftest's 2 (50.0%ile), bandwidth
# column 4 (BW average) or ucx_perftest's 6 (overall MB/s): the columns
# are given per test kind by cmp_col_skiff_* and cmp_col_peer_*.
#
# The ratio column is the median of the per-trial ratios (each trial runs
# the two back to back), which cancels drift between trials; the value
# columns are the medians of each side's figures.
#
# Exit status of cmp_main: 0 every judged target met, 1 a run failed,
# 4 a target missed.

cmp_port_min=${PORT_MIN:-18600}
cmp_port_max=${PORT_MAX:-18999}
cmp_col_skiff_lat=5
cmp_col_skiff_bw=4
cmp_col_peer_lat=5
cmp_col_peer_bw=4
cmp_keep=${cmp_keep:-0}
cmp_trials=3 # cmp_opt's defaults; a caller may change them after sourcing
quick=0
cmp_server_pid=
cmp_reaped_rc=0
declare -A cmp_note_text

cmp_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

# cmp_opt NAME ARG...: the options compare-rpc, compare-ucx and
# compare-rdma share: --trials N (or =N: a count from 1), --quick, --keep.
# Sets cmp_trials, quick or cmp_keep, and cmp_shift to the arguments it
# took; returns 1 if ARG is none of them. A missing or bad --trials is a
# usage error: exit 2 (with the caller's usage for a missing one).
cmp_opt() {
	local name=$1 v
	shift
	cmp_shift=1
	case $1 in
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; v=$2; cmp_shift=2 ;;
	--trials=*) v=${1#*=} ;;
	--quick) quick=1; return 0 ;;
	--keep) cmp_keep=1; return 0 ;;
	*) return 1 ;;
	esac
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "$name: bad --trials: $v" >&2; exit 2; }
	cmp_trials=$v
}

# cmp_die MESSAGE: "$cmp_name: MESSAGE" and exit 1; to stderr, or, where
# the caller set cmp_fail_word (compare-rdma.sh: FAILED, which the guest's
# log is searched for), to stdout after that word.
cmp_die() {
	if [ -n "${cmp_fail_word:-}" ]; then
		echo "$cmp_name: $cmp_fail_word: $*"
	else
		echo "$cmp_name: $*" >&2
	fi
	exit 1
}

# cmp_setup NAME TOOL... -- COMMAND...: every caller's start. Sets
# cmp_name and cmp_bin (the absolute $BUILD/perf; BUILD, default build, is
# relative to the tree); each TOOL must be an executable there, each
# COMMAND on the PATH, or cmp_die says which is missing. cmp_make_hint and
# cmp_cmd_hint, if set, say how to get a missing tool or command.
cmp_setup() {
	local build=${BUILD:-build} t
	cmp_name=$1
	shift
	case $build in /*) ;; *) build=$cmp_here/../$build ;; esac
	cmp_bin=$(cd "$build/perf" 2>/dev/null && pwd -P) ||
		cmp_die "$build/perf missing (run make)"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		[ -x "$cmp_bin/$1" ] ||
			cmp_die "$cmp_bin/$1 missing (${cmp_make_hint:-run make})"
		shift
	done
	[ $# -gt 0 ] && shift
	for t in "$@"; do
		command -v "$t" >/dev/null ||
			cmp_die "$t missing${cmp_cmd_hint:+ ($cmp_cmd_hint)}"
	done
}

# shellcheck disable=SC2317 # called by the EXIT trap
cmp_cleanup() {
	if [ -n "$cmp_server_pid" ] && kill -0 "$cmp_server_pid" 2>/dev/null; then
		kill -TERM "$cmp_server_pid" 2>/dev/null
		wait "$cmp_server_pid" 2>/dev/null
	fi
	if [ "$cmp_keep" = 1 ]; then
		echo "$cmp_name: raw outputs kept in $cmp_tmp"
	else
		rm -rf "$cmp_tmp"
	fi
}

# A port of the range that nobody listens on now.
cmp_pick_port() {
	local p _
	for _ in $(seq 50); do
		p=$((cmp_port_min + RANDOM % (cmp_port_max - cmp_port_min + 1)))
		if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Wait until process $1 listens on port $2; fail if it exits first or 20 s
# pass (a TCG guest is slow to start programs).
cmp_wait_listen() {
	local _
	for _ in $(seq 400); do
		ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1," && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Wait up to $2 seconds for process $1, then kill it; its exit status goes
# to cmp_reaped_rc (wait works only in this shell, not in a subshell).
cmp_reap() {
	local _
	for _ in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null
		sleep 0.5
		kill -KILL "$1" 2>/dev/null
	fi
	cmp_reaped_rc=0
	wait "$1" 2>/dev/null || cmp_reaped_rc=$?
	cmp_server_pid=
}

# cmp_pair OUT SERVER-ARGV... -- CLIENT-ARGV...: run a server and then its
# client on a free port (@PORT@, @HOST@ are replaced), retrying on another
# port if the server cannot listen. Client output to OUT, server's to
# OUT.srv. Fails if either side fails.
cmp_pair() {
	local out=$1 port rc _ a
	local -a srv=() cli=()
	shift
	while [ "$1" != -- ]; do srv+=("$1"); shift; done
	shift
	cli=("$@")
	for _ in 1 2 3 4 5; do
		port=$(cmp_pick_port) || continue
		local -a s=() c=()
		for a in "${srv[@]}"; do a=${a//@PORT@/$port}; s+=("${a//@HOST@/$cmp_host}"); done
		for a in "${cli[@]}"; do a=${a//@PORT@/$port}; c+=("${a//@HOST@/$cmp_host}"); done
		"${s[@]}" </dev/null >"$out.srv" 2>&1 &
		cmp_server_pid=$!
		if ! cmp_wait_listen "$cmp_server_pid" "$port"; then
			cmp_reap "$cmp_server_pid" 2
			continue
		fi
		timeout 300 "${c[@]}" </dev/null >"$out" 2>&1
		rc=$?
		cmp_reap "$cmp_server_pid" 30
		[ "$rc" = 0 ] && [ "$cmp_reaped_rc" != 0 ] && rc=$cmp_reaped_rc
		return "$rc"
	done
	echo "$cmp_name: could not start a server on a free port" >&2
	return 1
}

# Column $2 of the last line of file $1 that starts with three numbers.
cmp_value() {
	awk -v col="$2" '/^[ \t]*[0-9]+[ \t]+[0-9.]+[ \t]+[0-9.]+/{v=$col}
		END{if (v ~ /^[0-9.]+$/) print v; else exit 1}' "$1"
}

# cmp_run OUT COLUMN SERVER-ARGV... -- CLIENT-ARGV...: cmp_pair, then the
# value into cmp_got. A run that succeeds without a number (perftest prints
# "inf" when it cannot read a steady CPU clock, as under TCG now and then)
# is repeated once.
cmp_run() {
	local out=$1 col=$2 _
	shift 2
	for _ in 1 2; do
		cmp_pair "$out" "$@" || return 1
		cmp_got=$(cmp_value "$out" "$col") && return 0
		echo "$cmp_name: no figure in the output of $(basename "$1"); once more" >&2
	done
	return 1
}

cmp_median() {
	[ $# -gt 0 ] || return 1
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{
		if (NR % 2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}

cmp_main() {
	local trial i id kind size sk peer psrv pcli note out sv pv col
	local -a sk_argv psrv_argv pcli_argv
	local -A sk_vals peer_vals ratio_vals
	local failed=0 missed=0 s p ratio target ok result unit
	local -A noted

	# cmp_one TAG NAME KIND-COLUMN SERVER... -- CLIENT...: one run of a
	# side for test $i, trial $trial (dynamic scope); its figure to
	# cmp_got, or a message, failed=1 and status 1.
	cmp_one() {
		local tag=$1 name=$2
		col=$3
		shift 3
		cmp_run "$out.$tag" "${!col}" "$@" && return 0
		echo "$cmp_name: $name failed (trial $trial):" >&2
		tail -n 5 "$out.$tag" "$out.$tag.srv" >&2
		failed=1
		return 1
	}
	cmp_one_skiff() {
		if cmp_one sk "${sk_argv[0]}" "cmp_col_skiff_$kind" \
			"$cmp_bin/${sk_argv[0]}" -p @PORT@ "${sk_argv[@]:1}" -- \
			"$cmp_bin/${sk_argv[0]}" -p @PORT@ "${sk_argv[@]:1}" @HOST@; then
			sv=$cmp_got
			sk_vals[$i]+="$sv "
		fi
		return 0
	}
	cmp_one_peer() {
		if cmp_one peer "$peer" "cmp_col_peer_$kind" "${psrv_argv[@]}" -- \
			"${pcli_argv[@]}"; then
			pv=$cmp_got
			peer_vals[$i]+="$pv "
		fi
		return 0
	}

	cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-compare.XXXXXX")
	trap cmp_cleanup EXIT
	trap 'exit 130' INT TERM

	for trial in $(seq "$cmp_trials"); do
		for i in "${!cmp_tests[@]}"; do
			IFS='|' read -r id kind size sk peer psrv pcli note <<<"${cmp_tests[$i]}"
			read -r -a sk_argv <<<"$sk"
			read -r -a psrv_argv <<<"$psrv"
			read -r -a pcli_argv <<<"$pcli"
			out=$cmp_tmp/$trial.$i
			sv='?' pv='?'

			# Alternate who goes first, so that a drift in the
			# machine's load does not always favour the same side.
			if [ $((trial % 2)) = 1 ]; then
				cmp_one_skiff && cmp_one_peer
			else
				cmp_one_peer && cmp_one_skiff
			fi
			# The ratio is taken per trial (the two ran back to
			# back) and its median reported: that cancels the
			# machine's drift between trials, which medians of the
			# two columns taken apart do not.
			if [ "$sv" != '?' ] && [ "$pv" != '?' ]; then
				ratio_vals[$i]+="$(awk -v s="$sv" -v p="$pv" \
					'BEGIN{printf "%.4f", (p > 0) ? s / p : 0}') "
			fi
			printf '  trial %d: %-10s %6s  skiff %-10s %s %s\n' \
				"$trial" "$id" "$size" "$sv" "$peer" "$pv"
		done
	done

	echo
	echo "Medians of $cmp_trials trial(s): Skiff vs $cmp_peer" \
		"(ratio: median over trials of Skiff / $cmp_peer)"
	printf '%-11s %6s %13s %27s %6s %7s  %s\n' test size skiff "$cmp_peer" \
		ratio target result
	for i in "${!cmp_tests[@]}"; do
		IFS='|' read -r id kind size sk peer psrv pcli note <<<"${cmp_tests[$i]}"
		# shellcheck disable=SC2086 # the values are words
		s=$(cmp_median ${sk_vals[$i]:-}) || s=
		# shellcheck disable=SC2086
		p=$(cmp_median ${peer_vals[$i]:-}) || p=
		unit=us
		[ "$kind" = bw ] && unit=MB/s
		if [ -z "$s" ] || [ -z "$p" ]; then
			printf '%-11s %6s %13s %27s %6s %7s  %s\n' "$id" "$size" \
				"${s:-?}" "$peer ${p:-?}" - - "NO DATA"
			continue
		fi
		# shellcheck disable=SC2086
		ratio=$(cmp_median ${ratio_vals[$i]:-}) || ratio=0
		ratio=$(awk -v r="$ratio" 'BEGIN{printf "%.2f", r}')
		if [ "$kind" = lat ]; then
			target="<=1.10"
			ok=$(awk -v r="$ratio" 'BEGIN{print (r <= 1.10) ? 1 : 0}')
		else
			target=">=0.95"
			ok=$(awk -v r="$ratio" 'BEGIN{print (r >= 0.95) ? 1 : 0}')
		fi
		if [ -n "$note" ] && [ -n "${cmp_note_text[$note]:-}" ]; then
			result="n/a ($note)"
			noted[$note]=1
		elif [ "$ok" = 1 ]; then
			result=PASS
		else
			result=MISS
			missed=1
		fi
		printf '%-11s %6s %13s %27s %6s %7s  %s\n' "$id" "$size" "$s $unit" \
			"$peer $p $unit" "$ratio" "$target" "$result"
	done
	for note in "${!noted[@]}"; do
		echo "($note) ${cmp_note_text[$note]}"
	done
	[ $failed = 1 ] && return 1
	[ $missed = 1 ] && return 4
	return 0
}
