#!/usr/bin/env bash
# compare-slurm.sh - what a job costs to start and end inside a Slurm
# allocation (issue 14's benchmark): skrun of a Skiff hello against
# Open MPI's mpirun and against `srun --mpi=pmix` of an MPI hello, which
# is Slurm's own floor, all inside one allocation of one run.
#
#   skrun -n N build/perf/os/sk_hello            (one srun step per node)
#   mpirun -n N build/perf/os/mpi_hello          (mpirun's own launch)
#   srun --mpi=pmix -n N build/perf/os/mpi_hello
#
# The cluster is tests/slurm/cluster.sh's (munged, slurmctld and slurmd in
# a scratch directory, one node, "localhost"), brought up and torn down
# here. Two allocations, each holding every run of its table: a batch job
# (sbatch -n MAX), where skrun, as mpirun, forks the ranks of the node it
# runs on and would start those of other nodes with srun; and salloc -n
# MAX, run from this host, where each node's ranks are one srun step
# (its agent forks them). Wall time is the whole
# command (perf/os/walltime: CLOCK_MONOTONIC from before fork to after
# wait); the three sides are interleaved, who goes first rotating, and
# one untimed run of each warms the caches. Every run must exit 0 and
# print N distinct hello lines. Ratios: skrun / mpirun (target <= 0.5)
# and skrun / srun (target <= 1.5), medians of the per-trial ratios;
# after each table, every trial's three times ("  trial T: N=n ...").
#
# Exit status: 0 every target met, 1 a run failed, 2 usage, 4 a target
# missed.
set -uo pipefail

prog=compare-slurm.sh
usage() {
	cat <<'EOF'
usage: perf/compare-slurm.sh [--trials T] [--sizes "1 4 16"]

  --trials T    timed runs of each command per size (default 5)
  --sizes LIST  job sizes N (default "1 4 16"; at most 32)

Environment: BUILD (default build) picks skrun and perf/os (make perf-os).
Needs root, slurmctld, slurmd, slurm-client and munge, and Open MPI.
EOF
}

trials=5 sizes="1 4 16"
while [ $# -gt 0 ]; do
	case $1 in
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; trials=$2; shift 2 ;;
	--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$prog: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $trials =~ ^[1-9][0-9]*$ ]] || { echo "$prog: bad --trials: $trials" >&2; exit 2; }
max=0
for n in $sizes; do
	[[ $n =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 32 ] ||
		{ echo "$prog: bad size (1-32): $n" >&2; exit 2; }
	[ "$n" -gt "$max" ] && max=$n
done
[ "$max" -gt 0 ] || { echo "$prog: --sizes is empty" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
bin=$build/perf/os
for f in "$build/bin/skrun" "$bin/sk_hello" "$bin/mpi_hello" "$bin/walltime"; do
	[ -x "$f" ] || { echo "$prog: $f missing (make all perf-os)" >&2; exit 1; }
done
command -v mpirun >/dev/null || { echo "$prog: mpirun missing (apt-get install openmpi-bin)" >&2; exit 1; }
"$root/tests/slurm/cluster.sh" check-deps || exit 1

work=$(mktemp -d /tmp/skiff-cmp-slurm.XXXXXX)
chmod 755 "$work"
up=0
cleanup() {
	[ $up = 1 ] && "$root/tests/slurm/cluster.sh" stop "$work/cluster" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$root/tests/slurm/cluster.sh" start "$work/cluster" 32 >/dev/null || exit 1
up=1
# shellcheck disable=SC1091
. "$work/cluster/env"

# The runs, inside one allocation: a script salloc runs, which prints
# "side n trial ns" lines.
cat >"$work/inside.sh" <<'EOF'
#!/usr/bin/env bash
set -u
trials=$1 sizes=$2 build=$3 work=$4
bin=$build/perf/os
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmd() {
	case $1 in
	skrun) echo "$build/bin/skrun -n $2 $bin/sk_hello" ;;
	mpirun) echo "mpirun -n $2 $bin/mpi_hello" ;;
	srun) echo "srun --mpi=pmix -n $2 $bin/mpi_hello" ;;
	esac
}
sides=(skrun mpirun srun)
for n in $sizes; do
	for t in $(seq 0 "$trials"); do # trial 0 warms up
		for k in 0 1 2; do
			side=${sides[$(((t + k) % 3))]}
			# shellcheck disable=SC2046
			"$bin/walltime" -o "$work/ns" $(cmd "$side" "$n") \
				>"$work/out" 2>"$work/err" </dev/null
			rc=$?
			good=$(grep -c "^hello from rank [0-9]* of $n" "$work/out")
			distinct=$(grep -o "^hello from rank [0-9]* of $n" "$work/out" | sort -u | wc -l)
			if [ $rc -ne 0 ] || [ "$good" -ne "$n" ] || [ "$distinct" -ne "$n" ]; then
				echo "FAIL $side $n: exit $rc, $good hellos: $(head -c 300 "$work/err")"
				continue
			fi
			[ "$t" -gt 0 ] && echo "$side $n $t $(cat "$work/ns")"
		done
	done
