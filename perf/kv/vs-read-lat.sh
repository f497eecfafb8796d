#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# vs-read-lat.sh - kv's GET latency against the fabric's floor: the median
# of one-sided GETs (kvbench, one at a time) next to the median of single
# RDMA READs of the item's size (sk_read_lat, one at a time), in the same
# run, trials interleaved. Target: GET p50 <= 2.2 x READ p50 (a GET is two
# dependent READs: its 128-byte bucket pair, then the item).
#
#   kvbench: skrun -n 2 kvbench --mix C --remote --clients 1 --serve S
#            (rank 0 GETs keys rank 1 owns; S = spin by default: rank 1
#            busy-polls its loop, as sk_read_lat's server polls its device
#            on ucx, where a READ needs the target's progress. On rdma
#            sk_read_lat's server sleeps; an owner sleeping there made
#            GETs slower in the guest, not faster: perf/README.md)
#   floor:   sk_read_lat --alloc -s ITEM, ITEM = the item's bytes as kv
#            stores them: 32-byte header + key + value, rounded up to 16
#            (80 for 16 B keys and 32 B values), the size of the GET's
#            second READ (its first, the pair, is 128 B). --alloc: the
#            server's memory from sk_mr_alloc, as kv's partitions are (on
#            ucx a shared segment UCX reads with the reader's CPU)
#   and, for information: sk_read_lat --chain 2, two such READs a sample,
#            each posted when the other completed: the floor of a GET that
#            READs the pair, then the item (the location cache's hits are
#            one READ; kv/README.md). Its ratio is printed, not judged.
#
# Both use SKIFF_PROVIDER (default here: ucx) and SKIFF_DEVICE; in the
# Soft-RoCE guest: SKIFF_PROVIDER=rdma SKIFF_DEVICE=rxe0
# SKIFF_RDMA_GID_INDEX=1 (tests/softroce/guest-run --env ...).
#
# Exit status: 0 target met, 1 a run failed, 2 usage, 4 target missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/kv/vs-read-lat.sh [--trials N] [--requests N] [--keys N]
                              [--key-size B] [--value-size B]
                              [--dist uniform|zipf] [--serve spin|sleep]
                              [--keep] [--verbose]

  --trials N      interleaved trials (default 3); the ratio is the median
                  of the per-trial ratios
  --requests N    GETs, and READs, per trial (default 20000)
  --keys N        keys in the table (default 2000)
  --key-size B    (default 16)   --value-size B  (default 32)
  --dist D        kvbench's key popularity: uniform (default) or zipf
                  (0.99). A GET of a key this client read within 64
                  leases (1.6 s) READs the item alone, one round trip
                  (kv/README.md, "The location cache"); others READ the
                  pair, then the item. At the guest's rates the default
                  2,000 keys come back in time; --keys 100000 measures
                  GETs of keys not read lately
  --serve S       how kv's owner waits (kvbench --serve; default spin)
  --keep          keep the raw outputs   --verbose  print each command

Environment: BUILD (default build), SKIFF_PROVIDER (default ucx),
SKIFF_DEVICE, SKIFF_RDMA_GID_INDEX, PORT_MIN/PORT_MAX.
EOF
}

trials=3 requests=20000 keys=2000 ksize=16 vsize=32 dist=uniform serve=spin verbose=0 cmp_keep=0
num() { [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || { echo "vs-read-lat.sh: bad $1: '${2:-}'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --requests | --keys | --key-size | --value-size)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		num "$1" "$2"
		case $1 in
		--trials) trials=$2 ;; --requests) requests=$2 ;;
		--keys) keys=$2 ;; --key-size) ksize=$2 ;; --value-size) vsize=$2 ;;
		esac
		shift 2 ;;
	--dist)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $2 in uniform | zipf) dist=$2 ;;
		*) echo "vs-read-lat.sh: bad --dist: '$2' (uniform or zipf)" >&2; exit 2 ;;
		esac
		shift 2 ;;
	--serve)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $2 in spin | sleep) serve=$2 ;;
		*) echo "vs-read-lat.sh: bad --serve: '$2' (spin or sleep)" >&2; exit 2 ;;
		esac
		shift 2 ;;
	--keep) cmp_keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "vs-read-lat.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../compare-lib.sh
. "$here/../compare-lib.sh"
cmp_cmd_hint="apt-get install iproute2"
cmp_setup vs-read-lat.sh sk_read_lat kv/kvbench -- ss
[ -x "$cmp_bin/../bin/skrun" ] || cmp_die "$cmp_bin/../bin/skrun missing (run make)"
skrun=$cmp_bin/../bin/skrun
cmp_host=127.0.0.1
export SKIFF_PROVIDER=${SKIFF_PROVIDER:-ucx}
item=$(( (32 + ksize + vsize + 15) / 16 * 16 )) # kv/store.h: SK_KV_ITEM_HDR, SK_KV_UNIT
target=2.2
cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-kv-readlat.XXXXXX")
trap cmp_cleanup EXIT
trap 'exit 130' INT TERM

