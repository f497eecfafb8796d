#!/usr/bin/env bash
# compare-mpiio.sh - N ranks writing and reading their slices of one shared
# file: Skiff nodes through the host's file service against Open MPI's
# MPI-IO, both of its implementations, with the same N, file, sizes and
# page-cache state, in the same run (issue: "at least 1.0x MPI-IO, for
# both write and read").
#
#   skrun -n N --root DIR sk_file_shared TOTAL BS f.dat
#       each node writes its slice in order (sk_write at the position),
#       closes; then reads it back (sk_read)
#   skrun -n N --root DIR sk_file_shared -a TOTAL BS f.dat
#       the same from a buffer of sk_file_alloc's file memory, which
#       skrun's threads read into and write from with no copy on the node
#       (as an MPI program takes MPI_Alloc_mem's memory for RDMA): the
#       "Skiff, file mem" column
#   mpirun -n N --mca io ompio    mpi_file_bw TOTAL BS DIR/f.dat
#   mpirun -n N --mca io romio321 mpi_file_bw TOTAL BS DIR/f.dat
#       MPI_File_write_at_all / MPI_File_read_at_all, BS a call
# (perf/os/shared_io.h holds the pass both sides run.) Each time runs
# from a barrier before the open to a barrier after the close, on rank 0:
# every rank's bytes are in the file, in the page cache; neither side
# syncs. All sides write over one file of TOTAL MiB made before the
# trials, so all find the same page cache (compare-file-io.sh says why).
# DIR is /dev/shm where it has room, else TMPDIR; --dir overrides. With
# N > cores the ranks share them (mpirun --oversubscribe), on both sides.
# Trials are interleaved (Skiff first on odd trials, MPI-IO first on even
# ones); MB/s = TOTAL over the median time (MB = 2^20 bytes); "vs best" is
# each Skiff column over the faster MPI-IO's median; met is >= 1.00. No timing is
# asserted: the exit status says whether every run worked.
#
# Exit status: 0 every run succeeded, 1 a run failed, 2 usage.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-mpiio.sh [--trials T] [--mib M] [--bs-kib K]
                             [--ranks "1 4 16"] [--dir DIR] [--quick]
                             [--verbose] [--keep]

  --trials T     timed runs of each command (default 3)
  --mib M        the shared file's size (default 4096)
  --bs-kib K     each request (default 1024)
  --ranks LIST   the job sizes (default "1 4 16")
  --dir DIR      where the file goes (default /dev/shm, else TMPDIR)
  --quick        1 trial of 64 MiB at 1 and 4 ranks: a smoke test

Environment: BUILD (default build) picks the binaries (make perf-os);
MPIRUN (default mpirun) the launcher of the reference.
EOF_USAGE
}

trials=3
mib=4096
kib=1024
ranks="1 4 16"
dir=
os_verbose=0
os_keep=0
num() {
	if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [ "$2" -gt 1048576 ]; then
		echo "compare-mpiio.sh: bad $1: $2" >&2
		exit 2
	fi
}
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --mib | --bs-kib | --ranks | --dir)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		set -- "$1=$2" "${@:3}" ;;
	--trials=*) num --trials "${1#*=}"; trials=${1#*=}; shift ;;
	--mib=*) num --mib "${1#*=}"; mib=${1#*=}; shift ;;
	--bs-kib=*) num --bs-kib "${1#*=}"; kib=${1#*=}; shift ;;
	--ranks=*)
		ranks=${1#*=}
		for n in $ranks; do num --ranks "$n"; done
		[ -n "${ranks// /}" ] || { echo "compare-mpiio.sh: empty --ranks" >&2; exit 2; }
		shift ;;
	--dir=*) dir=${1#*=}; shift ;;
	--quick) trials=1 mib=64 ranks="1 4"; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

