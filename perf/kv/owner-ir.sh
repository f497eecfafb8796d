#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# owner-ir.sh - the user-space instructions (callgrind Ir, all threads) a
# kv owner spends per client operation, next to memcached's per GET, in one
# run.
#
# kv: a 2-rank job, `skrun -n 2 perf/kv/on-rank.sh 1 valgrind
# --tool=callgrind ... -- kvbench --clients 1 --owner 1 ...`: rank 1, the
# owner, runs under callgrind; rank 0 runs natively and sends every
# operation to keys rank 1 owns, one at a time. Rank 1 loads its share of
# the keys and then waits in the job's barrier (it sleeps on its loop,
# --serve sleep). Two runs per row, N1 and N2 operations (--ops, default
# 1000 and 10000; no warm-up); the figure is (Ir2 - Ir1) / (N2 - N1), so
# boot, load and teardown cancel.
#   get    --mix C, one-sided GETs (the lease is stretched to 10 s,
#          --quarantine-ms 40000, so that a GET slowed by valgrind on the
#          owner is not retried or sent by rpc). Target: the owner's count
#          does not grow with the GETs: at most 10 Ir per GET. What GETs
#          make an owner do is serve their clients' access hints
#          (KV_RPC_HINT, at most 64 key hashes per client per 10 ms): the
#          inclusive Ir of kv_h_hint per GET is judged. The whole process's
#          count per GET is printed too; it moves by tens to hundreds of Ir
#          between runs with the owner's timer (a tick every Q/2 reaps and
#          crawls, ~120,000 Ir), which ticks by the clock, not per GET.
#   set    --mix set (16 B keys, 32 B values, by rpc to the owner)
#   null   --mix null (an empty rpc to the owner, kvbench's own handler)
#          The whole process's count per op includes waking up for each
#          request (the owner sleeps between them), which depends on
#          timing, so kv's own work is taken from the handlers: the
#          inclusive Ir of kv_h_store (parse, decide, publish, respond)
#          less that of kvbench's null handler (respond), per op, from
#          callgrind_annotate --inclusive=yes of the same runs.
#          Target: <= 500.
#   rpc GET --mix C with SKIFF_KV_GET=rpc (every GET by rpc to the
#          owner, KV_RPC_GET): kv's own work is the inclusive Ir of
#          kv_h_get less the null handler's, as for SET. Target: <= 500.
# memcached: memcached -t 1 -c 1012 under callgrind (memcached sets its
# descriptor limit to -c, which valgrind allows only at its own hard
# limit, 12 under the real one: ulimit -n 1024), a small client (bash,
# /dev/tcp) sets --mc-keys keys of the same sizes and names, then GETs
# N1 or N2 of them one at a time; per GET = (Ir2 - Ir1) / (N2 - N1). The
# issue's figure for memcached 1.6.18 on this machine type: 2,976.
#
# UCX's keepalive is stretched to an hour (SKIFF_UCX_KEEPALIVE_MS), as in
# perf/rpc-callgrind.sh: it costs per second, not per operation.
# Exit status: 0 targets met, 1 a run failed, 2 usage, 4 a target missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/kv/owner-ir.sh [--ops "N1 N2"] [--keys N] [--trials N]
                           [--no-memcached] [--keep] [--verbose]

  --ops "N1 N2"   operations of the two runs of each row (default
                  "1000 10000"; N1 < N2)
  --keys N        keys in kvbench's table (default 1000)
  --trials N      kv's rows N times, a line per trial; judged on the
                  medians (default 1; memcached's row runs once)
  --no-memcached  skip memcached's row
  --keep          keep the callgrind outputs   --verbose  print each command

Environment: BUILD (default build), SKIFF_PROVIDER (default ucx).
EOF
}

ops="1000 10000" keys=1000 do_mc=1 verbose=0 cmp_keep=0 trials=1
while [ $# -gt 0 ]; do
	case $1 in
	--ops) [ $# -ge 2 ] || { usage >&2; exit 2; }; ops=$2; shift 2 ;;
	--keys) [ $# -ge 2 ] || { usage >&2; exit 2; }; keys=$2; shift 2 ;;
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; trials=$2; shift 2 ;;
	--no-memcached) do_mc=0; shift ;;
	--keep) cmp_keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "owner-ir.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
