#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# rpc-callgrind.sh - user-space instructions a Skiff rpc server spends per
# null RPC (a 0-byte request answered with a 0-byte response), counted by
# valgrind's callgrind on the server while a normal (native) client calls.
#
# The server (rpc_tput or rpc_lat, SKIFF_PROVIDER=ucx) runs under
#   valgrind --tool=callgrind
# twice, once for N1 and once for N2 calls (--calls, default 2000 102000);
# the figure is (Ir2 - Ir1) / (served2 - served1), callgrind's program
# totals (every thread of the server) over the calls the server reports
# having served (the client's -n, its -n / 10 warm-up calls and its stop
# call), so start-up, connection and teardown cancel. The server ends its
# loop at the client's stop call, so both runs end at the same point. They
# cancel only nearly: UCX's wireup takes different paths from run to run
# (seen: 12.5 or 14.0 million instructions for the same short run), which
# over 100,000 calls is at most 15 instructions per call.
#
# Two clients, two rows, each judged: target <= 1000 instructions per call.
#   pipelined      rpc_tput -t 16 -s 0: 16 calls outstanding on one peer
#                  (the credit limit), so the server always finds work and
#                  one loop turn serves several calls.
#   one-at-a-time  rpc_lat -s 0: the next call leaves when the response is
#                  back; each call then costs the server its own loop turns
#                  (the request's, its response's send completion's), and
#                  any turn that finds nothing is counted too (empty/call;
#                  under valgrind the server is so slow that the next
#                  request is nearly always there already).
# turns/call and empty/call are the server's loop turns (sk_loop_run_once)
# per call, from its own count. With --top K (default 15) the functions
# that cost most per call follow, for each row, after the same by layer:
# own Ir (callgrind_annotate --inclusive=no) of run 2 minus run 1, per call.
#
# UCX 1.13 over shared memory runs unmodified under valgrind 3.19 here (no
# UCX_MEM_EVENTS=no or UCX_TLS needed); UCX_* variables set in the
# environment reach both sides, so that is where to try them elsewhere.
# The keepalive is stretched to an hour (below) so that it does not count.
#
# Exit status: 0 target met, 1 a run failed, 2 usage, 4 target missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/rpc-callgrind.sh [--calls "N1 N2"] [--top K] [--keep] [--verbose]

  --calls "N1 N2"  calls of the two runs (default "2000 102000"; N1 < N2)
  --top K          print the K functions that cost most per call (default
                   15; 0: none)
  --keep           keep the callgrind outputs (their directory is printed)
  --verbose        print every command as it is run

Environment: BUILD (default build) picks the binaries; PORT_MIN/PORT_MAX
(default 18600-18999) the range TCP ports are drawn from; UCX_* reach both
sides.
EOF
}

calls="2000 102000"
top=15
cmp_keep=0
verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	--calls) [ $# -ge 2 ] || { usage >&2; exit 2; }; calls=$2; shift 2 ;;
	--calls=*) calls=${1#*=}; shift ;;
	--top) [ $# -ge 2 ] || { usage >&2; exit 2; }; top=$2; shift 2 ;;
	--top=*) top=${1#*=}; shift ;;
	--keep) cmp_keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "rpc-callgrind.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
read -r n1 n2 extra <<<"$calls"
if ! [[ ${n1:-} =~ ^[1-9][0-9]*$ && ${n2:-} =~ ^[1-9][0-9]*$ ]] ||
	[ -n "${extra:-}" ] || [ "$n1" -ge "$n2" ] || [ "$n2" -gt 10000000 ]; then
	echo "rpc-callgrind.sh: bad --calls: '$calls' (two counts, N1 < N2)" >&2
	exit 2
