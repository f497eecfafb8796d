#!/usr/bin/env bash
# skinfo, for real: --help; each layer's SKIFF_* variables declared in
# that layer's table (or a lower one's) and read there; `skinfo -c` refusing every SKIFF_* value that
# the code reading it would refuse, and nothing else (the bounds are read
# out of the sk_config_ulong calls in the sources, so no layer's table,
# <layer>/config.c, can drift from them, and a table skinfo does not link
# shows as a refusal missing); why there is no rdma device; the
# UCX transports really in use, beside `ucx_info -d`'s view of them.
# Output: a line per failure, then "skinfo: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
SKINFO=$BUILD/bin/skinfo
passes=0 fails=0
OUT=$(mktemp) ERR=$(mktemp)
trap 'rm -f "$OUT" "$ERR"' EXIT

# Start from no SKIFF_* setting at all.
for v in $(env | sed -n 's/^\(SKIFF_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done

ok() { passes=$((passes + 1)); }
bad() {
	echo "FAIL: $*"
	sed 's/^/    | /' "$OUT" | tail -5
	sed 's/^/    ! /' "$ERR" | tail -5
	fails=$((fails + 1))
}

# sk WANT_RC DESCRIPTION -- COMMAND...: run it, check its exit status.
sk() {
	local want=$1 what=$2
	shift 3
	timeout 60 "$@" >"$OUT" 2>"$ERR" </dev/null
	local rc=$?
	if [ "$rc" = "$want" ]; then ok; else bad "$what: exit $rc, want $want"; fi
	return 0
}

# ---- --help ----
for h in --help -h; do
	sk 0 "skinfo $h" -- "$SKINFO" $h
	grep -q '^usage: skinfo' "$OUT" || bad "skinfo $h: no usage on stdout"
done
sk 2 "skinfo --no-such-flag" -- "$SKINFO" --no-such-flag
grep -q '^usage: skinfo' "$ERR" || bad "bad flag: no usage on stderr"

# ---- each layer's settings live in that layer ----
# A name read in a layer is declared in its table or a lower layer's; a
# name declared in a layer's table is read in that layer.
declared() { grep -hoE '^[[:space:]]*\{"SKIFF_[A-Z0-9_]+"' "$@" | tr -dc 'A-Z0-9_\n'; }
read_in() {
	grep -rhoE 'sk_config_(str|ulong)\("SKIFF_[A-Z0-9_]+"' "$1" --include='*.c' |
		sed -E 's/.*"(SKIFF_[A-Z0-9_]+)"/\1/' | sort -u
}
verbs_tabs="verbs/config.c verbs/rdma/config.c verbs/ucx/config.c"
for layer in verbs libos rpc launcher kv; do
	case $layer in
	verbs) below="$verbs_tabs" own="$verbs_tabs" ;;
	libos) below="$verbs_tabs libos/config.c" own=libos/config.c ;;
	rpc) below="$verbs_tabs libos/config.c rpc/config.c" own=rpc/config.c ;;
	launcher) below="$verbs_tabs libos/config.c launcher/config.c"
		own=launcher/config.c ;;
	kv) below="$verbs_tabs libos/config.c rpc/config.c kv/config.c"
		own=kv/config.c ;;
	esac
	for f in $own; do [ -f "$f" ] || bad "$layer: no table $f"; done
	for name in $(read_in $layer); do
		declared $below | grep -qx "$name" && ok ||
			bad "$layer reads $name, which neither it nor a layer below declares"
	done
	for name in $(declared $own); do
		read_in $layer | grep -qx "$name" && ok ||
			bad "$layer declares $name, which nothing in $layer reads"
	done
done

# ---- skinfo -c: what an open would refuse ----
sk 0 "skinfo -c, nothing set" -- "$SKINFO" -c
grep -q '^SKIFF_ARENA_MB=16$' "$OUT" || bad "skinfo -c: no SKIFF_ARENA_MB line"

# refused NAME=VALUE: exit 3 and the variable named on stderr.
refused() {
	sk 3 "skinfo -c with $1" -- env "$1" "$SKINFO" -c
	grep -q "${1%%=*}" "$ERR" || bad "skinfo -c with $1: variable not named"
}
accepted() { sk 0 "skinfo -c with $1" -- env "$1" "$SKINFO" -c; }

# Every sk_config_ulong call with literal bounds, at them and past them.
calls=$(grep -rhoE 'sk_config_ulong\("SKIFF_[A-Z0-9_]+", *[0-9][0-9ul <]*, *[0-9][0-9ul <]*,' \
	verbs libos rpc launcher kv --include='*.c' |
	sed -E 's/sk_config_ulong\("([A-Z0-9_]+)", *([^,]*), *([^,]*),/\1 \2 \3/' | sort -u)
