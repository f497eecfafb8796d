#!/usr/bin/env bash
# compare-os-io.sh - what a node's console and file I/O through the host
# cost, next to the same bytes moved locally, in the same run, on this host.
#
# Console (the node's stdout is shipped to skrun over the fabric, a console
# message per line or per 16 KiB; skrun writes it to its own stdout):
#   skrun -n 1 sk_console_bw [-b 65536] MIB >/dev/null     Skiff
#   sk_console_bw [-b 65536] MIB | cat >/dev/null          the same program
#       run alone (plain stdio, not booted), through a pipe; to a pipe its
#       stdout is block-buffered (4 KiB writes)
#   stdbuf -oL sk_console_bw [-b 65536] MIB | cat >/dev/null   the same,
#       line-buffered as libos's stdout is (a write(2) per line)
#   cat FILE >/dev/null                                    a file of the
#       same bytes (the plain program's output), from the page cache
# in two variants: "lines", an fwrite per 100-byte line, and "64k", an
# fwrite per 64 KiB. Figures are MB/s over the wall time of the whole
# command (perf/os/walltime, CLOCK_MONOTONIC), so skrun's include its boot
# and teardown: the boot of a 1-node job (skrun -n 1 sk_hello) is measured
# in the same trials and printed under the table. The bytes are checked
# once per variant (an untimed run of each, compared with cmp).
#
# Files (skrun's file service: sk_write/sk_read of 1 MiB, moved by RDMA
# between the node's arena and skrun's registered buffer):
#   skrun -n 1 --root DIR sk_file_bw MIB F      sk_write MIB MiB, close,
#       sk_read it back, timed inside the node (open to close)
#   dd if=/dev/zero of=DIR/G bs=1M count=MIB    plain write, no sync
#   dd if=DIR/G of=/dev/null bs=1M              read back
# with dd's own timing. Nothing is synced or dropped: every write lands in
# the page cache and every read comes from it, on both sides. DIR is
# /dev/shm (tmpfs) where it has room, else TMPDIR; --dir overrides.
#
# MB = 2^20 bytes, as in the other perf tools. Ratio = Skiff / reference
# (higher is better; 1.00 = as fast as local), the median of the per-trial
# ratios; the MB/s columns are medians. No targets are set: the table
# informs, it does not judge.
#
# Exit status: 0 every run succeeded, 1 a run failed or its output was
# wrong, 2 usage.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-os-io.sh [--trials T] [--lines-mib M] [--block-mib M]
                             [--file-mib S] [--dir DIR] [--quick]
                             [--verbose] [--keep]

  --trials T       timed runs of each command; medians are reported
                   (default 3)
  --lines-mib M    MiB of 100-byte lines for the console test (default 16)
  --block-mib M    MiB in 64 KiB fwrites for the console test (default 512)
  --file-mib S     size of the file written and read back (default 256)
  --dir DIR        where the files go (default /dev/shm, else TMPDIR)
  --quick          1, 16 and 16 MiB: a smoke test, not a measurement
  --verbose        print every command as it is run
  --keep           keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries (make perf-os).
EOF_USAGE
}

trials=3
lines_mib=16
block_mib=512
file_mib=256
dir=
os_verbose=0
os_keep=0
num() {
	if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [ "$2" -gt 65536 ]; then
		echo "compare-os-io.sh: bad $1: $2" >&2
		exit 2
	fi
}
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --lines-mib | --block-mib | --file-mib | --dir)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		set -- "$1=$2" "${@:3}" ;;
	--trials=*) num --trials "${1#*=}"; trials=${1#*=}; shift ;;
	--lines-mib=*) num --lines-mib "${1#*=}"; lines_mib=${1#*=}; shift ;;
	--block-mib=*) num --block-mib "${1#*=}"; block_mib=${1#*=}; shift ;;
	--file-mib=*) num --file-mib "${1#*=}"; file_mib=${1#*=}; shift ;;
	--dir=*) dir=${1#*=}; shift ;;
	--quick) lines_mib=1 block_mib=16 file_mib=16; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-os-io.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

os_name=compare-os-io.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=os/lib.sh
. "$here/os/lib.sh"
os_setup sk_hello sk_console_bw sk_file_bw || exit 1
for t in dd cat cmp stdbuf; do
	command -v $t >/dev/null || { echo "compare-os-io.sh: $t missing" >&2; exit 1; }
done
export LC_ALL=C # dd's figures with a decimal point

# The data directory: tmpfs if it has room for the largest test twice.
need_mib=$(( (block_mib > file_mib ? block_mib : file_mib) * 2 + 64 ))
if [ -z "$dir" ]; then
	dir=${TMPDIR:-/tmp}
	if [ -d /dev/shm ] && [ -w /dev/shm ] &&
		[ "$(df -Pm /dev/shm | awk 'NR==2{print $4}')" -gt "$need_mib" ]; then
		dir=/dev/shm
	fi