read -r n1 n2 extra <<<"$ops"
if ! [[ ${n1:-} =~ ^[1-9][0-9]*$ && ${n2:-} =~ ^[1-9][0-9]*$ ]] ||
	[ -n "${extra:-}" ] || [ "$n1" -ge "$n2" ] || [ "$n2" -gt 10000000 ]; then
	echo "owner-ir.sh: bad --ops: '$ops' (two counts, N1 < N2)" >&2
	exit 2
fi
if ! [[ $trials =~ ^[1-9][0-9]?$ ]]; then
	echo "owner-ir.sh: bad --trials: '$trials' (1 to 99)" >&2
	exit 2
fi
if ! [[ $keys =~ ^[1-9][0-9]*$ ]] || [ "$keys" -lt 16 ]; then
	echo "owner-ir.sh: bad --keys: '$keys' (16 or more)" >&2
	exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../compare-lib.sh
. "$here/../compare-lib.sh"
cmp_cmd_hint="apt-get install valgrind memcached iproute2"
cmp_setup owner-ir.sh kv/kvbench -- valgrind callgrind_annotate ss
[ "$do_mc" = 0 ] || command -v memcached >/dev/null ||
	cmp_die "memcached missing ($cmp_cmd_hint)"
[ -x "$cmp_bin/../bin/skrun" ] || cmp_die "$cmp_bin/../bin/skrun missing (run make)"
skrun=$cmp_bin/../bin/skrun
export SKIFF_PROVIDER=${SKIFF_PROVIDER:-ucx}
export SKIFF_UCX_KEEPALIVE_MS=${SKIFF_UCX_KEEPALIVE_MS:-3600000}
cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-kv-owner-ir.XXXXXX")
mc_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$mc_pid" ]; then
		kill "$mc_pid" 2>/dev/null
		wait "$mc_pid" 2>/dev/null
	fi
	cmp_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kv_ir TAG N KVBENCH-ARGS...: rank 1 under callgrind; sets ir and the