[ "$(echo "$calls" | grep -c .)" -ge 15 ] || bad "found only $(echo "$calls" | grep -c .) sk_config_ulong calls"
while read -r name lo hi; do
	lo=$((${lo//ul/})) hi=$((${hi//ul/}))
	accepted "$name=$lo"
	accepted "$name=$hi"
	refused "$name=$((hi + 1))"
	[ "$lo" -gt 0 ] && refused "$name=$((lo - 1))"
	refused "$name=abc"
	refused "$name=-1"
	refused "$name="
done <<<"$calls"

# The words and shapes beyond numbers.
refused SKIFF_ARENA_MB=abc
refused SKIFF_ARENA_MB=16x
accepted SKIFF_ARENA_MB=0x10
accepted SKIFF_ARENA_MB=1k
refused SKIFF_PROVIDER=verbs
refused SKIFF_PROVIDER=
accepted SKIFF_PROVIDER=rdma
accepted SKIFF_RDMA_MTU=auto
accepted SKIFF_RDMA_MTU=1024
refused SKIFF_RDMA_MTU=1000
accepted SKIFF_RDMA_GID_INDEX=auto
accepted SKIFF_RDMA_GID_INDEX=3
refused SKIFF_RDMA_GID_INDEX=first
refused SKIFF_UCX_RING_KB=48
accepted SKIFF_UCX_RING_KB=64
refused SKIFF_KV_PARTITIONS=96
accepted SKIFF_KV_PARTITIONS=1
accepted SKIFF_KV_PART_KB=4k
accepted SKIFF_KV_GET=rpc
accepted SKIFF_KV_GET=onesided
accepted SKIFF_KV_GET=read
refused SKIFF_KV_GET=RPC
refused SKIFF_KV_GET=
# Several at once: each named, one summary.
sk 3 "skinfo -c with two bad" -- env SKIFF_SQ_DEPTH=1 SKIFF_LOOP_SPIN_US=x "$SKINFO" -c
grep -q SKIFF_SQ_DEPTH "$ERR" && grep -q SKIFF_LOOP_SPIN_US "$ERR" &&
	grep -q "2 SKIFF_\* values above would be refused" "$ERR" ||
	bad "two bad values: not both named"
# And what -c refuses, the open does refuse.
sk 1 "ucx open with SKIFF_UCX_RING_KB=48" -- env SKIFF_UCX_RING_KB=48 "$SKINFO" -p ucx
grep -q "open: *failed" "$OUT" || bad "the open did not fail as -c said"

# ---- why no rdma device ----
timeout 60 "$SKINFO" -p rdma >"$OUT" 2>"$ERR"
if grep -q '(no devices)' "$OUT"; then
	if [ ! -d /sys/class/infiniband ]; then
		grep -q "why: no kernel support: /sys/class/infiniband does not exist" "$OUT"
	elif [ -z "$(ls -A /sys/class/infiniband)" ]; then
		grep -q "why: no verbs devices: /sys/class/infiniband is empty" "$OUT"
	else
		grep -q "why: the kernel has " "$OUT"
	fi && ok || bad "skinfo -p rdma: no reason for no device"
else
	# Devices: an unusable one says why; a usable one needs no reason.
	if grep -q 'usable: *no' "$OUT"; then
		grep -q 'why: *port ' "$OUT" && ok || bad "unusable rdma device: no reason"
	fi
fi

# ---- UCX transports in use, with their limits ----
sk 0 "skinfo -p ucx, UCX_TLS=tcp" -- env UCX_TLS=tcp "$SKINFO" -p ucx
grep -q 'transports in use (UCX_TLS=tcp): [1-9]' "$OUT" &&
	grep -q '^[[:space:]]*tcp/lo$' "$OUT" && ! grep -q 'sysv/' "$OUT" ||
	bad "UCX_TLS=tcp: not tcp alone"
sk 0 "skinfo -p ucx" -- "$SKINFO" -p ucx
cp "$OUT" "$OUT.all"
if command -v ucx_info >/dev/null; then
	ucx_info -d >"$OUT.ref" 2>/dev/null
	# Each transport skinfo lists, ucx_info lists, with the same
	# am_short limit (a number UCT fixes, unlike the measured ones).
	while read -r tldev; do
		tl=${tldev%%/*} dev=${tldev#*/}
		ref=$(awk -v tl="$tl" -v dev="$dev" '
			/Transport:/ { t = $3 } /Device:/ { d = $3 }
			/am_short:/ && t == tl && d == dev { print $4; exit }' "$OUT.ref")
		got=$(awk -v h="$tldev" '
			$1 == h { on = 1; next } /^[[:space:]]*[a-z0-9_]+\/[^ ]+$/ { on = 0 }
			on && $1 == "am:" { for (i = 2; i < NF; i++) if ($i == "short") print $(i + 2) }' \
			"$OUT.all")
		grep -q "Transport: $tl\$" "$OUT.ref" ||
			bad "skinfo lists $tldev, ucx_info -d has no $tl"
		[ "$ref" = "$got" ] && ok ||
			bad "$tldev: am short <= '$got', ucx_info -d says '$ref'"
	done < <(sed -n 's/^[[:space:]]*\([a-z0-9_]*\/[^ ]*\)$/\1/p' "$OUT.all")
fi
rm -f "$OUT.all" "$OUT.ref"

echo "skinfo: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