fi
if ! [ -d "$dir" ] || ! [ -w "$dir" ]; then
	echo "compare-os-io.sh: $dir is not a writable directory" >&2
	exit 2
fi
data=$(mktemp -d "$dir/skiff-os-io.XXXXXX") || exit 1
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup_all() { rm -rf "$data"; os_cleanup; }
trap cleanup_all EXIT

failed=0
declare -A sk_vals ref_vals ratio_vals
boot_vals=

# bytes and seconds to MB/s (2^20)
mbs() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", (s > 0) ? b / 1048576 / s : 0}'; }

# shellcheck disable=SC2119 # os_tail's arguments are optional
fail() {
	echo "$os_name: $*" >&2
	os_tail
	failed=1
	return 1
}

# ---- console ----

# console VARIANT MIB ARGS...: the plain output once (the reference file),
# an untimed skrun run compared with it.
console_prepare() {
	local v=$1 mib=$2
	shift 2
	os_time "$data/$v.ref" "$os_bin/sk_console_bw" "$@" "$mib" ||
		{ fail "sk_console_bw $* $mib (alone) failed"; return 1; }
	os_time "$data/$v.sk" "$os_skrun" -n 1 "$os_bin/sk_console_bw" "$@" "$mib" ||
		{ fail "skrun -n 1 sk_console_bw $* $mib failed"; return 1; }
	if [ "$(stat -c %s "$data/$v.ref")" != $((mib << 20)) ] ||
		! cmp -s "$data/$v.ref" "$data/$v.sk"; then
		fail "skrun -n 1 sk_console_bw $* $mib: its output differs from the" \
			"program's alone ($(stat -c %s "$data/$v.sk") bytes, not $((mib << 20)))"
		return 1
	fi
	rm -f "$data/$v.sk"
}

# console_one KEY SIDE MIB ARGS...: one timed run; MB/s to got.
console_one() {
	local key=$1 side=$2 mib=$3 bytes
	shift 3
	bytes=$((mib << 20))
	got=
	case $side in
	sk) os_time /dev/null "$os_skrun" -n 1 "$os_bin/sk_console_bw" "$@" "$mib" ||
		{ fail "skrun -n 1 sk_console_bw $* $mib failed (trial $trial)"; return 1; } ;;
	pipe | pipel)
		local cmd
		cmd="$(printf '%q ' "$os_bin/sk_console_bw" "$@" "$mib")| cat >/dev/null"
		[ "$side" = pipel ] && cmd="stdbuf -oL $cmd"
		os_time /dev/null bash -c "set -o pipefail; $cmd" ||
			{ fail "$cmd failed (trial $trial)"; return 1; } ;;
	cat) os_time /dev/null cat "$data/$key.ref" ||
		{ fail "cat $data/$key.ref failed (trial $trial)"; return 1; } ;;
	esac
	got=$(awk -v b="$bytes" -v ms="$os_ms" 'BEGIN{printf "%.1f", b / 1048576 / (ms / 1000)}')
}

# ---- files ----

# file_sk MIB: one skrun sk_file_bw run; write and read MB/s to got_w, got_r.
file_sk() {
	local out=$os_tmp/file_bw.out line
	rm -f "$data/sk.dat"
	os_time "$out" "$os_skrun" -n 1 --root "$data" "$os_bin/sk_file_bw" "$1" sk.dat ||
		{ fail "skrun sk_file_bw $1 failed (trial $trial)"; tail -n 3 "$out" >&2; return 1; }
	line=$(grep '^write_bytes ' "$out") ||
		{ fail "sk_file_bw printed no figures (trial $trial)"; return 1; }
	read -r _ wb _ ws _ rb _ rs <<<"$line"
	got_w=$(mbs "$wb" "$ws")
	got_r=$(mbs "$rb" "$rs")
	rm -f "$data/sk.dat"
}

# dd's figures: "BYTES bytes (...) copied, SECONDS s, ..." on its stderr.
dd_rate() {
	awk '/ copied, /{for (i = 1; i < NF; i++) if ($i == "copied,") s = $(i+1); b = $1}
		END{if (s > 0) printf "%.1f", b / 1048576 / s; else exit 1}' "$os_tmp/last.err"
}

file_dd() {
	rm -f "$data/dd.dat"
	os_time /dev/null dd if=/dev/zero of="$data/dd.dat" bs=1M count="$1" ||
		{ fail "dd write failed (trial $trial)"; return 1; }
	got_w=$(dd_rate) || { fail "no figure from dd write"; return 1; }
	os_time /dev/null dd if="$data/dd.dat" of=/dev/null bs=1M ||
		{ fail "dd read failed (trial $trial)"; return 1; }
	got_r=$(dd_rate) || { fail "no figure from dd read"; return 1; }
	rm -f "$data/dd.dat"
}

# ---- the trials ----