# run_read TRIAL CHAIN: sk_read_lat's p50 of CHAIN dependent READs into rv.
run_read() {
	local out=$cmp_tmp/read.$1.$2
	[ "$verbose" = 1 ] && echo "+ sk_read_lat --alloc -s $item -n $requests --chain $2 (server, client)"
	if ! cmp_pair "$out" "$cmp_bin/sk_read_lat" --alloc -p @PORT@ -s "$item" -n "$requests" -- \
		"$cmp_bin/sk_read_lat" --alloc -p @PORT@ -s "$item" -n "$requests" --chain "$2" @HOST@; then
		echo "vs-read-lat.sh: sk_read_lat failed:" >&2
		tail -n 5 "$out" "$out.srv" >&2
		return 1
	fi
	rv=$(cmp_value "$out" 5) || { echo "vs-read-lat.sh: no figure from sk_read_lat" >&2; return 1; }
}

# Both floors: one READ (the target's) into rv1, two in a row into rv2.
run_reads() {
	run_read "$1" 1 && rv1=$rv && run_read "$1" 2 && rv2=$rv
}

run_kv() {
	local out=$cmp_tmp/kv.$1
	local -a cmd=("$skrun" --timeout 600 -n 2 "$cmp_bin/kv/kvbench" --mix C --remote
		--clients 1 --serve "$serve" --dist "$dist" --keys "$keys" --key-size "$ksize"
		--value-size "$vsize" --requests "$requests" --quiet)
	[ "$verbose" = 1 ] && echo "+ ${cmd[*]}"
	if ! SKIFF_ARENA_MB=${SKIFF_ARENA_MB:-64} "${cmd[@]}" </dev/null >"$out" 2>&1; then
		echo "vs-read-lat.sh: kvbench failed:" >&2
		tail -n 5 "$out" >&2
		return 1
	fi
	kv=$(sed -n 's/^kvbench: .* get_p50_us=\([0-9.]*\) .*/\1/p' "$out")
	retries=$(sed -n 's/.*read retries \([0-9]*\),.*/\1/p' "$out")
	byrpc=$(sed -n 's/.* by rpc \([0-9]*\), read.*/\1/p' "$out")
	[ -n "$kv" ] || { echo "vs-read-lat.sh: no figure from kvbench" >&2; return 1; }
}

echo "vs-read-lat.sh: kv GET p50 vs sk_read_lat p50 of $item B" \
	"(keys $ksize B, values $vsize B, $dist); SKIFF_PROVIDER=$SKIFF_PROVIDER;" \
	"owner $serve;" \
	"$requests per trial; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
kvs=() reads=() reads2=() ratios=() ratios2=() failed=0
for t in $(seq "$trials"); do
	rv1='' rv2='' kv=''
	if [ $((t % 2)) = 1 ]; then
		run_reads "$t" && run_kv "$t" || failed=1
	else
		run_kv "$t" && run_reads "$t" || failed=1
	fi
	if [ -z "$rv1" ] || [ -z "$rv2" ] || [ -z "$kv" ]; then continue; fi
	r=$(awk -v a="$kv" -v b="$rv1" 'BEGIN{printf "%.4f", a / b}')
	r2=$(awk -v a="$kv" -v b="$rv2" 'BEGIN{printf "%.4f", a / b}')
	kvs+=("$kv") reads+=("$rv1") reads2+=("$rv2") ratios+=("$r") ratios2+=("$r2")
	printf '  trial %d: kv GET p50 %s us (rpc fallbacks %s, read retries %s), sk_read_lat %s us (2 in a row %s), ratio %s (%s)\n' \
		"$t" "$kv" "${byrpc:-?}" "${retries:-?}" "$rv1" "$rv2" "$r" "$r2"
done
if [ ${#ratios[@]} = 0 ]; then
	echo "vs-read-lat.sh: FAILED: no trial gave both figures"
	exit 1
fi
k=$(cmp_median "${kvs[@]}") rd=$(cmp_median "${reads[@]}") r=$(cmp_median "${ratios[@]}")
rd2=$(cmp_median "${reads2[@]}") r2=$(cmp_median "${ratios2[@]}")
if awk -v r="$r" -v t="$target" 'BEGIN{exit !(r <= t)}'; then res=PASS; else res=MISS; fi
echo
printf '%-28s %8s %12s %14s %7s %7s  %s\n' test size "kv GET p50" "sk_read_lat p50" ratio target result
printf '%-28s %8s %12s %14s %7.2f %7s  %s\n' "GET vs READ ($SKIFF_PROVIDER, $dist)" "$item" \
	"$k us" "$rd us" "$r" "<=$target" "$res"
printf '%-28s %8s %12s %14s %7.2f %7s  %s\n' "GET vs 2 READs in a row" "$item" \
	"$k us" "$rd2 us" "$r2" "-" "(a GET of a key not read lately is two)"
echo "vs-read-lat.sh: $res: ratio $r over ${#ratios[@]} trial(s)"
[ $failed = 1 ] && exit 1
[ $res = MISS ] && exit 4
exit 0
