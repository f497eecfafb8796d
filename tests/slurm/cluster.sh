#!/usr/bin/env bash
# cluster.sh - a one-machine Slurm cluster for tests, from Debian's
# packages (slurmctld, slurmd, slurm-client, munge), in a scratch
# directory, on loopback, with no systemd and no system daemon touched.
#
#   tests/slurm/cluster.sh start DIR [CPUS]   bring it up; prints the line
#                                             to source: ". DIR/env"
#   tests/slurm/cluster.sh stop DIR           stop it, sweep, remove DIR
#   tests/slurm/cluster.sh check-deps         exit 0, or 125 naming what
#                                             is missing
#
# DIR must not exist (start makes it; its parents are searchable by all,
# as munged wants for its socket). One node, "localhost", with CPUS
# (default 32) CPUs claimed whatever the machine has, in partition
# "debug". The daemons run as root in their own sessions; their pids are
# kept in DIR/run. stop cancels every job, stops the daemons (SIGTERM,
# then SIGKILL after 3 s), then kills by pid what is left of the cluster:
# slurmstepd processes whose cwd is inside DIR, and any process whose
# environment holds this SLURM_CONF, with their descendants. It leaves
# nothing running and exits 0 when it had nothing to kill by force, 1
# when it did (named on stderr).
set -uo pipefail

prog=cluster.sh
die() { echo "$prog: $*" >&2; exit 1; }

usage() {
	sed -n 's/^#   tests\/slurm\//usage: /p' "$0" >&2
	exit 2
}

free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/free_port.py"; }

check_deps() {
	local missing=()
	for t in slurmctld slurmd srun salloc sbatch scontrol squeue scancel \
		sinfo munged mungekey munge unmunge; do
		command -v "$t" >/dev/null 2>&1 ||
			[ -x "/usr/sbin/$t" ] || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "$prog: missing ${missing[*]} (apt-get install slurmctld slurmd slurm-client munge)" >&2
		return 125
	fi
}

PATH=$PATH:/usr/sbin