done
EOF
chmod +x "$work/inside.sh"
echo "$prog: Slurm $(sinfo -V | cut -d' ' -f2), $(mpirun --version 2>/dev/null | head -1); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  a one-node cluster; $trials trial(s) per size, interleaved"
# table TITLE: the medians of the times and of the per-trial ratios.
table() {
echo
echo "$1"
awk -v sizes="$sizes" '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ ns[$1, $2, $3] = $4; trials[$2] = ($3 > trials[$2] ? $3 : trials[$2]) }
	END {
		printf "%4s %10s %10s %10s %12s %12s  %s\n", "N", "skrun ms", "mpirun ms", "srun ms", "skrun/mpirun", "skrun/srun", "result"
		miss = 0
		n = split(sizes, sz, " ")
		for (i = 1; i <= n; i++) {
			N = sz[i]; T = trials[N]
			for (t = 1; t <= T; t++) {
				s[t] = ns["skrun", N, t] / 1e6; m[t] = ns["mpirun", N, t] / 1e6; r[t] = ns["srun", N, t] / 1e6
				q1[t] = ns["skrun", N, t] / ns["mpirun", N, t]; q2[t] = ns["skrun", N, t] / ns["srun", N, t]
			}
			a = median(q1, T); b = median(q2, T)
			ok = a <= 0.5 && b <= 1.5
			if (!ok) miss = 1
			printf "%4d %10.0f %10.0f %10.0f %12.2f %12.2f  %s\n", N, median(s, T), median(m, T), median(r, T), a, b, ok ? "PASS" : "MISS"
		}
		# Each trial, for a spread (perf/bench/report.py).
		for (i = 1; i <= n; i++) {
			N = sz[i]
			for (t = 1; t <= trials[N]; t++)
				printf "  trial %d: N=%d skrun %.1f ms mpirun %.1f ms srun %.1f ms\n", t, N, ns["skrun", N, t] / 1e6, ns["mpirun", N, t] / 1e6, ns["srun", N, t] / 1e6
		}
		exit miss ? 4 : 0
	}' "$work/results"
}

status=0
mkdir -p "$work/b"
job=$(sbatch --parsable -n "$max" -o "$work/results" -e "$work/sbatch.err" \
	"$work/inside.sh" "$trials" "$sizes" "$build" "$work/b") || exit 1
while squeue -h -j "$job" -o %T 2>/dev/null | grep -q .; do sleep 0.5; done
if grep -q '^FAIL' "$work/results" || ! grep -q . "$work/results"; then
	grep '^FAIL' "$work/results" >&2
	echo "$prog: the batch job failed: $(head -c 300 "$work/sbatch.err")" >&2
	exit 1
fi
table "sbatch -n $max: skrun forks the ranks of its own node, as mpirun does" || status=4
salloc -Q -n "$max" "$work/inside.sh" "$trials" "$sizes" "$build" "$work" >"$work/results" 2>"$work/salloc.err"
rc=$?
if grep -q '^FAIL' "$work/results" || [ $rc -ne 0 ]; then
	grep '^FAIL' "$work/results" >&2
	[ $rc -ne 0 ] && echo "$prog: salloc exited $rc: $(head -c 300 "$work/salloc.err")" >&2
	exit 1
fi
table "salloc -n $max from this host: one srun step per node, its agent forks the ranks" || status=4
echo
echo "targets: skrun/mpirun <= 0.5, skrun/srun <= 1.5 (medians of per-trial ratios)"
exit $status