fi
[[ $top =~ ^[0-9]+$ ]] || { echo "rpc-callgrind.sh: bad --top: $top" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=compare-lib.sh
. "$here/compare-lib.sh"

cmp_cmd_hint="apt-get install valgrind iproute2"
cmp_setup rpc-callgrind.sh rpc_lat rpc_tput -- valgrind callgrind_annotate ss
cmp_host=127.0.0.1

export SKIFF_PROVIDER=ucx
unset SKIFF_DEVICE
# UCX's keepalive (SKIFF_UCX_KEEPALIVE_MS, 500 ms) costs instructions per
# unit of time, not per call (it reads the peer's /proc/PID/stat), and the
# two runs last different times: it would not cancel. An hour, unless set.
export SKIFF_UCX_KEEPALIVE_MS=${SKIFF_UCX_KEEPALIVE_MS:-3600000}
target=1000
cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-rpc-callgrind.XXXXXX")
trap cmp_cleanup EXIT
trap 'exit 130' INT TERM

# measure TAG TOOL N CLIENT-ARGS...: the server under callgrind, a native
# client; sets ir, served, turns, empty (fails with a message).
measure() {
	local tag=$1 tool=$2 n=$3 out line
	shift 3
	out=$cmp_tmp/$tag.$n
	[ "$verbose" = 1 ] && echo "+ valgrind --tool=callgrind $tool -p PORT  //  $tool -p PORT $* -n $n 127.0.0.1"
	if ! cmp_pair "$out" valgrind --tool=callgrind \
		--callgrind-out-file="$out.cg" "$cmp_bin/$tool" -p @PORT@ -- \
		"$cmp_bin/$tool" -p @PORT@ "$@" -n "$n" @HOST@; then
		echo "rpc-callgrind.sh: $tool ($tag, $n calls) failed:" >&2
		tail -n 5 "$out" "$out.srv" >&2
		return 1
	fi
	ir=$(sed -n 's/^summary: *//p' "$out.cg" | head -n 1)
	line=$(grep -E "server: served [0-9]+ calls" "$out.srv")
	read -r served turns empty < <(sed -E \
		's/.*served ([0-9]+) calls in ([0-9]+) loop turns \(([0-9]+) empty\).*/\1 \2 \3/' \
		<<<"$line")
	if ! [[ ${ir:-} =~ ^[0-9]+$ && ${served:-} =~ ^[0-9]+$ && ${turns:-} =~ ^[0-9]+$ ]]; then
		echo "rpc-callgrind.sh: no totals in $out.srv / $out.cg" >&2
		return 1
	fi
}

# Per call between two callgrind outputs ($1, $2; $3 calls apart): the
# instructions of each layer (UCX's libraries, Skiff's verbs provider, rpc,
# libos's loop and arena, libc, the benchmark's handlers), then the $top
# functions that cost most.
top_functions() {
	local a=$1 b=$2 dn=$3
	callgrind_annotate --auto=no --inclusive=no --threshold=100 "$a" \
		>"$a.txt" 2>/dev/null
	callgrind_annotate --auto=no --inclusive=no --threshold=100 "$b" \
		>"$b.txt" 2>/dev/null
	awk -v dn="$dn" -v k="$top" '
		function layer(f, o) {
			if (o ~ /libuc[pstm]\./) return "UCX (libucp, libuct, libucs)"
			if (f ~ /^verbs\//) return "Skiff verbs (ucx provider)"
			if (f ~ /^rpc\//) return "Skiff rpc"
			if (f ~ /^libos\//) return "libos (loop, arena)"
			if (f ~ /^perf\//) return "benchmark (handler, main)"
			if (o ~ /libc\.so/) return "libc"
			return "other"
		}
		# "1,234 (12.3%)  file:function [object]"
		/^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS/ {
			v = $1; gsub(",", "", v)
			f = $0; sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", f)
			o = ""
			if (match(f, / \[.*\]$/)) {
				o = substr(f, RSTART + 2, RLENGTH - 3)
				f = substr(f, 1, RSTART - 1)
			}
			if (FILENAME == ARGV[1]) { r1[f] += v; l1[layer(f, o)] += v }
			else { r2[f] += v; l2[layer(f, o)] += v }
		}
		function sorted(d, keys,    n, i, j, x, f) {
			n = 0
			for (f in d) if (d[f] >= 0.5) keys[++n] = f
			for (i = 2; i <= n; i++) {
				x = keys[i]; j = i - 1
				while (j > 0 && d[keys[j]] < d[x]) { keys[j+1] = keys[j]; j-- }
				keys[j+1] = x
			}
			return n
		}
		END {
			for (f in l2) dl[f] = (l2[f] - l1[f]) / dn
			n = sorted(dl, lk)
			for (i = 1; i <= n; i++)
				printf "  %8.1f  %s\n", dl[lk[i]], lk[i]
			print "  top functions:"
			for (f in r2) d[f] = (r2[f] - r1[f]) / dn
			n = sorted(d, keys)
			for (i = 1; i <= n && i <= k; i++) {
				f = keys[i]; sub(/^.*\//, "", f)
				printf "  %8.1f  %s\n", d[keys[i]], f
			}
		}' "$a.txt" "$b.txt"
}

echo "rpc-callgrind.sh: server-side user-space instructions per null RPC" \
	"(callgrind Ir, all threads; SKIFF_PROVIDER=ucx, $(ucx_info -v 2>/dev/null |
		sed -n 's/^# Version /UCX /p'), $(valgrind --version));" \
	"runs of $n1 and $n2 calls; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-14s %-22s %8s %8s %12s %12s %8s %10s %10s %7s  %s\n' mode client \
	served1 served2 Ir1 Ir2 Ir/call turns/call empty/call target result
failed=0 missed=0
tops=()
for r in "pipelined|rpc_tput|-t 16 -s 0" "one-at-a-time|rpc_lat|-s 0"; do
	IFS='|' read -r mode tool args <<<"$r"
	read -r -a argv <<<"$args"
	if ! measure "$mode" "$tool" "$n1" "${argv[@]}"; then failed=1; continue; fi
	ir1=$ir s1=$served t1=$turns e1=$empty
	if ! measure "$mode" "$tool" "$n2" "${argv[@]}"; then failed=1; continue; fi
	ir2=$ir s2=$served t2=$turns e2=$empty
	dn=$((s2 - s1))
	per=$(awk -v a="$ir1" -v b="$ir2" -v n="$dn" 'BEGIN{printf "%.0f", (b - a) / n}')
	tpc=$(awk -v a="$t1" -v b="$t2" -v n="$dn" 'BEGIN{printf "%.2f", (b - a) / n}')
	epc=$(awk -v a="$e1" -v b="$e2" -v n="$dn" 'BEGIN{printf "%.2f", (b - a) / n}')
	if [ "$per" -le "$target" ]; then res=PASS; else res=MISS; missed=1; fi
	printf '%-14s %-22s %8s %8s %12s %12s %8s %10s %10s %7s  %s\n' "$mode" \
		"$tool $args" "$s1" "$s2" "$ir1" "$ir2" "$per" "$tpc" "$epc" \
		"<=$target" "$res"
	tops+=("$mode|$cmp_tmp/$mode.$n1.cg|$cmp_tmp/$mode.$n2.cg|$dn")
done
if [ "$top" -gt 0 ]; then
	for t in "${tops[@]}"; do
		IFS='|' read -r mode a b dn <<<"$t"
		echo
		echo "Per call, $mode: own Ir (callgrind_annotate --inclusive=no)" \
			"of run 2 minus run 1, over the $dn calls between them:"
		top_functions "$a" "$b" "$dn"
	done
fi
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