os_name=compare-mpiio.sh
# shellcheck source-path=SCRIPTDIR source=os/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/os/lib.sh"
os_setup sk_file_shared mpi_file_bw || exit 1
mpirun=${MPIRUN:-mpirun}
command -v "$mpirun" >/dev/null || { echo "$os_name: $mpirun missing (apt-get install openmpi-bin)" >&2; exit 1; }
if [ -z "$dir" ]; then
	dir=/dev/shm
	[ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR==2{print $4}')" -gt $((mib + 256)) ] ||
		dir=${TMPDIR:-/tmp}
fi
data=$(mktemp -d "$dir/skiff-mpiio.XXXXXX") || exit 1
trap 'rm -rf "$data"; os_cleanup' EXIT
mpi_root=()
[ "$(id -u)" = 0 ] && mpi_root=(--allow-run-as-root)

failed=0
fail() { echo "$os_name: $*" >&2; failed=1; }
declare -A vals

# take KEY OUT: the two times of a run's "ranks N bytes B write_s W
# read_s R" line, recorded under KEY.w and KEY.r.
take() {
	local w r
	read -r w r < <(awk '$1 == "ranks" && $5 == "write_s" { print $6, $8 }' "$2")
	[ -n "${r:-}" ] || { fail "$1: no figures"; os_tail "$2"; return 1; }
	vals[$1.w]+="$w "
	vals[$1.r]+="$r "
}

run_sk() { # N [-a]
	local out=$os_tmp/sk.out key=$1.skiff
	[ -n "${2:-}" ] && key=$1.skiff-mem
	os_time "$out" "$os_skrun" -n "$1" --root "$data" "$os_bin/sk_file_shared" ${2:+"$2"} "$mib" "$kib" f.dat ||
		{ fail "skrun -n $1 sk_file_shared ${2:-}failed"; os_tail "$out"; return 1; }
	take "$key" "$out"
}

run_mpi() { # N IO
	local out=$os_tmp/mpi.out
	os_time "$out" "$mpirun" "${mpi_root[@]}" --oversubscribe -n "$1" --mca io "$2" \
		"$os_bin/mpi_file_bw" "$mib" "$kib" "$data/f.dat" ||
		{ fail "mpirun -n $1 --mca io $2 mpi_file_bw failed"; os_tail "$out"; return 1; }
	take "$1.$2" "$out"
}

echo "$os_name: $mib MiB shared file, $kib KiB requests, ranks: $ranks; $trials trial(s);" \
	"data in $dir; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
os_time /dev/null dd if=/dev/zero of="$data/f.dat" bs=1M count="$mib" || { fail "cannot make $data/f.dat"; exit 1; }
for trial in $(seq "$trials"); do
	for n in $ranks; do
		if [ $((trial % 2)) = 1 ]; then
			run_sk "$n"; run_sk "$n" -a; run_mpi "$n" ompio; run_mpi "$n" romio321
		else
			run_mpi "$n" romio321; run_mpi "$n" ompio; run_sk "$n" -a; run_sk "$n"
		fi
		# This trial's seconds (make bench's report pairs them).
		for op in w r; do
			line="  trial $trial: ranks $n $op"
			for p in skiff skiff-mem ompio romio321; do
				v=${vals[$n.$p.$op]:-}
				v=${v% }
				line+=" $p ${v##* }"
			done
			[ -n "${vals[$n.skiff.$op]:-}" ] && echo "$line s"
		done
	done
done

mbs() { awk -v t="$1" -v m="$mib" 'BEGIN { if (t > 0) printf "%.0f", m / t; else print 0 }'; }
met() { awk -v r="$1" 'BEGIN{print (r >= 1.0) ? "met" : "missed"}'; }
printf '\n| ranks | op | Skiff MB/s | Skiff, file mem | OMPIO | ROMIO | vs best | 1.00 | file mem vs best | 1.00 |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for n in $ranks; do
	for op in w r; do
		# shellcheck disable=SC2086 # lists of numbers
		sk=$(os_median ${vals[$n.skiff.$op]:-}) || { fail "no Skiff figure for $n ranks, $op"; continue; }
		# shellcheck disable=SC2086
		skm=$(os_median ${vals[$n.skiff-mem.$op]:-}) || { fail "no Skiff file-memory figure for $n ranks, $op"; continue; }
		# shellcheck disable=SC2086
		om=$(os_median ${vals[$n.ompio.$op]:-}) || om=0
		# shellcheck disable=SC2086
		ro=$(os_median ${vals[$n.romio321.$op]:-}) || ro=0
		best=$(awk -v a="$(mbs "$om")" -v b="$(mbs "$ro")" 'BEGIN{print (a > b) ? a : b}')
		ratio=$(os_div "$(mbs "$sk")" "$best")
		ratiom=$(os_div "$(mbs "$skm")" "$best")
		printf '| %s | %s | %s | %s | %s | %s | %.2fx | %s | %.2fx | %s |\n' "$n" \
			"$([ $op = w ] && echo write || echo read)" \
			"$(mbs "$sk")" "$(mbs "$skm")" "$(mbs "$om")" "$(mbs "$ro")" \
			"$ratio" "$(met "$ratio")" "$ratiom" "$(met "$ratiom")"
	done
done
exit $failed
