#!/usr/bin/env bash
# vs-memcached.sh - skcached (or any server under test) against memcached
# 1.6 in the same run, driven by the same load generator over loopback
# (issue 13, "Benchmarks").
#
# The loader is build/perf/skcached/mcload (perf/skcached/mcload.c): C
# connections with one request in flight each, text GETs and SETs of a
# fixed value size over 10,000 keys loaded before the run, a warm-up,
# then a measured phase; every answer is checked, every latency kept.
# Cells: 1, 4 and 16 connections x GET-only and 90/10 GET/SET x 32 B and
# 1 KiB values. Each server is started once, on a free port; in each cell
# the two run back to back, who goes first alternating, so drift between
# cells cancels.
#
# Per cell and server: ops/s, p99 latency, and the server's CPU over the
# measured phase from /proc: utime + stime of the server's process and
# all its descendants (for skcached: skcached, skrun and every node), as
# seconds of CPU per second (1.00 = one core busy).
# Ratios are test / memcached: throughput (target >= 1.0), p99 (target
# <= 1.5), and CPU per operation (target <= 1.0: "no more total CPU" at
# the throughput reached; a server that spins its cores shows here).
#
# Exit status: 0 every target met, 1 a run failed, 2 usage, 4 a target
# missed.
set -uo pipefail

prog=vs-memcached.sh
usage() {
	cat <<'EOF'
usage: perf/skcached/vs-memcached.sh [--server CMD] [--ref CMD] [--time S]
                                     [--warmup S] [--conns "1 4 16"]
                                     [--mixes "100 90"] [--values "32 1024"]
                                     [--keys N] [--trials N] [--verbose]

  --server CMD   the server under test; {port} is replaced by a free port
                 (default: $BUILD/bin/skcached -n 4 -p {port} -U 0 -l 127.0.0.1,
                 its default -t: half the cores, 1 to 4)
  --ref CMD      the reference (default: memcached -p {port} -U 0 -l 127.0.0.1 -t 4)
  --time S       measured seconds per cell and server (default 3)
  --warmup S     unmeasured seconds before each (default 0.5)
  --conns LIST   connection counts (default "1 4 16")
  --mixes LIST   GET percentages (default "100 90")
  --values LIST  value sizes in bytes (default "32 1024")
  --keys N       keys (default 10000)
  --trials N     runs of each cell; the table shows medians (default 1)
  --verbose      print each loader line

Environment: BUILD (default build).
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(cd "$here/../.." && pwd -P)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
mcload=$build/perf/skcached/mcload
mc_user=
[ "$(id -u)" = 0 ] && mc_user=" -u root" # memcached refuses root without -u
server="$build/bin/skcached -n 4 -p {port} -U 0 -l 127.0.0.1"
ref="memcached -p {port} -U 0 -l 127.0.0.1 -t 4$mc_user"
secs=3 warmup=0.5 conns="1 4 16" mixes="100 90" values="32 1024" keys=10000
trials=1 verbose=0

need() { [ $# -ge 2 ] || { echo "$prog: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--server) need "$@"; server=$2; shift 2 ;;
	--ref) need "$@"; ref=$2; shift 2 ;;
	--time) need "$@"; secs=$2; shift 2 ;;
	--warmup) need "$@"; warmup=$2; shift 2 ;;
	--conns) need "$@"; conns=$2; shift 2 ;;
	--mixes) need "$@"; mixes=$2; shift 2 ;;
	--values) need "$@"; values=$2; shift 2 ;;
	--keys) need "$@"; keys=$2; shift 2 ;;
	--trials) need "$@"; trials=$2; shift 2 ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in $conns $mixes $values $keys $trials; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "$prog: '$v' is not a number" >&2; exit 2; }
done
[[ $trials -ge 1 ]] || { echo "$prog: --trials: at least 1" >&2; exit 2; }
[[ $server == *"{port}"* && $ref == *"{port}"* ]] ||
	{ echo "$prog: --server and --ref must contain {port}" >&2; exit 2; }
