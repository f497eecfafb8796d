#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# vs-memcached.sh - kv against memcached 1.6 in the same run: GET
# throughput with the same number of client cores, and memory per item.
#
# Throughput, per trial (the two sides interleaved, who goes first
# alternating):
#   memcached  a private memcached on 127.0.0.1 and a free port, -t C
#              worker threads, driven by memcslap (libmemcached-tools)
#              --test=get --concurrency=C --execute-number=N: memcslap
#              makes N keys, sets them, then each of its C threads GETs N
#              of them at random, one at a time; GET/s = the GETs it
#              reports over its "Time to get" (whole milliseconds, so N
#              is large). memcslap 1.1 draws keys of 20-60 bytes and
#              values of 50-5000 bytes (src/bin/memslap.cc) and has no
#              option for sizes or key names: it cannot load kvbench's
#              keys, so kv is run at memcslap's mean sizes.
#   kv         skrun -n max(2,C) kvbench --mix C --clients C --remote (each
#              client GETs keys another rank owns, one at a time, as
#              memcslap's threads do), keys of 40 bytes and values of 2525
#              (memcslap's means), and again at the issue's 16 and 32.
# Ratio = kv GET/s / memcached GET/s, median of the per-trial ratios;
# target >= 3 on the like-for-like row (memcslap's sizes).
#
# Memory: 10^6 items of 16-byte keys ("k" and 15 digits, kvbench's
# names) and 32-byte values.
#   memcached  a fresh private memcached (-m 1024) loaded with
#              "set ... noreply" lines; then `stats` (curr_items,
#              hash_bytes) and `stats slabs` (chunk_size x used_chunks
#              per class, total_malloced): bytes per item beyond key and
#              value = (chunks in use + hash table) / items - 48.
#   kv         build/perf/kv/kv_mem: the partition store laid out and
#              loaded as an owner does (region in use + owner heap).
# Target: kv's bytes per item <= memcached's.
#
# Exit status: 0 targets met, 1 a run failed, 2 usage, 4 a target missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/kv/vs-memcached.sh [--trials N] [--clients C] [--gets N]
                               [--kv-keys N] [--items N] [--no-memory] [--no-throughput]
                               [--keep] [--verbose]

  --trials N      interleaved throughput trials (default 3)
  --clients C     client cores on each side: memcslap threads and
                  memcached -t; kvbench client ranks (default 2)
  --gets N        memcslap --execute-number (default 50000: N keys, C x N
                  GETs); kvbench -n N per client
  --kv-keys N     keys in kvbench's table (default 10000)
  --items N       items of the memory table (default 1000000)
  --no-memory, --no-throughput   skip a table
  --keep          keep the raw outputs   --verbose  print each command

Environment: BUILD (default build), SKIFF_PROVIDER (default ucx),
PORT_MIN/PORT_MAX (default 18600-18999).
EOF
}

trials=3 clients=2 gets=50000 kvkeys=10000 items=1000000 do_mem=1 do_tput=1 verbose=0
cmp_keep=0
num() { [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "vs-memcached.sh: bad $1: '${2:-}'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --clients | --gets | --items | --kv-keys)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		num "$1" "$2"
		case $1 in
		--trials) trials=$2 ;; --clients) clients=$2 ;;
		--gets) gets=$2 ;; --items) items=$2 ;; --kv-keys) kvkeys=$2 ;;
		esac
		shift 2 ;;
	--no-memory) do_mem=0; shift ;;
	--no-throughput) do_tput=0; shift ;;
	--keep) cmp_keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "vs-memcached.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[ "$clients" -le 64 ] || { echo "vs-memcached.sh: --clients: at most 64" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../compare-lib.sh
. "$here/../compare-lib.sh"
cmp_cmd_hint="apt-get install memcached libmemcached-tools iproute2"
cmp_setup vs-memcached.sh kv/kvbench kv/kv_mem -- memcached memcslap ss awk
[ -x "$cmp_bin/../bin/skrun" ] || cmp_die "$cmp_bin/../bin/skrun missing (run make)"
skrun=$cmp_bin/../bin/skrun
export SKIFF_PROVIDER=${SKIFF_PROVIDER:-ucx}
mc_user=()
[ "$(id -u)" = 0 ] && mc_user=(-u root) # memcached refuses root without -u
cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-kv-memcached.XXXXXX")
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

# mc_start THREADS MEGABYTES: a private memcached on a free port (mc_port).
mc_start() {
	local _
	for _ in 1 2 3 4 5; do
		mc_port=$(cmp_pick_port) || continue
		[ "$verbose" = 1 ] && echo "+ memcached -l 127.0.0.1 -p $mc_port -U 0 -t $1 -m $2"
		memcached "${mc_user[@]}" -l 127.0.0.1 -p "$mc_port" -U 0 -t "$1" \
			-m "$2" </dev/null >"$cmp_tmp/memcached.log" 2>&1 &
		mc_pid=$!
		cmp_wait_listen "$mc_pid" "$mc_port" && return 0
		kill "$mc_pid" 2>/dev/null
		wait "$mc_pid" 2>/dev/null
		mc_pid=
	done
	echo "vs-memcached.sh: memcached did not start:" >&2
	cat "$cmp_tmp/memcached.log" >&2
	return 1
}

