#!/usr/bin/env bash
# compare-file-io.sh - one node's sequential file bandwidth through the
# host's file service, next to dd and fio doing the same on the host, in
# the same run (issue: "at least 0.9x the faster of dd and fio").
#
# For each request size (1 MiB and 64 KiB):
#   skrun -n 1 --root DIR sk_file_bw -k -c BS MIB F   sk_write MIB MiB in BS
#       calls, close; sk_read it back in BS calls (timed inside the node,
#       open to close)
#   dd if=/dev/zero of=DIR/F bs=BS count=N conv=notrunc; dd if=DIR/F ...
#   fio --rw=write|read --bs=BS --size=MIB --ioengine=psync    (one job)
#   fio ... --ioengine=io_uring --iodepth=4                    (one job)
# Every side writes over the same file in place (made once, before the
# trials: sk_file_bw -k, dd conv=notrunc, fio on an existing file of the
# size) and reads it back, so every side finds the same page cache: on
# this kind of VM the first touch of pages a deleted file freed costs
# about three times a warm write (the hypervisor takes freed pages back),
# which would charge whoever writes next. --create has each write make
# its file anew instead (O_TRUNC; dd's default; fio after an unlink), to
# see that cost. Nothing is synced or dropped: DIR is /dev/shm (tmpfs,
# where dropping caches would drop the data) unless --dir says otherwise,
# so the figures are the cost of the path through the fabric and the
# host, not of a disk.
# Trials are interleaved (Skiff first on odd trials, the peers first on
# even ones); MB/s are medians (MB = 2^20 bytes); "vs best" is Skiff over
# the fastest peer's median; met is >= 0.90. No timing is asserted: the
# exit status says whether every run worked.
#
# Exit status: 0 every run succeeded, 1 a run failed, 2 usage.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-file-io.sh [--trials T] [--mib M] [--dir DIR] [--create]
                               [--quick] [--verbose] [--keep]

  --trials T   timed runs of each command (default 3)
  --mib M      size of the file written and read back (default 1024)
  --dir DIR    where the files go (default /dev/shm, else TMPDIR)
  --create     every write makes its file anew (default: over it in place)
  --quick      1 trial of 64 MiB: a smoke test, not a measurement

Environment: BUILD (default build) picks the binaries (make perf-os).
EOF_USAGE
}

trials=3
mib=1024
dir=
create=0
os_verbose=0
os_keep=0
num() {
	if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [ "$2" -gt 65536 ]; then
		echo "compare-file-io.sh: bad $1: $2" >&2
		exit 2
	fi
}
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --mib | --dir)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		set -- "$1=$2" "${@:3}" ;;
	--trials=*) num --trials "${1#*=}"; trials=${1#*=}; shift ;;
	--mib=*) num --mib "${1#*=}"; mib=${1#*=}; shift ;;
	--dir=*) dir=${1#*=}; shift ;;
	--quick) trials=1 mib=64; shift ;;
	--create) create=1; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

os_name=compare-file-io.sh
# shellcheck source-path=SCRIPTDIR source=os/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/os/lib.sh"
os_setup sk_file_bw || exit 1
for t in dd fio; do
	command -v $t >/dev/null || { echo "$os_name: $t missing (apt-get install ${t/dd/coreutils})" >&2; exit 1; }
done
py=/usr/bin/python3
[ -x $py ] || { echo "$os_name: $py missing (apt-get install python3)" >&2; exit 1; }
if [ -z "$dir" ]; then
	dir=/dev/shm
	[ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR==2{print $4}')" -gt $((mib * 2 + 64)) ] ||
		dir=${TMPDIR:-/tmp}
fi
data=$(mktemp -d "$dir/skiff-file-io.XXXXXX") || exit 1
trap 'rm -rf "$data"; os_cleanup' EXIT

failed=0
fail() { echo "$os_name: $*" >&2; failed=1; }
declare -A vals

# rec KEY MBS: one trial's figure.
rec() { vals[$1]+="$2 "; }

# fresh: in --create mode, the file goes before each write.
fresh() { [ "$create" = 0 ] || rm -f "$data/f.dat"; }

run_sk() { # BS
	local out=$os_tmp/sk.out w r keep=-k
	[ "$create" = 1 ] && keep=
	fresh
	os_time "$out" "$os_skrun" -n 1 --root "$data" "$os_bin/sk_file_bw" $keep -c "$1" "$mib" f.dat ||
		{ fail "skrun sk_file_bw -c $1 failed"; os_tail "$out"; return 1; }
	read -r w r < <(awk '{ if ($4 > 0 && $8 > 0) printf "%.1f %.1f\n", $2 / 1048576 / $4, $6 / 1048576 / $8 }' "$out")
	[ -n "${r:-}" ] || { fail "sk_file_bw printed no figures"; return 1; }
	rec "$1.w.skiff" "$w"
	rec "$1.r.skiff" "$r"
}

dd_rate() { # dd's own "bytes ... copied, S s" line, as MB/s
	awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "bytes") b = $(i - 1); s = $(NF - 3) }
		END { if (s > 0) printf "%.1f", b / 1048576 / s; else exit 1 }' "$os_tmp/last.err"
}

