#!/bin/sh
# gw-wrap.sh - the node program of perf/skcached/gateway-ir.sh's job: rank
# 0 (the gateway) runs $GW_IR_NODE under callgrind into $GW_IR_OUT, the
# other ranks run it as it is. It takes skcached-node's arguments as they
# are: a Skiff node reads the job's command line, whose first word is
# this script, so no argument of the wrapper's own may come before them.
: "${GW_IR_NODE:?set by gateway-ir.sh}"
if [ "${SKIFF_RANK:-}" = 0 ]; then
	exec valgrind --tool=callgrind "--callgrind-out-file=${GW_IR_OUT:?}" \
		"$GW_IR_NODE" "$@"
fi
exec "$GW_IR_NODE" "$@"