mc_stop() {
	[ -n "$mc_pid" ] || return 0
	kill "$mc_pid" 2>/dev/null
	wait "$mc_pid" 2>/dev/null
	mc_pid=
}

# mc_cmd COMMAND...: send text lines, print the answer up to END.
mc_cmd() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$mc_port" || return 1
	printf '%s\r\n' "$@" "quit" >&3
	while IFS= read -r -t 30 line <&3; do
		printf '%s\n' "${line%$'\r'}"
	done
	exec 3<&-
}

run_memcached() {
	local out=$cmp_tmp/mc.$1 n secs
	mc_start "$clients" 1024 || return 1
	[ "$verbose" = 1 ] && echo "+ memcslap --servers=127.0.0.1:$mc_port --test=get --concurrency=$clients --execute-number=$gets"
	if ! timeout 600 memcslap --servers="127.0.0.1:$mc_port" --test=get \
		--concurrency="$clients" --execute-number="$gets" >"$out" 2>&1; then
		echo "vs-memcached.sh: memcslap failed:" >&2
		tail -n 5 "$out" >&2
		mc_stop
		return 1
	fi
	mc_cmd stats >"$out.stats"
	mc_stop
	read -r n secs < <(sed -n 's/^Time to get *\([0-9]*\) keys by *[0-9]* threads: *\([0-9.]*\) seconds\./\1 \2/p' "$out")
	if ! [[ ${n:-} =~ ^[0-9]+$ ]] || [ "$n" -ne $((clients * gets)) ]; then
		echo "vs-memcached.sh: memcslap got ${n:-no} keys of $((clients * gets)):" >&2
		tail -n 5 "$out" >&2
		return 1
	fi
	mcv=$(awk -v n="$n" -v s="$secs" 'BEGIN{if (s > 0) printf "%.0f", n / s}')
	[ -n "$mcv" ] || { echo "vs-memcached.sh: memcslap's time is 0: raise --gets" >&2; return 1; }
}

# run_kv TAG KSIZE VSIZE: kvbench C; its GET/s to kvv.
run_kv() {
	local out=$cmp_tmp/kv.$1
	local ranks=$((clients < 2 ? 2 : clients))
	local -a cmd=("$skrun" --timeout 600 -n "$ranks" "$cmp_bin/kv/kvbench"
		--mix C --clients "$clients" --remote --serve spin --keys "$kvkeys"
		--key-size "$2" --value-size "$3" --requests "$gets" --quiet)
	[ "$verbose" = 1 ] && echo "+ ${cmd[*]}"
	if ! SKIFF_ARENA_MB=${SKIFF_ARENA_MB:-1024} "${cmd[@]}" </dev/null >"$out" 2>&1; then
		echo "vs-memcached.sh: kvbench failed:" >&2
		tail -n 5 "$out" >&2
		return 1
	fi
	kvv=$(sed -n 's/^kvbench: .* get_ops_s=\([0-9]*\) .*/\1/p' "$out")
	[ -n "$kvv" ] || { echo "vs-memcached.sh: no figure from kvbench" >&2; return 1; }
}