# client's counters line (counters).
kv_ir() {
	local tag=$1 n=$2 out
	shift 2
	out=$cmp_tmp/$tag.$n
	local -a cmd=("$skrun" --timeout 900 -n 2 "$here/on-rank.sh" 1 valgrind
		--tool=callgrind "--callgrind-out-file=$out.cg" -- "$cmp_bin/kv/kvbench"
		--clients 1 --owner 1 --serve sleep --keys "$keys" --requests "$n"
		--warmup 0 --quiet "$@")
	[ "$verbose" = 1 ] && echo "+ ${cmd[*]}"
	[ "$verbose" = 1 ] && [ ${#kv_env[@]} -gt 0 ] && echo "  (with ${kv_env[*]})"
	if ! env SKIFF_ARENA_MB="${SKIFF_ARENA_MB:-128}" "${kv_env[@]}" "${cmd[@]}" </dev/null >"$out" 2>&1; then
		echo "owner-ir.sh: kvbench ($tag, $n) failed:" >&2
		tail -n 8 "$out" >&2
		return 1
	fi
	ir=$(sed -n 's/^summary: *//p' "$out.cg" | head -n 1)
	counters=$(sed -n 's/^kv client counters (all clients): //p' "$out")
	if grep -q '^kvbench: .* waited=[1-9]' "$out"; then
		echo "owner-ir.sh: $tag, $n: some updates waited for room; the row counts the owner's timer too" >&2
	fi
	[[ ${ir:-} =~ ^[0-9]+$ ]] || { echo "owner-ir.sh: no callgrind total in $out.cg" >&2; return 1; }
	hir=0
	if [ -n "$handler" ]; then
		hir=$(callgrind_annotate --inclusive=yes --threshold=100 "$out.cg" 2>/dev/null |
			awk -v f=":$handler " 'index($0, f) { v = $1; gsub(",", "", v); print v; exit }')
		[[ ${hir:-} =~ ^[0-9]+$ ]] || hir=0
	fi
}

# kv_row TAG HANDLER KVBENCH-ARGS...: both runs; per op to per, and the
# handler's inclusive Ir per op (if HANDLER is not -) to hper.
kv_row() {
	local tag=$1 ir1 ir2 h1 h2
	handler=$2
	[ "$handler" = - ] && handler=
	shift 2
	kv_ir "$tag" "$n1" "$@" || return 1
	ir1=$ir h1=$hir
	kv_ir "$tag" "$n2" "$@" || return 1
	ir2=$ir h2=$hir
	per=$(awk -v a="$ir1" -v b="$ir2" -v n=$((n2 - n1)) 'BEGIN{printf "%.1f", (b - a) / n}')
	rows+=("$(printf '%-30s %12s %12s %10s  %s' "$tag" "$ir1" "$ir2" "$per" "$counters")")
	hper=
	if [ -n "$handler" ]; then
		hper=$(awk -v a="$h1" -v b="$h2" -v n=$((n2 - n1)) 'BEGIN{printf "%.1f", (b - a) / n}')
		rows+=("$(printf '%-30s %12s %12s %10s  %s' "  handler $handler" "$h1" "$h2" "$hper" "(inclusive)")")
	fi
}

mc_start() {
	local _
	local -a u=()
	[ "$(id -u)" = 0 ] && u=(-u root)
	for _ in 1 2 3 4 5; do
		mc_port=$(cmp_pick_port) || continue
		# memcached sets its descriptor limit (soft and hard) to -c,
		# and valgrind takes only its own hard limit, the real one
		# less 12: 1012 under a limit of 1024.
		(ulimit -n 1024 && exec valgrind --tool=callgrind \
			"--callgrind-out-file=$1" memcached "${u[@]}" -l 127.0.0.1 \
			-p "$mc_port" -U 0 -t 1 -m 64 -c 1012) \
			</dev/null >"$1.log" 2>&1 &
		mc_pid=$!
		cmp_wait_listen "$mc_pid" "$mc_port" && return 0
		kill "$mc_pid" 2>/dev/null
		wait "$mc_pid" 2>/dev/null
		mc_pid=
	done
	echo "owner-ir.sh: memcached under valgrind did not start:" >&2
	cat "$1.log" >&2
	return 1
}

# mc_ir N: memcached under callgrind, KEYS sets then N GETs one at a time
# from bash over one connection; sets ir.
mc_ir() {
	local n=$1 out=$cmp_tmp/mc.$1 i k line hits=0
	[ "$verbose" = 1 ] && echo "+ valgrind --tool=callgrind memcached -t 1 ...; $keys sets, $n gets"
	mc_start "$out.cg" || return 1
	exec 4<>"/dev/tcp/127.0.0.1/$mc_port" || return 1
	for ((i = 0; i < keys; i++)); do
		printf -v k 'k%015d' "$i"
		printf 'set %s 0 0 32\r\n%s\r\n' "$k" vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv >&4
		IFS= read -r -t 60 line <&4 || break
	done
	for ((i = 0; i < n; i++)); do
		printf -v k 'k%015d' $(((RANDOM * 32768 + RANDOM) % keys))
		printf 'get %s\r\n' "$k" >&4
		IFS= read -r -t 60 line <&4 || break # VALUE
		[[ $line == VALUE* ]] && hits=$((hits + 1))
		IFS= read -r -t 60 line <&4 || break # data
		IFS= read -r -t 60 line <&4 || break # END
	done
	printf 'quit\r\n' >&4
	exec 4<&-
	kill "$mc_pid" 2>/dev/null
	wait "$mc_pid" 2>/dev/null
	mc_pid=
	if [ "$hits" != "$n" ]; then
		echo "owner-ir.sh: memcached answered $hits of $n GETs" >&2
		return 1
	fi
	ir=$(sed -n 's/^summary: *//p' "$out.cg" | head -n 1)
	[[ ${ir:-} =~ ^[0-9]+$ ]] || { echo "owner-ir.sh: no callgrind total in $out.cg" >&2; return 1; }
}

echo "owner-ir.sh: owner-side user-space instructions per operation (callgrind" \
	"Ir, all threads); SKIFF_PROVIDER=$SKIFF_PROVIDER; $(valgrind --version);" \
	"runs of $n1 and $n2 operations; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
rows=() failed=0 missed=0 kv_env=()
get_per='' set_per='' null_per='' rget_per='' mc_per=''
t_get=() t_set=() t_rget=()
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for ((t = 1; t <= trials; t++)); do
	rows=()
	get_per='' set_per='' null_per='' rget_per=''
	kv_row "kv one-sided GET (owner)" kv_h_hint --mix C --quarantine-ms 40000 && get_per=$hper || failed=1
	# Partitions of 256 KiB, not kvbench's 64 KiB minimum: the SETs
	# overwrite 1,000 keys as fast as the owner takes them, and a small
	# partition's quarantine would make some wait for room (kv/hold.c),
	# which is the timer's work, not a SET's.
	kv_row "kv SET (owner)" kv_h_store --mix set --part-bytes 262144 && set_per=$hper || failed=1
	kv_env=(SKIFF_KV_GET=rpc)
	kv_row "kv rpc GET (owner)" kv_h_get --mix C && rget_per=$hper || failed=1
	kv_env=()
	kv_row "rpc null call (owner)" kvb_h_null --mix null && null_per=$hper || failed=1
	[ $failed = 1 ] && break
	s_own=$(awk -v a="$set_per" -v b="$null_per" 'BEGIN{printf "%.1f", a - b}')
	r_own=$(awk -v a="$rget_per" -v b="$null_per" 'BEGIN{printf "%.1f", a - b}')
	t_get+=("$get_per") t_set+=("$s_own") t_rget+=("$r_own")
	[ "$trials" -gt 1 ] && printf '  trial %d: one-sided GET %s, SET %s, rpc GET %s Ir\n' \
		"$t" "$get_per" "$s_own" "$r_own"
done
if [ "$do_mc" = 1 ]; then
	if mc_ir "$n1"; then
		ir1=$ir
		if mc_ir "$n2"; then
			mc_per=$(awk -v a="$ir1" -v b="$ir" -v n=$((n2 - n1)) 'BEGIN{printf "%.1f", (b - a) / n}')
			rows+=("$(printf '%-30s %12s %12s %10s' "memcached GET (server)" "$ir1" "$ir" "$mc_per")")
		else failed=1; fi
	else failed=1; fi
fi
echo
printf '%-30s %12s %12s %10s  %s\n' row Ir1 Ir2 Ir/op "client counters (run 2)"
printf '%s\n' "${rows[@]}"
[ "$trials" -gt 1 ] && echo "(the rows above: the last trial; judged: the medians of ${#t_set[@]})"
echo
printf '%-40s %10s %8s  %s\n' judged value target result
if [ ${#t_get[@]} -gt 0 ]; then
	v=$(median "${t_get[@]}")
	if awk -v v="$v" 'BEGIN{exit !(v <= 10)}'; then res=PASS; else res=MISS; missed=1; fi
	printf '%-40s %10s %8s  %s\n' "owner Ir per one-sided GET" "$v" "<=10" "$res"
	v=$(median "${t_set[@]}")
	if awk -v v="$v" 'BEGIN{exit !(v <= 500)}'; then res=PASS; else res=MISS; missed=1; fi
	printf '%-40s %10s %8s  %s\n' "kv's own Ir per SET (handlers: set - null)" "$v" "<=500" "$res"
	v=$(median "${t_rget[@]}")
	if awk -v v="$v" 'BEGIN{exit !(v <= 500)}'; then res=PASS; else res=MISS; missed=1; fi
	printf '%-40s %10s %8s  %s\n' "kv's own Ir per rpc GET (get - null)" "$v" "<=500" "$res"
fi
[ -n "$mc_per" ] && printf '%-40s %10s %8s  %s\n' "memcached Ir per GET (for scale)" "$mc_per" - -
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
