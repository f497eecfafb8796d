#!/usr/bin/env bash
# The body of `make check`: every test suite, each as its own step, then one
# closing line "N passed, N failed" that CI reads.
#
#   unit        codec, configuration, option, file-service, loop, kv
#               semantics, kv store, kv wire decoders, kv owner,
#               linearizability-checker and skcached protocol tests
#               (cmocka); no call up a layer or cycle between files
#               (tests/tools/callcycles.py)
#   memcheck    the unit tests (but test_fileserv) under valgrind's
#               memcheck: uninitialised reads, definite leaks
#   kvtorn      the kv store's torn-read stress: 10^6 one-sided-style GETs
#               against a rewriting owner, and two broken owners that it
#               must catch (tests/kv/torn.sh)
#   ucx         the verbs conformance and rpc suites, ucx provider, real
#               processes
#   e2e         skrun + libos jobs end to end, ucx provider (tests/e2e)
#   install     the examples under skrun; make install into a scratch
#               prefix, the examples built out of the tree (skiffcc,
#               pkg-config, make, C++) and run under the installed skrun;
#               make uninstall (tests/install/out-of-tree.sh)
#   ssh         skrun's ssh launch path against an sshd on loopback
#   slurm       skrun inside Slurm: a one-machine cluster (munged,
#               slurmctld, slurmd in a scratch directory), jobs through
#               salloc and sbatch whose ranks are srun steps
#               (tests/slurm/jobs.sh)
#   kvsem       kv's memcached semantics against a private memcached 1.6,
#               byte for byte (tests/kv/memcached-diff.sh)
#   skcached    skcached jobs as a memcached user relies on them; memccapable,
#               pymemcache and libmemcached's tools against them; the
#               differential test against a real memcached
#               (tests/skcached/check.sh)
#   bench       the quick host-only bench (perf/bench/check.sh): its report's
#               shape (both sides or a reason per row, JSON, plots; no
#               timing asserted) and its parsers against bad input
#   fuzz        every libFuzzer target (blobs, hostfiles, host messages,
#               the rdma and ucx providers' own descriptor decoders, kv's
#               memcached parsers, the linearizability checker's histories,
#               kv's decoders of rpc messages, skcached's text, meta and
#               binary protocol parsers)
#   perfin      bad flags and garbage TCP exchanges to the perf tools;
#               skinfo's --help, -c checks, rdma reasons, UCX transports
#   asan/ubsan  unit + ucx conformance + a short e2e run, sanitizer builds
#   tsan        unit + ucx conformance, TSan build
#   faults      the fault walk: an rpc workload and a 2-node skrun job, each
#               run with its N-th fault point failing for every N, in every
#               process; ASan+LSan fault build (tests/faults/walk.sh)
#   rdma        conformance + arena + rpc + e2e + skcached with memcached
#               clients + a strided fault walk on Soft-RoCE, in one QEMU
#               guest boot
#   wire        a job across two hosts over real RDMA: two Soft-RoCE
#               guests on one virtual wire, skrun --host guest-a,guest-b
#               over ssh (tests/softroce/two-hosts.sh)
#
# SKIFF_CHECK_SKIP="asan rdma" leaves steps out (printed as skipped; CI
# never sets it). Logs go to $BUILD/check/<step>.log.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/check
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0
failures=()
declare -A status