failed=0 missed=0
echo "vs-memcached.sh: kv vs $(memcached -V); $(memcslap --version 2>&1 | head -n 1);" \
	"SKIFF_PROVIDER=$SKIFF_PROVIDER; $clients client cores; $(nproc) CPUs;" \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$do_tput" = 1 ]; then
	mcs=() kvl=() kvs=() rl=() rs=()
	for t in $(seq "$trials"); do
		mcv='' kvl_v='' kvs_v=''
		one_mc() { run_memcached "$t" || failed=1; }
		one_kv() {
			run_kv "$t.like" 40 2525 && kvl_v=$kvv || failed=1
			run_kv "$t.small" 16 32 && kvs_v=$kvv || failed=1
		}
		if [ $((t % 2)) = 1 ]; then one_mc; one_kv; else one_kv; one_mc; fi
		printf '  trial %d: memcached+memcslap %s GET/s; kv (40 B/2525 B) %s GET/s; kv (16 B/32 B) %s GET/s\n' \
			"$t" "${mcv:-?}" "${kvl_v:-?}" "${kvs_v:-?}"
		[ -n "$mcv" ] || continue
		mcs+=("$mcv")
		if [ -n "$kvl_v" ]; then
			kvl+=("$kvl_v")
			rl+=("$(awk -v a="$kvl_v" -v b="$mcv" 'BEGIN{printf "%.4f", a / b}')")
		fi
		if [ -n "$kvs_v" ]; then
			kvs+=("$kvs_v")
			rs+=("$(awk -v a="$kvs_v" -v b="$mcv" 'BEGIN{printf "%.4f", a / b}')")
		fi
	done
	echo
	echo "GET throughput, $clients client cores, medians of $trials trial(s) (ratio: median of per-trial kv / memcached):"
	printf '%-34s %14s %16s %7s %7s  %s\n' test kv "memcached" ratio target result
	if [ ${#rl[@]} -gt 0 ]; then
		r=$(cmp_median "${rl[@]}")
		if awk -v r="$r" 'BEGIN{exit !(r >= 3)}'; then res=PASS; else res=MISS; missed=1; fi
		printf '%-34s %14s %16s %7.2f %7s  %s\n' "GET/s, memcslap's sizes (40/2525)" \
			"$(cmp_median "${kvl[@]}")" "$(cmp_median "${mcs[@]}")" "$r" ">=3" "$res"
	else
		echo "GET/s, memcslap's sizes: NO DATA"
		failed=1
	fi
	if [ ${#rs[@]} -gt 0 ]; then
		r=$(cmp_median "${rs[@]}")
		printf '%-34s %14s %16s %7.2f %7s  %s\n' "GET/s, kv at 16/32 (memcslap 40/2525)" \
			"$(cmp_median "${kvs[@]}")" "$(cmp_median "${mcs[@]}")" "$r" - "(not like for like)"
	fi
fi

if [ "$do_mem" = 1 ]; then
	echo
	echo "Memory, $items items of 16 B keys and 32 B values:"
	if mc_start 1 4096; then
		[ "$verbose" = 1 ] && echo "+ awk ... set kNNN 0 0 32 noreply (x $items) > /dev/tcp/127.0.0.1/$mc_port"
		awk -v n="$items" 'BEGIN{v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";
			for (i = 0; i < n; i++) printf "set k%015d 0 0 32 noreply\r\n%s\r\n", i, v;
			printf "quit\r\n"}' >"/dev/tcp/127.0.0.1/$mc_port"
		# The loading connection may still be being served: wait
		# until every item is in (or 30 s).
		for _ in $(seq 150); do
			mc_cmd stats >"$cmp_tmp/mem.items"
			grep -q "^STAT curr_items $items\$" "$cmp_tmp/mem.items" && break
			sleep 0.2
		done
		mc_cmd stats "stats slabs" >"$cmp_tmp/mem.stats"
		mc_stop
		read -r mci mcb mch mcm mcov < <(awk -v kv=48 '
			{ sub(/\r$/, "") }
			$1 == "STAT" && $2 == "curr_items" { items = $3 }
			$1 == "STAT" && $2 == "hash_bytes" { hash = $3 }
			$1 == "STAT" && $2 == "total_malloced" { mall = $3 }
			$1 == "STAT" && $2 ~ /^[0-9]+:chunk_size$/ { split($2, a, ":"); cs[a[1]] = $3 }
			$1 == "STAT" && $2 ~ /^[0-9]+:used_chunks$/ { split($2, a, ":"); uc[a[1]] = $3 }
			END {
				for (c in uc) used += uc[c] * cs[c]
				if (items > 0) printf "%d %d %d %d %.1f\n", items, used, hash, mall,
					(used + hash) / items - kv
			}' "$cmp_tmp/mem.stats")
		if [ "${mci:-0}" != "$items" ]; then
			echo "vs-memcached.sh: memcached holds ${mci:-no} items of $items" >&2
			failed=1
			mcov=
		else
			echo "  memcached: $mci items; chunks in use $mcb B, hash table $mch B," \
				"slab pages malloced $mcm B"
		fi
	else
		failed=1
	fi
	[ "$verbose" = 1 ] && echo "+ kv_mem -n $items -K 16 -v 32"
	if "$cmp_bin/kv/kv_mem" -n "$items" -K 16 -v 32 >"$cmp_tmp/kvmem" 2>&1; then
		sed 's/^/  /' "$cmp_tmp/kvmem"
		kvov=$(sed -n 's/.*bytes_per_item_overhead=\([0-9.]*\).*/\1/p' "$cmp_tmp/kvmem")
	else
		echo "vs-memcached.sh: kv_mem failed:" >&2
		cat "$cmp_tmp/kvmem" >&2
		failed=1
		kvov=
	fi
	printf '%-34s %14s %16s %7s %7s  %s\n' test kv memcached ratio target result
	if [ -n "${kvov:-}" ] && [ -n "${mcov:-}" ]; then
		r=$(awk -v a="$kvov" -v b="$mcov" 'BEGIN{printf "%.2f", a / b}')
		if awk -v r="$r" 'BEGIN{exit !(r <= 1)}'; then res=PASS; else res=MISS; missed=1; fi
		printf '%-34s %14s %16s %7s %7s  %s\n' "bytes/item beyond key and value" \
			"$kvov" "$mcov" "$r" "<=1" "$res"
	else
		echo "bytes/item: NO DATA"
	fi
fi
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