run_dd() { # BS
	local n=$((mib * 1048576 / $1)) v conv=conv=notrunc
	[ "$create" = 1 ] && conv=
	fresh
	os_time /dev/null dd if=/dev/zero of="$data/f.dat" bs="$1" count=$n $conv || { fail "dd write failed"; return 1; }
	v=$(dd_rate) || { fail "no figure from dd write"; return 1; }
	rec "$1.w.dd" "$v"
	os_time /dev/null dd if="$data/f.dat" of=/dev/null bs="$1" || { fail "dd read failed"; return 1; }
	v=$(dd_rate) || { fail "no figure from dd read"; return 1; }
	rec "$1.r.dd" "$v"
}

run_fio() { # BS ENGINE
	local rw v out=$os_tmp/fio.json extra=()
	[ "$2" = io_uring ] && extra=(--iodepth=4)
	fresh
	for rw in write read; do
		os_time "$out" fio --name=skiff --filename="$data/f.dat" --rw=$rw --bs="$1" \
			--size="${mib}M" --ioengine="$2" "${extra[@]}" --output-format=json ||
			{ fail "fio $2 $rw failed"; os_tail "$out"; return 1; }
		v=$($py -c 'import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0][sys.argv[2]]
print("%.1f" % (j["bw_bytes"] / 1048576))' "$out" $rw) || { fail "no figure from fio $2 $rw"; return 1; }
		rec "$1.${rw:0:1}.fio-$2" "$v"
	done
}

echo "$os_name: $mib MiB sequential, one node vs the host's dd and fio;" \
	"$([ $create = 1 ] && echo "each write a new file" || echo "over one file in place"); $trials trial(s);" \
	"data in $dir; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
peers=(dd fio-psync fio-io_uring)
# The file every side writes over (in --create mode, each makes its own).
os_time /dev/null dd if=/dev/zero of="$data/f.dat" bs=1M count="$mib" || { fail "cannot make $data/f.dat"; exit 1; }
for trial in $(seq "$trials"); do
	for bs in 1048576 65536; do
		if [ $((trial % 2)) = 1 ]; then
			run_sk $bs; run_dd $bs; run_fio $bs psync; run_fio $bs io_uring
		else
			run_fio $bs io_uring; run_fio $bs psync; run_dd $bs; run_sk $bs
		fi
		# This trial's figures: the last of each list (make bench's
		# report pairs them by trial).
		for op in w r; do
			line="  trial $trial: bs $bs $op"
			for p in skiff "${peers[@]}"; do
				v=${vals[$bs.$op.$p]:-}
				v=${v% }
				line+=" $p ${v##* }"
			done
			[ -n "${vals[$bs.$op.skiff]:-}" ] && echo "$line MB/s"
		done
	done
done

printf '\n| request | op | Skiff MB/s | dd | fio psync | fio io_uring | vs best | 0.90 |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for bs in 1048576 65536; do
	for op in w r; do
		# shellcheck disable=SC2086 # lists of numbers
		sk=$(os_median ${vals[$bs.$op.skiff]:-}) || { fail "no Skiff figure for $bs $op"; continue; }
		best=0 cells=()
		for p in "${peers[@]}"; do
			# shellcheck disable=SC2086
			m=$(os_median ${vals[$bs.$op.$p]:-}) || m=0
			cells+=("$(os_fmt "$m" 0)")
			best=$(awk -v a="$m" -v b="$best" 'BEGIN{print (a > b) ? a : b}')
		done
		ratio=$(os_div "$sk" "$best")
		verdict=$(awk -v r="$ratio" 'BEGIN{print (r >= 0.90) ? "met" : "missed"}')
		printf '| %s | %s | %s | %s | %s | %s | %.2fx | %s |\n' \
			"$([ $bs = 65536 ] && echo 64 KiB || echo 1 MiB)" \
			"$([ $op = w ] && echo write || echo read)" \
			"$(os_fmt "$sk" 0)" "${cells[@]}" "$ratio" "$verdict"
	done
done
exit $failed