step() {
	local name=$1
	shift
	if [[ " ${SKIFF_CHECK_SKIP:-} " == *" $name "* ]]; then
		printf '%-8s SKIPPED (SKIFF_CHECK_SKIP)\n' "$name"
		skipped=$((skipped + 1))
		return
	fi
	local t0=$SECONDS
	printf '%-8s ... ' "$name"
	if "$@" >"$LOGS/$name.log" 2>&1; then
		printf 'ok (%ds)\n' $((SECONDS - t0))
		passed=$((passed + 1))
	else
		status[$name]=$?
		printf 'FAILED (%ds), last lines of %s:\n' $((SECONDS - t0)) \
			"$LOGS/$name.log"
		tail -n 25 "$LOGS/$name.log" | sed 's/^/    | /'
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

# The cmocka unit tests: the unit step runs them all, memcheck all but
# test_fileserv (below). The slowest under valgrind first.
UNIT_TESTS=(test_lincheck test_store test_opts test_ring test_config
	test_loop test_slurm test_kv_owner test_fileq test_wire test_hostproto
	test_kv_wire test_mc_text test_mc_bin test_kv_loc test_rpc_wire
	test_sem test_fileserv)

unit() {
	local b=$1 t
	echo "== callcycles (who calls whom, from nm)"
	python3 tests/tools/callcycles.py "$b" || return 1
	for t in "${UNIT_TESTS[@]}"; do
		echo "== $t"
		"$b/tests/$t" || return 1
	done
}

conformance() {
	SKIFF_PROVIDER=ucx timeout 600 "$1/tests/test_conformance" &&
		echo "== conformance, the peer's memory from sk_mr_alloc" &&
		SK_TEST_PEER_MEM=alloc SKIFF_PROVIDER=ucx timeout 600 \
			"$1/tests/test_conformance" &&
		SKIFF_PROVIDER=ucx timeout 600 "$1/tests/test_arena" &&
		SKIFF_PROVIDER=ucx timeout 600 "$1/tests/test_rpc"
}

# par FN ITEM...: "FN ITEM OUTFILE" for every item, JOBS at a time (each
# a process on one core), then "== ITEM" and its output, in the list's
# order. Fails if any failed.
par() {
	local fn=$1 rc=0 tmp i n=0 jobs=${JOBS:-2}
	shift
	local -a items=("$@")
	tmp=$(mktemp -d)
	# The next starts when any one ends (wait -n), so a long one does not
	# hold a core idle behind it.
	for ((i = 0; i < ${#items[@]}; i++)); do
		if [ $n -ge "$jobs" ]; then
			wait -n || rc=1
			n=$((n - 1))
		fi
		"$fn" "${items[i]}" "$tmp/$i" &
		n=$((n + 1))
	done
	for ((; n > 0; n--)); do
		wait -n || rc=1
	done
	for ((i = 0; i < ${#items[@]}; i++)); do
		echo "== ${items[i]}"
		cat "$tmp/$i"
	done
	rm -rf "$tmp"
	return $rc
}

# One target for 5 s on a copy of its seeds; output to $2.
fuzz_one() {
	local t=${1#fuzz_} seeds corpus rc=0
	seeds=tests/fuzz/corpus_$t
	[ "$t" = blobs ] && seeds=tests/fuzz/corpus
	corpus=$(mktemp -d)
	cp "$seeds"/* "$corpus"/
	timeout 300 "build-fuzz/fuzz_$t" -max_total_time=5 \
		-print_final_stats=1 -artifact_prefix="$LOGS/" \
		"$corpus" >"$2" 2>&1 || rc=1
	rm -rf "$corpus"
	return $rc
}

fuzz() {
	par fuzz_one fuzz_blobs fuzz_hostfile fuzz_hostmsg fuzz_perf_hello \
		fuzz_rpc fuzz_ring fuzz_rdma_blobs fuzz_ucx_rkey fuzz_kvsem \
		fuzz_lincheck fuzz_kvread fuzz_owner fuzz_mc_text fuzz_mc_bin \
		fuzz_slurm fuzz_frames fuzz_hmap
}

# The unit tests under valgrind's memcheck: what ASan does not see (reads
# of memory never written), and leaks of definite kinds. Not
# test_fileserv: valgrind 3.19 does not know openat2(2), which the file
# service needs (it answers ENOSYS there); ASan runs it.
memcheck_one() {
	valgrind -q --error-exitcode=99 --leak-check=full \
		--show-leak-kinds=definite --errors-for-leak-kinds=definite \
		"$MEMCHECK_BUILD/tests/$1" >"$2" 2>&1
}

memcheck() {
	local t
	local -a ts=()
	for t in "${UNIT_TESTS[@]}"; do
		[ "$t" = test_fileserv ] || ts+=("$t")
	done
	MEMCHECK_BUILD=$1 par memcheck_one "${ts[@]}"
}

# Two shards side by side (E2E_JOBS): 53 s where one took 92.
e2e() {
	SKIFF_PROVIDER=ucx BUILD=$1 E2E_JOBS=${E2E_JOBS:-2} timeout 900 \
		tests/e2e/jobs.sh
}

# sanitized SAN: build with SANITIZER=SAN (one, or address,undefined: the
# two share a build and a run, as most projects' CI does), run the unit
# tests, conformance and (not for thread) the e2e jobs with it.
sanitized() {
	local san=$1 b=build-${1//,/-}
	make --no-print-directory -j"${JOBS:-2}" SANITIZER="$san" BUILD="$b" \
		all >/dev/null &&
		ASAN_OPTIONS=detect_leaks=1 unit "$b" &&
		conformance "$b" || return 1
	# skrun and real nodes built with the sanitizer; a short file test.
	# The crash test wants the node to die of its signal, not of the
	# sanitizer's report.
	if [ "$san" != thread ]; then
		ASAN_OPTIONS=detect_leaks=1:handle_segv=0 \
		UBSAN_OPTIONS=handle_segv=0 E2E_FILE_MB=8 e2e "$b"
	fi
}

env_sanitized() {
	local var=$1
	shift
	export "${var?}"
	sanitized "$@"
}

# Bad input to the tools: the perf programs, then skinfo.
perfin() {
	local rc=0
	BUILD=$1 tests/perf-bad-input.sh || rc=1
	BUILD=$1 tests/skinfo-checks.sh || rc=1
	return $rc
}

rdma() {
	timeout 1500 tests/softroce/guest-run --timeout 1400 --mem 3072 \
		--env SKIFF_PROVIDER=rdma --env SKIFF_DEVICE=rxe0 \
		--env BUILD="$BUILD" -- tests/softroce/rdma-suite.sh
}

step unit unit "$BUILD"
step memcheck memcheck "$BUILD"
step kvtorn env BUILD="$BUILD" tests/kv/torn.sh
step ucx conformance "$BUILD"
step e2e e2e "$BUILD"
step install env BUILD="$BUILD" tests/install/out-of-tree.sh
step ssh env BUILD="$BUILD" tests/launcher/ssh-loopback.sh
step slurm env BUILD="$BUILD" tests/slurm/jobs.sh
step kvsem env BUILD="$BUILD" tests/kv/memcached-diff.sh
step skcached env BUILD="$BUILD" tests/skcached/check.sh
step bench env BUILD="$BUILD" perf/bench/check.sh
step fuzz fuzz
step perfin perfin "$BUILD"
step asan-ubsan sanitized address,undefined
# UCX's memory-event hooks (UCM) and TSan's interceptors crash each other;
# Skiff does not use UCX's registration cache, so switch the hooks off.
step tsan env_sanitized UCX_MEM_EVENTS=no thread
step faults tests/faults/walk.sh
step rdma rdma
# Its benchmark once, to see that it runs; make bench takes three trials.
step wire env BUILD="$BUILD" TWO_HOSTS_TRIALS=1 tests/softroce/two-hosts.sh

# What failed, again at the very end: CI shows only the output's last lines.
digest() {
	grep -E '^(FAIL|not ok)[ :]|\[ +(FAILED|ERROR) +\]|passed, [1-9][0-9]* failed|^[a-z0-9-]+: failed|ERROR: [A-Za-z]+Sanitizer|runtime error:|==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param|.* definitely lost)' \
		"$LOGS/$1.log" | head -n 12 | sed "s/^/    $1| /"
	echo "    $1| exit status ${status[$1]}"
}

echo
if [ $failed -ne 0 ]; then
	for f in "${failures[@]}"; do
		digest "$f"
	done
	echo "failed steps: ${failures[*]} (logs in $LOGS/)"
fi
if [ $skipped -ne 0 ]; then
	echo "check: $passed passed, $failed failed, $skipped skipped"
else
	echo "check: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