# Rows: key|label|MiB|reference label
rows=(
	"lines.pipe|console lines|$lines_mib|alone | cat"
	"lines.pipel|console lines|$lines_mib|alone -oL | cat"
	"lines.cat|console lines|$lines_mib|cat file"
	"64k.pipe|console 64k|$block_mib|alone | cat"
	"64k.pipel|console 64k|$block_mib|alone -oL | cat"
	"64k.cat|console 64k|$block_mib|cat file"
	"file.w|file write|$file_mib|dd write"
	"file.r|file read|$file_mib|dd read"
)

# add KEY SKIFF REF: record one trial's pair.
add() {
	sk_vals[$1]+="$2 "
	ref_vals[$1]+="$3 "
	ratio_vals[$1]+="$(os_div "$2" "$3") "
}

echo "compare-os-io.sh: console and files through skrun vs local;" \
	"$trials trial(s); data in $dir; $(nproc) CPUs;" \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

console_prepare lines "$lines_mib" || exit 1
console_prepare 64k "$block_mib" -b 65536 || exit 1

for trial in $(seq "$trials"); do
	# Skiff first on odd trials, the references first on even ones.
	if os_time /dev/null "$os_skrun" -n 1 "$os_bin/sk_hello"; then
		boot_vals+="$os_ms "
	else
		fail "skrun -n 1 sk_hello failed (trial $trial)"
	fi
	for v in lines 64k; do
		if [ $v = lines ]; then mib=$lines_mib args=(); else mib=$block_mib args=(-b 65536); fi
		if [ $((trial % 2)) = 1 ]; then order="sk pipe pipel cat"; else order="pipe pipel cat sk"; fi
		s='' p='' l='' c=''
		for side in $order; do
			console_one "$v" "$side" "$mib" "${args[@]}" || continue
			case $side in sk) s=$got ;; pipe) p=$got ;; pipel) l=$got ;; cat) c=$got ;; esac
		done
		[ -n "$s" ] && [ -n "$p" ] && add "$v.pipe" "$s" "$p"
		[ -n "$s" ] && [ -n "$l" ] && add "$v.pipel" "$s" "$l"
		[ -n "$s" ] && [ -n "$c" ] && add "$v.cat" "$s" "$c"
		printf '  trial %d: console %-5s %5d MiB  skrun %8s  alone|cat %8s  -oL %8s  cat %8s MB/s\n' \
			"$trial" "$v" "$mib" "${s:-?}" "${p:-?}" "${l:-?}" "${c:-?}"
	done
	sw='' sr='' dw='' dr=''
	if [ $((trial % 2)) = 1 ]; then order="sk dd"; else order="dd sk"; fi
	for side in $order; do
		if [ "$side" = sk ]; then
			file_sk "$file_mib" && sw=$got_w sr=$got_r
		else
			file_dd "$file_mib" && dw=$got_w dr=$got_r
		fi
	done
	[ -n "$sw" ] && [ -n "$dw" ] && add file.w "$sw" "$dw"
	[ -n "$sr" ] && [ -n "$dr" ] && add file.r "$sr" "$dr"
	printf '  trial %d: file %5d MiB  sk_write %9s  dd %9s  sk_read %9s  dd %9s MB/s\n' \
		"$trial" "$file_mib" "${sw:-?}" "${dw:-?}" "${sr:-?}" "${dr:-?}"
done

echo
echo "Medians of $trials trial(s), MB/s (2^20 B/s); ratio: median over trials" \
	"of Skiff / reference (higher is better)"
printf '%-14s %6s %11s  %-16s %11s %7s\n' test MiB skiff_MB/s reference ref_MB/s ratio
for row in "${rows[@]}"; do
	IFS='|' read -r key label mib ref <<<"$row"
	# shellcheck disable=SC2086 # the values are words
	s=$(os_median ${sk_vals[$key]:-}) || s=
	# shellcheck disable=SC2086
	p=$(os_median ${ref_vals[$key]:-}) || p=
	# shellcheck disable=SC2086
	r=$(os_median ${ratio_vals[$key]:-}) || r=
	if [ -z "$s" ] || [ -z "$p" ] || [ -z "$r" ]; then
		printf '%-14s %6s %11s  %-16s %11s %7s\n' "$label" "$mib" "${s:-?}" \
			"$ref" "${p:-?}" "NO DATA"
		continue
	fi
	printf '%-14s %6s %11s  %-16s %11s %7s\n' "$label" "$mib" "$(os_fmt "$s" 1)" \
		"$ref" "$(os_fmt "$p" 1)" "$(os_fmt "$r" 3)"
done
# shellcheck disable=SC2086
b=$(os_median $boot_vals) || b='?'
echo "Console rows time whole commands: skrun's include a 1-node job's boot and" \
	"teardown, median $(os_fmt "$b" 1) ms (skrun -n 1 sk_hello)."
echo "File rows: sk_file_bw's own timing (open to close) and dd's; both in the" \
	"page cache of $dir, nothing synced."
[ $failed = 1 ] && exit 1
exit 0