start() {
	local d=$1 cpus=${2:-32} ctl_port d_port
	[ -e "$d" ] && die "$d exists"
	case $d in /*) ;; *) d=$PWD/$d ;; esac
	check_deps || exit 125
	mkdir -p "$d"/{etc,state,spool,log,run,munge,tmp} || die "mkdir $d"
	chmod 755 "$d" "$d/munge"
	# every parent of the munge socket must be searchable by all
	local p=$d
	while [ "$p" != / ]; do
		[ -x "$p" ] || die "$p is not searchable by all (munged needs it)"
		p=$(dirname "$p")
	done
	mungekey -c -f -k "$d/munge/munge.key" 2>"$d/log/mungekey.log" ||
		die "mungekey failed: $(cat "$d/log/mungekey.log")"
	ctl_port=$(free_port) && d_port=$(free_port) || die "no free port"
	cat >"$d/etc/slurm.conf" <<EOF
ClusterName=skiff
SlurmctldHost=localhost
SlurmctldPort=$ctl_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$d/munge/munge.socket
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
TmpFS=$d/tmp
SlurmctldPidFile=$d/run/slurmctld.pid
SlurmdPidFile=$d/run/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$d/log/jobcomp.txt
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=300
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
	echo "CgroupPlugin=cgroup/v1" >"$d/etc/cgroup.conf"
	cat >"$d/env" <<EOF
export SLURM_CONF=$d/etc/slurm.conf
export PATH=\$PATH:/usr/sbin
EOF
	export SLURM_CONF=$d/etc/slurm.conf
	setsid munged -F -f --socket="$d/munge/munge.socket" \
		--key-file="$d/munge/munge.key" --pid-file="$d/munge/munged.pid" \
		--seed-file="$d/munge/munged.seed" \
		--log-file="$d/log/munged.log" </dev/null >/dev/null 2>&1 &
	echo $! >"$d/run/munged.pid"
	for _ in $(seq 100); do
		[ -S "$d/munge/munge.socket" ] && break
		sleep 0.05
	done
	munge -S "$d/munge/munge.socket" -n 2>/dev/null |
		unmunge -S "$d/munge/munge.socket" >/dev/null 2>&1 ||
		{ stop "$d" >/dev/null 2>&1; die "munged did not start (see $d/log/munged.log)"; }
	setsid slurmctld -D </dev/null >"$d/log/slurmctld.out" 2>&1 &
	echo $! >"$d/run/slurmctld.dpid"
	for _ in $(seq 200); do
		scontrol ping 2>/dev/null | grep -q "is UP" && break
		sleep 0.05
	done
	scontrol ping 2>/dev/null | grep -q "is UP" ||
		{ tail -5 "$d/log/slurmctld.log" >&2; stop "$d" >/dev/null 2>&1; die "slurmctld did not come up"; }
	setsid slurmd -N localhost -D </dev/null >"$d/log/slurmd.out" 2>&1 &
	echo $! >"$d/run/slurmd.dpid"
	for _ in $(seq 200); do
		[ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ] && break
		sleep 0.05
	done
	[ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ] ||
		{ tail -5 "$d/log/slurmd.log" >&2; stop "$d" >/dev/null 2>&1; die "slurmd did not register"; }
	echo ". $d/env"
}

# Processes whose environment holds this SLURM_CONF or whose cwd is inside
# DIR (slurmstepd's), with all their descendants; never this script or
# its ancestors (the shell that sourced DIR/env and called stop).
cluster_pids() {
	local d=$1 pid seeds=() mine=" " p=$$
	while [ -n "$p" ] && [ "$p" -gt 1 ]; do
		mine+="$p "
		p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	done
	for e in /proc/[0-9]*; do
		pid=${e#/proc/}
		[[ $mine == *" $pid "* ]] && continue
		if tr '\0' '\n' 2>/dev/null <"$e/environ" |
			grep -qxF "SLURM_CONF=$d/etc/slurm.conf" ||
			[[ $(readlink "$e/cwd" 2>/dev/null) == "$d"/* ]]; then
			seeds+=("$pid")
		fi
	done
	[ ${#seeds[@]} -gt 0 ] || return 0
	# and their descendants, from the parent links
	ps -e -o pid=,ppid= | awk -v s="${seeds[*]}" -v m="$mine" -v self=$$ '
		BEGIN { n = split(s, a, " "); for (i = 1; i <= n; i++) keep[a[i]] = 1 }
		{ parent[$1] = $2 }
		END {
			do {
				grew = 0
				for (p in parent)
					if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; grew = 1 }
			} while (grew)
			for (p in keep) {
				# never us, our ancestors, or what we started
				# (the very tr and ps of this sweep)
				ours = 0
				for (q = p; q != "" && q > 1; q = parent[q])
					if (q == self) { ours = 1; break }
				if (!ours && index(m, " " p " ") == 0) print p
			}
		}'
}

stop() {
	local d=$1 forced=0 left
	case $d in /*) ;; *) d=$PWD/$d ;; esac
	[ -f "$d/etc/slurm.conf" ] || die "$d holds no cluster"
	export SLURM_CONF=$d/etc/slurm.conf
	scancel --partition=debug >/dev/null 2>&1
	for _ in $(seq 30); do
		[ -z "$(squeue -h 2>/dev/null)" ] && break
		sleep 0.1
	done
	for f in slurmd.dpid slurmctld.dpid munged.pid; do
		[ -f "$d/run/$f" ] && kill -TERM "$(cat "$d/run/$f")" 2>/dev/null
	done
	for _ in $(seq 30); do
		left=
		for f in slurmd.dpid slurmctld.dpid munged.pid; do
			[ -f "$d/run/$f" ] && kill -0 "$(cat "$d/run/$f")" 2>/dev/null && left=1
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for f in slurmd.dpid slurmctld.dpid munged.pid; do
		if [ -f "$d/run/$f" ] && kill -0 "$(cat "$d/run/$f")" 2>/dev/null; then
			echo "$prog: ${f%%.*} ignored SIGTERM for 3 s: SIGKILL" >&2
			kill -KILL "$(cat "$d/run/$f")" 2>/dev/null
			forced=1
		fi
	done
	left=$(cluster_pids "$d")
	if [ -n "$left" ]; then
		echo "$prog: left behind, killed: $(echo $left)" >&2
		ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" >&2 2>/dev/null
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		forced=1
	fi
	rm -rf "$d"
	return $forced
}

case ${1:-} in
start) [ $# -ge 2 ] && [ $# -le 3 ] || usage; start "$2" "${3:-}" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
check-deps) check_deps ;;
*) usage ;;
esac
