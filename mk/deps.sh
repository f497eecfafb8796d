#!/usr/bin/env bash
# Install the Debian packages Skiff needs, or say exactly what to run.
#
# Used by `make check` and `make demo`. As root it runs apt-get for what is
# missing; as anyone else it prints the apt-get line and fails. Set
# SKIFF_NO_INSTALL=1 to only check.
set -euo pipefail

# package            what needs it
PKGS=(
	build-essential    # gcc, make
	clang              # make CC=clang, libFuzzer targets
	libclang-rt-14-dev # sanitizer and fuzzer runtimes for clang
	pkg-config         # also tests/install (skiff.pc)
	groff-base         # tests/install renders the man pages
	libibverbs-dev     # verbs/rdma provider
	librdmacm-dev
	ibverbs-providers  # rxe (Soft-RoCE) user-space driver
	rdma-core
	ibverbs-utils      # ibv_devinfo (guest checks)
	libucx-dev         # verbs/ucx provider
	ucx-utils          # ucx_perftest, the ucx peer in perf/
	perftest           # ib_*_lat / ib_write_bw, the rdma peer in perf/
	libcmocka-dev      # tests
	qemu-system-x86    # Soft-RoCE guest for the rdma provider tests
	linux-image-amd64  # the guest's kernel (rdma_rxe module)
	busybox-static     # the guest's initramfs
	iproute2           # ip, rdma link add (in the guest)
	kmod               # modprobe (in the guest)
	libhwloc-dev       # skrun --bind-to core
	openmpi-bin        # mpirun, the peer of perf/compare-boot.sh
	libopenmpi-dev
	openssh-server     # the ssh launch path of skrun, tested on loopback
	openssh-client
	memcached          # tests/kv: the oracle of kv's memcached semantics
	libmemcached-tools # memcslap/memcstat, memcached's own clients in perf/;
	                   # memccapable and the tools against skcached
	python3            # tests/skcached, the demo's memcached client
	python3-pymemcache # a memcached client nobody here wrote (skcached)
	python3-memcache   # and another (python-memcached)
	libcache-memcached-fast-perl # and Perl's two (skcached's clients.sh)
	libcache-memcached-perl
	ruby               # and Ruby's Dalli (binary protocol), with its
	ruby-dalli         # interpreter, which ruby-dalli does not pull in
	php-cli            # and PHP's pecl memcache
	php-memcache
	slurmctld          # tests/slurm: a one-machine Slurm cluster, in which
	slurmd             # skrun starts its ranks with srun
	slurm-client
	munge
	gnuplot-nox        # perf/bench: the report's plots (make bench)
	fio                # perf/compare-file-io.sh: the file service's peer
	valgrind           # make check's memcheck step; callgrind in perf/
)

missing=()
for p in "${PKGS[@]}"; do
	# dpkg-query: "install ok installed" when present
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != \
	     "install ok installed" ]; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ] || [ "${SKIFF_NO_INSTALL:-0}" = 1 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: run as root:  apt-get update && $cmd" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