[ -x "$mcload" ] || { echo "$prog: $mcload missing (make $build/perf/skcached/mcload)" >&2; exit 1; }
command -v memcached >/dev/null || { echo "$prog: memcached not found (apt-get install memcached)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skcached-perf.XXXXXX") || exit 1
declare -A pid port
# shellcheck disable=SC2317 # called by the EXIT trap
stop() { # NAME: its whole process group, TERM then KILL
	local p=${pid[$1]:-}
	[ -n "$p" ] || return 0
	kill -TERM -- "-$p" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$p" 2>/dev/null
	wait "$p" 2>/dev/null
	pid[$1]=
}
# shellcheck disable=SC2317
cleanup() {
	stop ref
	stop test
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 "$root/tests/lib/free_port.py"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() { # NAME CMD
	local p cmd
	p=$(free_port) || return 1
	cmd=${2//\{port\}/$p}
	[ "$verbose" = 1 ] && echo "+ $cmd"
	set -m # its own process group: its children are stopped with it
	# shellcheck disable=SC2086 # the command line is split on purpose
	$cmd </dev/null >"$tmp/$1.log" 2>&1 &
	pid[$1]=$!
	set +m
	port[$1]=$p
	for _ in $(seq 300); do
		listening "$p" && return 0
		if ! kill -0 "${pid[$1]}" 2>/dev/null; then
			echo "$prog: '$cmd' exited before listening:" >&2
			tail -n 20 "$tmp/$1.log" >&2
			pid[$1]=
			return 1
		fi
		sleep 0.1
	done
	echo "$prog: '$cmd' does not listen on port $p after 30 s" >&2
	return 1
}

# load NAME CONNS MIX VALUE: one mcload run; its line in $tmp/out
load() {
	local -a cmd=(nice "$mcload" -s "127.0.0.1:${port[$1]}" -c "$2" -g "$3"
		-v "$4" -k "$keys" -w "$warmup" -t "$secs" -P "${pid[$1]}")
	[ "$verbose" = 1 ] && echo "+ ${cmd[*]}"
	if ! "${cmd[@]}" >"$tmp/out" 2>&1; then
		echo "$prog: $1: mcload failed:" >&2
		tail -n 5 "$tmp/out" >&2
		return 1
	fi
	[ "$verbose" = 1 ] && cat "$tmp/out"
	return 0
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" "$tmp/out"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "$prog: $(memcached -V) as the reference; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  reference:  $ref"
echo "  under test: $server"
echo "  mcload: $keys keys, ${warmup} s warm-up + ${secs} s measured per cell and server, $trials trial(s)"
start ref "$ref" || exit 1
start test "$server" || exit 1

failed=0 missed=0 cell=0
rows=()
for c in $conns; do
	for m in $mixes; do
		for v in $values; do
			cell=$((cell + 1))
			declare -a r_ops=() r_p99=() r_cpu=() t_ops=() t_p99=() t_cpu=() t_cpo=() r_cpo=()
			ok=1
			for t in $(seq "$trials"); do
				order="ref test"
				[ $(((cell + t) % 2)) = 0 ] && order="test ref"
				for s in $order; do
					if ! load "$s" "$c" "$m" "$v"; then
						ok=0
						continue
					fi
					o=$(field ops_s) p=$(field p99_us) cs=$(field server_cpu_s) sc=$(field secs)
					cpo=$(field server_cpu_us_per_op)
					cpu=$(awk -v a="$cs" -v b="$sc" 'BEGIN { printf "%.2f", a / b }')
					if [ "$s" = ref ]; then
						r_ops+=("$o") r_p99+=("$p") r_cpu+=("$cpu") r_cpo+=("$cpo")
					else
						t_ops+=("$o") t_p99+=("$p") t_cpu+=("$cpu") t_cpo+=("$cpo")
					fi
				done
			done
			label=$(printf '%2d conn %-7s %4d B' "$c" "$([ "$m" = 100 ] && echo GET || echo "$m/$((100 - m))")" "$v")
			if [ $ok = 0 ] || [ ${#r_ops[@]} = 0 ] || [ ${#t_ops[@]} = 0 ]; then
				failed=1
				rows+=("$(printf '%-22s  %s' "$label" "FAILED (see above)")")
				continue
			fi
			ro=$(median "${r_ops[@]}") to=$(median "${t_ops[@]}")
			rp=$(median "${r_p99[@]}") tp=$(median "${t_p99[@]}")
			rc=$(median "${r_cpu[@]}") tc=$(median "${t_cpu[@]}")
			rcpo=$(median "${r_cpo[@]}") tcpo=$(median "${t_cpo[@]}")
			read -r xo xp xc verdict < <(awk -v ro="$ro" -v to="$to" -v rp="$rp" -v tp="$tp" \
				-v rc="$rcpo" -v tc="$tcpo" 'BEGIN {
				xo = ro > 0 ? to / ro : 0; xp = rp > 0 ? tp / rp : 0
				xc = rc > 0 ? tc / rc : 0
				v = (xo >= 1.0 && xp <= 1.5 && xc <= 1.0) ? "PASS" : "MISS"
				printf "%.2f %.2f %.2f %s\n", xo, xp, xc, v }')
			[ "$verdict" = MISS ] && missed=1
			rows+=("$(printf '%-22s %9.0f %9.0f %6s  %8.1f %8.1f %6s  %5.2f %5.2f %6s  %s' \
				"$label" "$ro" "$to" "$xo" "$rp" "$tp" "$xp" "$rc" "$tc" "$xc" "$verdict")")
			[ "$verbose" = 1 ] && echo "${rows[-1]}"
		done
	done
done

for s in ref test; do
	if [ -n "${pid[$s]:-}" ] && ! kill -0 "${pid[$s]}" 2>/dev/null; then
		echo "$prog: the $s server died during the run:" >&2
		tail -n 20 "$tmp/$s.log" >&2
		failed=1
	fi
done
echo
echo "ops/s, p99 latency (us) and server CPU (cores busy) per cell; ratios test / memcached"
echo "(targets: ops >= 1.0x, p99 <= 1.5x, CPU per op <= 1.0x; medians of $trials trial(s)):"
printf '%-22s %9s %9s %6s  %8s %8s %6s  %5s %5s %6s  %s\n' cell "mc ops/s" "test" ratio \
	"mc p99" test ratio "mc" test "cpu/op" result
printf '%-22s %9s %9s %6s  %8s %8s %6s  %5s %5s %6s  %s\n' "" "" "" "" "" "" "" cpu cpu ratio ""
printf '%s\n' "${rows[@]}"
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
