#!/usr/bin/env bash
# clients.sh - memcached clients nobody here wrote, against a server at
# HOST:PORT (issue 13, "Proven with clients nobody here wrote"):
#   memccapable  libmemcached's protocol checker (Debian's name for
#                memcapable), text (-a) and binary (-b); its pass/fail
#                counts are printed
#   pymemcache   set/get with flags, cas, expiry, get_many across many
#                keys, delete, incr/decr (wrap and floor), touch, stats
#   python-memcached   another Python client (Debian python3-memcache):
#                its pickled values, multi-gets, cas, incr/decr, stats
#   Cache::Memcached::Fast and Cache::Memcached   Perl's two (Debian
#                libcache-memcached-fast-perl, libcache-memcached-perl):
#                the same, with gat, touch, UTF-8 and serialized values
#   Dalli        Ruby's (Debian ruby-dalli 3.0: the binary protocol):
#                the same, fetch, and stats
#   php-memcache PHP's pecl memcache (Debian php-memcache: its own C
#                client): the same, with PHP's serialized values
#   memccp, memccat, memcrm, memcstat, memcflush   files copied in and
#                read back byte-identical, text and binary protocol
#   memcaslap    libmemcached's load generator (Debian's name for
#                memaslap; its keys start with control bytes): 20,000
#                requests, 90/10 GET/SET, a tenth of the GETs verified,
#                text and binary; every GET must hit and none may fail
#
# Usage: tests/skcached/clients.sh [--provider NAME] HOST:PORT
#        tests/skcached/clients.sh [--provider NAME] --start 'COMMAND ... {port} ...'
# --start runs the command with a free port in place of {port}, waits for
# it to listen, and stops its whole process group at the end.
# --provider fails the run unless skcached's `stats skiff` names NAME as
# its fabric provider (the rdma step uses it to show the clients ran over
# rdma-core).
# The server is flushed (memccapable and memcflush do so): never point
# this at a cache whose contents matter.
# Exit status: 0 every client passed, 1 a failure (named on stderr),
# 2 usage or no server.
set -uo pipefail

prog=clients.sh
usage() {
	sed -n 's/^# Usage: tests\/skcached\//usage: /p; s/^#        tests\/skcached\//       /p' "$0" >&2
	exit 2
}
die() { echo "$prog: $*" >&2; exit 2; }

want_provider=
if [ "${1:-}" = --provider ]; then
	[ $# -ge 2 ] || usage
	want_provider=$2
	shift 2
fi
[ $# -ge 1 ] || usage
srv_pid=
tmp=$(mktemp -d "${TMPDIR:-/tmp}/skcached-clients.XXXXXX") || die "mktemp failed"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill -TERM -- "-$srv_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$srv_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for t in memccapable memccp memccat memcrm memcstat memcflush memcaslap; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install libmemcached-tools)"
done
# pymemcache is a Debian package: the system python has it even where
# another python3 comes first on PATH
py=
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null && "$p" -c 'import pymemcache' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || die "no python3 with pymemcache (apt-get install python3-pymemcache)"
"$py" -c 'import memcache' 2>/dev/null ||
	die "no python3 with memcache (apt-get install python3-memcache)"
perl -MCache::Memcached::Fast -MCache::Memcached -e 1 2>/dev/null ||
	die "no Perl memcached clients (apt-get install libcache-memcached-fast-perl libcache-memcached-perl)"
ruby -rdalli -e 1 2>/dev/null ||
	die "no Ruby with Dalli (apt-get install ruby ruby-dalli)"
php -r 'exit(class_exists("Memcache") ? 0 : 1);' 2>/dev/null ||
	die "no PHP with memcache (apt-get install php-cli php-memcache)"

free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/../lib/free_port.py"; }
# listening HOST PORT: true once a TCP connect succeeds
listening() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

case $1 in
--start)
	[ $# -eq 2 ] || usage
	port=$(free_port) || die "no free port"
	cmd=${2//\{port\}/$port}
	host=127.0.0.1
	# its own process group (set -m), so that every process it starts
	# is stopped with it
	set -m
	# shellcheck disable=SC2086 # the command line is split on purpose
	$cmd </dev/null >"$tmp/server.log" 2>&1 &
	srv_pid=$!
	set +m
	for _ in $(seq 300); do
		listening "$host" "$port" && break
		kill -0 "$srv_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; die "'$cmd' exited before listening"; }
		sleep 0.1
	done
	listening "$host" "$port" || die "'$cmd' does not listen on port $port after 30 s"
	;;
-h | --help) usage ;;
*)
	[ $# -eq 1 ] || usage
	[[ $1 =~ ^(.+):([0-9]+)$ ]] || die "bad address '$1' (HOST:PORT)"
	host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
	listening "$host" "$port" || die "nothing listens on $host:$port"
	;;
esac
srv=$host:$port
echo "$prog: clients against $srv"
if [ -n "$want_provider" ]; then
	fabric=$("$py" - "$host" "$port" <<'EOF'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"stats skiff\r\n")
buf = b""
while not buf.endswith(b"END\r\n") and not buf.endswith(b"ERROR\r\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
stat = dict(l.split(" ", 2)[1:] for l in buf.decode().splitlines()
            if l.startswith("STAT ") and l.count(" ") >= 2)
print(" ".join("%s=%s" % (k, stat.get(k, "?"))
               for k in ("provider", "device", "transport")))
EOF
	) || die "stats skiff failed"
	echo "$prog: the server's fabric: $fabric"
	[[ " $fabric " == *" provider=$want_provider "* ]] ||
		die "the server's provider is not $want_provider"
fi

failed=()
fail() {
	echo "$prog: FAIL: $*" >&2
	failed+=("$1")
}

# ---- memccapable, text and binary ---------------------------------------
for proto in a b; do
	name=text
	[ $proto = b ] && name=binary
	out=$tmp/memcapable.$proto
	timeout 300 memccapable -h "$host" -p "$port" -t 10 -$proto >"$out" 2>&1
	rc=$?
	pass=$(grep -c '\[pass\]$' "$out")
	nfail=$(grep -c '\[FAIL\]$' "$out")
	skip=$(grep -c '\[skip\]$' "$out")
	total=$(grep -c '\[[A-Za-z]*\]$' "$out")
	echo "memccapable -$proto ($name): $pass passed, $nfail failed, $skip skipped, of $total (exit $rc)"
	if [ $rc -ne 0 ] || [ "$nfail" -ne 0 ] || [ "$pass" -eq 0 ]; then
		grep -v '\[pass\]$' "$out" | sed 's/^/    /' >&2
		fail "memccapable -$proto" "$nfail of $total tests failed, exit $rc"
	fi
done

# ---- pymemcache ------------------------------------------------------------
if "$py" - "$host" "$port" >"$tmp/pymemcache" 2>&1 <<'EOF'; then
import sys
import time
from pymemcache.client.base import Client

host, port = sys.argv[1], int(sys.argv[2])
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        print("pymemcache: %s: got %.120r, want %.120r" % (what, got, want))
        sys.exit(1)


class Serde:
    """bytes stored as they are, the flags chosen by the test"""
    flags = 0

    def serialize(self, key, value):
        return value, Serde.flags

    def deserialize(self, key, value, flags):
        return (value, flags)


c = Client((host, port), serde=Serde(), connect_timeout=10, timeout=10,
           default_noreply=False)
c.flush_all()

# set/get with flags, values of every byte
for flags in (0, 1, 0xffff, 0xffffffff):
    Serde.flags = flags
    v = bytes(range(256)) * 3 + b"%d" % flags
    check("set flags %d" % flags, c.set("pf:%d" % flags, v), True)
for flags in (0, 1, 0xffff, 0xffffffff):
    v = bytes(range(256)) * 3 + b"%d" % flags
    check("get flags %d" % flags, c.get("pf:%d" % flags), (v, flags))
Serde.flags = 0
big = bytes((i * 7) & 0xff for i in range(500000))
check("set 500 KB", c.set("pbig", big), True)
check("get 500 KB", c.get("pbig"), (big, 0))
check("get missing", c.get("pmissing"), None)
check("add existing", c.add("pf:0", b"x"), False)
check("add new", c.add("padd", b"x"), True)
check("replace missing", c.replace("pmissing", b"x"), False)
check("replace", c.replace("padd", b"y"), True)
check("append", c.append("padd", b"z"), True)
check("prepend", c.prepend("padd", b"w"), True)
check("after append/prepend", c.get("padd"), (b"wyz", 0))

# cas
c.set("pcas", b"one")
v, tok = c.gets("pcas")
check("gets", v, (b"one", 0))
check("cas with the token", c.cas("pcas", b"two", tok), True)
check("cas with the old token", c.cas("pcas", b"three", tok), False)
check("value after cas", c.get("pcas"), (b"two", 0))
v, tok2 = c.gets("pcas")
check("new token after cas", tok2 != tok, True)
check("cas on a missing key", c.cas("pcasmissing", b"x", tok2), None)

# expiry: an hour ahead stays, a negative time is gone at once, a second
# passes in real time (memcached's clock is whole seconds: gone within 3 s)
check("set expire 3600", c.set("pexp:h", b"h", expire=3600), True)
check("get expire 3600", c.get("pexp:h"), (b"h", 0))
c.set("pexp:neg", b"n", expire=-1)
check("get expire -1", c.get("pexp:neg"), None)
c.set("pexp:2", b"s", expire=2)
check("get expire 2 at once", c.get("pexp:2"), (b"s", 0))
deadline = time.time() + 10
while c.get("pexp:2") is not None and time.time() < deadline:
    time.sleep(0.25)
check("get expire 2, later", c.get("pexp:2"), None)

# touch (pymemcache 3.5 has no gat: diff.py sends gat and gats)
c.set("ptouch", b"t")
check("touch", c.touch("ptouch", 3600), True)
check("touch missing", c.touch("ptouchmissing", 3600), False)
check("get after touch", c.get("ptouch"), (b"t", 0))
check("touch -1", c.touch("ptouch", -1), True)
check("get after touch -1", c.get("ptouch"), None)

# get_many across many keys (and so every node)
keys = ["pmany:%d" % i for i in range(400)]
for i, k in enumerate(keys):
    c.set(k, b"value %d" % i, noreply=(i % 2 == 0))
got = c.get_many(keys + ["pmany:missing"])
check("get_many count", len(got), len(keys))
for i, k in enumerate(keys):
    check("get_many " + k, got.get(k), (b"value %d" % i, 0))
got = c.gets_many(keys[:50])
check("gets_many count", len(got), 50)

# delete
check("delete", c.delete("pmany:0", noreply=False), True)
check("get after delete", c.get("pmany:0"), None)
check("delete again", c.delete("pmany:0", noreply=False), False)
check("delete_many", c.delete_many(keys[1:100]), True)
check("get_many after delete_many", len(c.get_many(keys[:100])), 0)

# incr/decr: numbers, wrap at 2^64, floor at 0, missing, non-numeric
c.set("pnum", b"10")
check("incr", c.incr("pnum", 5), 15)
check("decr", c.decr("pnum", 3), 12)
check("decr floor", c.decr("pnum", 100), 0)
c.set("pnum", b"18446744073709551615")
check("incr wrap", c.incr("pnum", 1), 0)
check("incr missing", c.incr("pnummissing", 1), None)
check("decr missing", c.decr("pnummissing", 1), None)
c.set("pnum", b"abc")
try:
    c.incr("pnum", 1)
    check("incr non-numeric raises", False, True)
except Exception as e:
    check("incr non-numeric error", "non-numeric" in str(e), True)

# stats and version answer
st = c.stats()
check("stats has curr_items", b"curr_items" in st, True)
check("version answers", len(c.version()) > 0, True)
c.close()
print("pymemcache: %d checks passed" % checks)
EOF
	tail -n 1 "$tmp/pymemcache"
else
	sed 's/^/    /' "$tmp/pymemcache" >&2
	fail pymemcache "$(tail -n 1 "$tmp/pymemcache")"
fi

# ---- python-memcached -------------------------------------------------------
# What memcached 1.6.18 answered to the same calls, checked by hand.
if "$py" - "$host" "$port" >"$tmp/pymc" 2>&1 <<'EOF'; then
import sys
import memcache

mc = memcache.Client(["%s:%s" % (sys.argv[1], sys.argv[2])])
checks = 0


def check(what, got, want):
    global checks
    checks += 1
    if got != want:
        print("python-memcached: %s: got %.120r, want %.120r" %
              (what, got, want))
        sys.exit(1)


check("set", mc.set("pm:k1", "v1"), True)
check("get", mc.get("pm:k1"), "v1")
check("add of a present key", mc.add("pm:k1", "x"), False)
check("replace", mc.replace("pm:k1", "v2"), True)
check("append", mc.append("pm:k1", "a"), True)
check("prepend", mc.prepend("pm:k1", "p"), True)
check("get after both", mc.get("pm:k1"), "pv2a")
check("set an int", mc.set("pm:n", 10), True)
check("incr", mc.incr("pm:n", 5), 15)
check("decr stops at 0", mc.decr("pm:n", 20), 0)
check("set_multi of pickled values",
      mc.set_multi({"pm:a": 1, "pm:b": [1, 2], "pm:c": {"x": "y"}}), [])
check("get_multi", mc.get_multi(["pm:a", "pm:b", "pm:c", "pm:zz"]),
      {"pm:a": 1, "pm:b": [1, 2], "pm:c": {"x": "y"}})
check("gets", mc.gets("pm:k1"), "pv2a")
check("cas with its token", mc.cas("pm:k1", "v3"), True)
check("get after cas", mc.get("pm:k1"), "v3")
check("delete", mc.delete("pm:k1"), 1)
check("get after delete", mc.get("pm:k1"), None)
check("touch", mc.touch("pm:a", 100), 1)
check("a 500 kB value", mc.set("pm:big", "x" * 500000), True)
check("read back", len(mc.get("pm:big") or ""), 500000)
check("a UTF-8 key", mc.set("pm:\u00e9", "utf"), True)
check("read back by it", mc.get("pm:\u00e9"), "utf")
st = mc.get_stats()
check("stats of one server", len(st), 1)
check("stats names", all(k in st[0][1] for k in ("curr_items", "get_hits",
                                                 "cmd_get")), True)
print("python-memcached: %d checks passed" % checks)
EOF
	tail -n 1 "$tmp/pymc"
else
	sed 's/^/    /' "$tmp/pymc" >&2
	fail python-memcached "$(tail -n 1 "$tmp/pymc")"
fi

# ---- Perl: Cache::Memcached::Fast and Cache::Memcached ----------------------
# Two more clients nobody here wrote (Debian libcache-memcached-fast-perl,
# a C implementation of the protocol, and libcache-memcached-perl, the
# original pure-Perl one). What memcached 1.6.18 answered to the same
# calls, checked by running this against it.
if perl - "$host:$port" >"$tmp/perl" 2>&1 <<'EOF'; then
use strict;
use warnings;
use Cache::Memcached::Fast;
use Cache::Memcached;

my $addr = shift;
my $checks = 0;
sub check {
	my ($what, $got, $want) = @_;
	$checks++;
	$got = 'undef' unless defined $got;
	$want = 'undef' unless defined $want;
	return if $got eq $want;
	print "perl: $what: got '" . substr($got, 0, 120) . "', want '$want'\n";
	exit 1;
}

my $f = Cache::Memcached::Fast->new({servers => [$addr], utf8 => 1,
					     max_size => 2 << 20});
check('fast: set', $f->set('pl:a', 'alpha'), 1);
check('fast: get', $f->get('pl:a'), 'alpha');
check('fast: add of a present key', $f->add('pl:a', 'x'), '');
check('fast: add', $f->add('pl:b', 'beta', 100), 1);
check('fast: replace', $f->replace('pl:b', 'BETA'), 1);
check('fast: replace of an absent key', $f->replace('pl:zz', 'x'), '');
check('fast: append', $f->append('pl:a', '-end'), 1);
check('fast: prepend', $f->prepend('pl:a', 'start-'), 1);
check('fast: get after both', $f->get('pl:a'), 'start-alpha-end');
check('fast: append to an absent key', $f->append('pl:nope', 'x'), '');
check('fast: incr of an absent key', $f->incr('pl:n'), '');
check('fast: set a number', $f->set('pl:n', 10), 1);
check('fast: incr', $f->incr('pl:n', 5), 15);
check('fast: decr stops at 0', $f->decr('pl:n', 20), '0E0');
check('fast: incr of a non-number', $f->incr('pl:a', 1), undef);
my $g = $f->gets('pl:b');
check('fast: gets', $g ? $g->[1] : undef, 'BETA');
check('fast: cas with its token', $f->cas('pl:b', $g->[0], 'cas-1'), 1);
check('fast: cas with a stale token', $f->cas('pl:b', $g->[0], 'cas-2'), '');
check('fast: get after cas', $f->get('pl:b'), 'cas-1');
check('fast: touch', $f->touch('pl:b', 50), 1);
check('fast: touch of an absent key', $f->touch('pl:nokey', 50), '');
check('fast: gat', scalar($f->gat(60, 'pl:b')), 'cas-1');
my %many = map { ("pl:k$_" => "v$_") } 1 .. 200;
my $set = $f->set_multi(map { [$_, $many{$_}] } keys %many);
check('fast: set_multi', scalar(grep { $_ } values %$set), 200);
my $got = $f->get_multi(keys %many, 'pl:missing1', 'pl:missing2');
check('fast: get_multi', scalar(keys %$got), 200);
check('fast: get_multi values',
      scalar(grep { $got->{$_} eq $many{$_} } keys %$got), 200);
check('fast: delete', $f->delete('pl:a'), 1);
check('fast: delete again', $f->delete('pl:a'), '');
check('fast: a 500 kB value', $f->set('pl:big', 'x' x 500000), 1);
check('fast: read back', length($f->get('pl:big') // ''), 500000);
check('fast: past -I', scalar($f->set('pl:toobig', 'x' x 1100000)), undef);
check('fast: a UTF-8 key and value', $f->set("pl:\x{43a}", "\x{2603}"), 1);
check('fast: read back by it', $f->get("pl:\x{43a}"), "\x{2603}");
check('fast: a Perl structure', $f->set('pl:ref', {a => [1, 2, 3]}), 1);
my $r = $f->get('pl:ref');
check('fast: read back', $r ? join(':', @{$r->{a}}) : undef, '1:2:3');
check('fast: an expired set', $f->set('pl:e', 'gone', -1), 1);
check('fast: is gone', $f->get('pl:e'), undef);
check('fast: version', scalar(keys %{$f->server_versions}), 1);

my $c = Cache::Memcached->new({servers => [$addr]});
check('pure: set', $c->set('pl:p', 'perl'), 1);
check('pure: get', $c->get('pl:p'), 'perl');
check('pure: add of a present key', $c->add('pl:p', 'x'), '');
check('pure: replace', $c->replace('pl:p', 'PERL'), 1);
check('pure: incr of an absent key', $c->incr('pl:cnt'), undef);
$c->set('pl:cnt', 1);
check('pure: incr', $c->incr('pl:cnt', 41), 42);
check('pure: decr stops at 0', $c->decr('pl:cnt', 50), 0);
check('pure: append', $c->append('pl:p', '!'), 1);
check('pure: prepend', $c->prepend('pl:p', '>'), 1);
my $m = $c->get_multi('pl:p', 'pl:cnt', 'pl:none');
check('pure: get_multi',
      join(',', map { $m->{$_} // 'undef' } qw(pl:p pl:cnt pl:none)),
      '>PERL!,0 ,undef');
check('pure: delete', $c->delete('pl:p'), 1);
check('pure: delete again', $c->delete('pl:p'), '');
check('pure: a Perl structure', $c->set('pl:r', [1, {x => 2}]), 1);
my $rr = $c->get('pl:r');
check('pure: read back', $rr ? $rr->[1]{x} : undef, 2);
check('pure: a 300 kB value', $c->set('pl:big2', 'y' x 300000), 1);
check('pure: read back', length($c->get('pl:big2') // ''), 300000);
my $st = $c->stats(['misc'])->{hosts}{$addr}{misc};
check('pure: stats', join(',', map { exists $st->{$_} ? 1 : 0 }
	qw(pid uptime curr_items cmd_get get_hits rusage_user rusage_system)),
      '1,1,1,1,1,1,1');
print "perl: $checks checks passed\n";
EOF
	tail -n 1 "$tmp/perl"
else
	sed 's/^/    /' "$tmp/perl" >&2
	fail perl "$(tail -n 1 "$tmp/perl")"
fi

# ---- Ruby: Dalli (binary protocol) ------------------------------------------
# A Ruby client nobody here wrote (Debian ruby-dalli 3.0, which speaks the
# binary protocol). What memcached 1.6.18 answered to the same calls,
# checked by running this against it; CAS values aside (Dalli 3.0 reads
# them byte-swapped from either server).
if ruby - "$host:$port" >"$tmp/dalli" 2>&1 <<'EOF'; then
require 'dalli'
addr = ARGV[0]
$checks = 0
def check(what, got, want)
  $checks += 1
  return if got == want
  puts "dalli: #{what}: got #{got.inspect[0, 120]}, want #{want.inspect}"
  exit 1
end
d = Dalli::Client.new(addr, serializer: Marshal, compress: false,
                            socket_timeout: 5)
check 'set', d.set('rb:a', 'alpha').is_a?(Integer), true
check 'get', d.get('rb:a'), 'alpha'
check 'add of a present key', d.add('rb:a', 'x'), false
check 'add', d.add('rb:b', 'beta', 100).is_a?(Integer), true
check 'replace', d.replace('rb:b', 'BETA').is_a?(Integer), true
check 'replace of an absent key', d.replace('rb:zz', 'x'), 0
d.set('rb:r', 'raw', 0, raw: true)
check 'append', d.append('rb:r', '-end'), true
check 'prepend', d.prepend('rb:r', 'start-'), true
check 'get after both', d.get('rb:r', raw: true), 'start-raw-end'
check 'append to an absent key', d.append('rb:nope', 'x'), false
check 'incr of an absent key', d.incr('rb:n', 1), nil
check 'incr with an initial value', d.incr('rb:n2', 1, nil, 7), 7
check 'incr', d.incr('rb:n2', 5), 12
check 'decr stops at 0', d.decr('rb:n2', 100), 0
check 'the counter as text', d.get('rb:n2', raw: true), '0 '
check 'cas', d.cas('rb:b') { |v| v + '!' }.is_a?(Integer), true
check 'get after cas', d.get('rb:b'), 'BETA!'
check 'cas of an absent key', d.cas('rb:nokey') { |_| 'x' }, nil
check 'touch', d.touch('rb:b', 50), true
check 'touch of an absent key', d.touch('rb:nokey', 50), nil
check 'gat', d.gat('rb:b', 60), 'BETA!'
many = (1..300).map { |i| ["rb:k#{i}", "v#{i}"] }.to_h
many.each { |k, v| d.set(k, v) }
check 'get_multi', d.get_multi(*many.keys, 'rb:miss1', 'rb:miss2'), many
check 'delete', d.delete('rb:a'), true
check 'delete again', d.delete('rb:a'), nil
check 'a 500 kB value', d.set('rb:big', 'x' * 500_000).is_a?(Integer), true
check 'read back', (d.get('rb:big') || '').size, 500_000
check 'a UTF-8 key and value', d.set('rb:ключ', 'значение ☃').is_a?(Integer), true
check 'read back by it', d.get('rb:ключ'), 'значение ☃'
check 'a Ruby structure', d.set('rb:obj', {a: [1, 2, 3]}).is_a?(Integer), true
check 'read back', d.get('rb:obj'), {a: [1, 2, 3]}
check 'fetch computes', d.fetch('rb:f', 30) { 'computed' }, 'computed'
check 'fetch finds', d.fetch('rb:f') { 'not this' }, 'computed'
st = d.stats[addr] || {}
check 'stats', %w[pid uptime curr_items cmd_get get_hits rusage_user
                  rusage_system].map { |k| st.key?(k) }, [true] * 7
check 'version', d.version[addr], '1.6.18'
d.close
puts "dalli: #{$checks} checks passed"
EOF
	tail -n 1 "$tmp/dalli"
else
	sed 's/^/    /' "$tmp/dalli" >&2
	fail dalli "$(tail -n 1 "$tmp/dalli")"
fi

# ---- PHP: pecl memcache -----------------------------------------------------
# PHP's own client (Debian php-memcache 4.0: the text protocol, in C, not
# libmemcached). What memcached 1.6.18 answered to the same calls,
# checked by running this against it.
if php -d display_errors=stderr -d error_reporting=0 -- "$host:$port" \
	>"$tmp/php" 2>&1 <<'EOF'; then
<?php
$addr = explode(':', $argv[1]);
$checks = 0;
function check($what, $got, $want) {
	global $checks;
	$checks++;
	if ($got === $want)
		return;
	echo "php-memcache: $what: got ", substr(var_export($got, true), 0, 120),
	     ", want ", var_export($want, true), "\n";
	exit(1);
}
$m = new Memcache();
check('connect', $m->connect($addr[0], (int)$addr[1]), true);
check('set', $m->set('php:a', 'alpha'), true);
check('get', $m->get('php:a'), 'alpha');
check('add of a present key', $m->add('php:a', 'x'), false);
check('add', $m->add('php:b', 'beta', 0, 100), true);
check('replace', $m->replace('php:b', 'BETA'), true);
check('replace of an absent key', $m->replace('php:zz', 'x'), false);
check('append', $m->append('php:a', '-end'), true);
check('prepend', $m->prepend('php:a', 'start-'), true);
check('get after both', $m->get('php:a'), 'start-alpha-end');
check('append to an absent key', $m->append('php:nope', 'x'), false);
check('incr of an absent key', $m->increment('php:n', 1), false);
check('set a number', $m->set('php:n', 10), true);
check('incr', $m->increment('php:n', 5), 15);
check('decr stops at 0', $m->decrement('php:n', 20), 0);
check('get the counter', $m->get('php:n'), 0);
check('incr of a non-number', $m->increment('php:a', 1), false);
$f = null;
$c = null;
check('get with its cas', $m->get('php:b', $f, $c), 'BETA');
check('cas with its token', $m->cas('php:b', 'cas-1', 0, 0, $c), true);
check('cas with a stale token', $m->cas('php:b', 'cas-2', 0, 0, $c), false);
check('get after cas', $m->get('php:b'), 'cas-1');
check('an array', $m->set('php:arr', ['x' => [1, 2]]), true);
check('read back', $m->get('php:arr'), ['x' => [1, 2]]);
check('an int', $m->set('php:int', 42), true);
check('read back', $m->get('php:int'), 42);
check('a float', $m->set('php:flt', 1.5), true);
check('read back', $m->get('php:flt'), 1.5);
$keys = [];
for ($i = 0; $i < 200; $i++) {
	$m->set("php:k$i", "v$i");
	$keys[] = "php:k$i";
}
$keys[] = 'php:missing';
$got = $m->get($keys);
check('a 201-key get', [count($got), $got['php:k7'], $got['php:k199']],
      [200, 'v7', 'v199']);
check('delete', $m->delete('php:a'), true);
check('delete again', $m->delete('php:a'), false);
check('a 500 kB value', $m->set('php:big', str_repeat('x', 500000)), true);
check('read back', strlen($m->get('php:big')), 500000);
check('a UTF-8 key and value', $m->set('php:ключ', 'значение ☃'), true);
check('read back by it', $m->get('php:ключ'), 'значение ☃');
check('an expired set', $m->set('php:e', 'gone', 0, -1), true);
check('is gone', $m->get('php:e'), false);
$st = $m->getStats();
check('stats', array_map(function ($k) use ($st) { return isset($st[$k]); },
	['pid', 'uptime', 'curr_items', 'cmd_get', 'get_hits', 'rusage_user',
	 'rusage_system']), array_fill(0, 7, true));
check('stats items', is_array($m->getStats('items')), true);
check('stats slabs', is_array($m->getStats('slabs')), true);
check('version', $m->getVersion(), '1.6.18');
check('close', $m->close(), true);
echo "php-memcache: $checks checks passed\n";
EOF
	tail -n 1 "$tmp/php"
else
	sed 's/^/    /' "$tmp/php" >&2
	fail php-memcache "$(tail -n 1 "$tmp/php")"
fi

# ---- libmemcached's tools --------------------------------------------------
# files of several sizes (empty, one byte, 1 KiB, 100 KiB, 900 KiB: under
# memcached's 1 MB item) copied in, read back, compared byte for byte;
# with the text protocol and again with the binary one
tools_ok=0 tools_n=0
tcheck() { # WHAT CMD... : run, count, report
	local what=$1
	shift
	tools_n=$((tools_n + 1))
	if "$@" >"$tmp/tool.out" 2>&1; then
		tools_ok=$((tools_ok + 1))
	else
		sed 's/^/    /' "$tmp/tool.out" >&2
		fail "$what" "'$*' failed"
	fi
}
mkdir -p "$tmp/in" "$tmp/out"
sizes=(0 1 1024 102400 921600)
for s in "${sizes[@]}"; do
	head -c "$s" /dev/urandom >"$tmp/in/file$s.bin"
done
for proto in text binary; do
	b=()
	[ $proto = binary ] && b=(-b)
	tcheck "memcflush ($proto)" memcflush "${b[@]}" -s "$srv"
	for s in "${sizes[@]}"; do
		f=file$s.bin
		tcheck "memccp $f ($proto)" memccp "${b[@]}" -s "$srv" -F $((s + 7)) -e 0 "$tmp/in/$f"
	done
	for s in "${sizes[@]}"; do
		f=file$s.bin
		rm -f "$tmp/out/$f"
		tcheck "memccat $f ($proto)" memccat "${b[@]}" -s "$srv" -f "$tmp/out/$f" "$f"
		tcheck "$f read back byte-identical ($proto)" cmp "$tmp/in/$f" "$tmp/out/$f"
		flags=$(memccat "${b[@]}" -s "$srv" -F "$f" 2>/dev/null | head -n 1)
		tcheck "$f flags read back ($proto)" test "$flags" = $((s + 7))
	done
	tcheck "memcrm file1.bin ($proto)" memcrm "${b[@]}" -s "$srv" file1.bin
	tcheck "memccat after memcrm fails ($proto)" \
		sh -c '! memccat "$@" >/dev/null 2>&1' sh "${b[@]}" -s "$srv" file1.bin
	tcheck "memcrm of a missing key fails ($proto)" \
		sh -c '! memcrm "$@" >/dev/null 2>&1' sh "${b[@]}" -s "$srv" file1.bin
	tcheck "memcstat ($proto)" sh -c 'memcstat "$@" | grep -q "curr_items: [0-9]"' sh "${b[@]}" -s "$srv"
	# stats items and stats slabs, the groups memcached-tool reads.
	tcheck "memcstat --args=items ($proto)" \
		sh -c 'memcstat "$@" --args=items | grep -q "items:[0-9]*:number: [1-9]"' sh "${b[@]}" -s "$srv"
	tcheck "memcstat --args=slabs ($proto)" \
		sh -c 'memcstat "$@" --args=slabs | grep -q "total_malloced: [1-9]"' sh "${b[@]}" -s "$srv"
	# memcdump lists the keys by stats cachedump, text only. memcached
	# lists only its cold LRU's keys, which a new item reaches later;
	# skcached (which answers stats skiff) every key, so there
	# file1024.bin must be listed.
	if [ $proto = text ]; then
		memcdump -s "$srv" >"$tmp/memcdump" 2>&1
		tcheck "memcdump exits 0" test $? -eq 0
		if memcstat -s "$srv" --args=skiff >/dev/null 2>&1; then
			tcheck "memcdump lists file1024.bin" \
				grep -qx file1024.bin "$tmp/memcdump"
		fi
	fi
	tcheck "memcflush ($proto)" memcflush "${b[@]}" -s "$srv"
	tcheck "memccat after memcflush fails ($proto)" \
		sh -c '! memccat "$@" >/dev/null 2>&1' sh "${b[@]}" -s "$srv" file1024.bin
done
echo "libmemcached tools: $tools_ok of $tools_n checks passed"

# ---- memcaslap (memaslap), text and binary ------------------------------
# slap_field NAME: the figure memcaslap printed as "NAME: N" in $out
slap_field() { sed -n "s/^$1: //p" "$out"; }
for proto in text binary; do
	b=()
	[ $proto = binary ] && b=(-B)
	out=$tmp/memaslap.$proto
	timeout 120 memcaslap -s "$srv" -x 20000 -c 4 -T 1 --verify=0.1 "${b[@]}" \
		>"$out" 2>&1
	rc=$?
	echo "memcaslap ($proto): exit $rc, cmd_get $(slap_field cmd_get), cmd_set $(slap_field cmd_set), get_misses $(slap_field get_misses), verify_failed $(slap_field verify_failed)"
	# its errors are lines of "<fd ANSWER"
	if [ $rc -ne 0 ] || [ "$(slap_field cmd_get)" != 18000 ] ||
		[ "$(slap_field cmd_set)" != 2000 ] || [ "$(slap_field get_misses)" != 0 ] ||
		[ "$(slap_field verify_misses)" != 0 ] || [ "$(slap_field verify_failed)" != 0 ] ||
		grep -q '^<' "$out"; then
		sed 's/^/    /' "$out" | head -20 >&2
		fail "memcaslap ($proto)" "exit $rc"
	fi
done

# ---- memcached-tool (the memcached package's), display ----------------
# It reads stats items and stats slabs and prints a row per class with a
# page; before skcached answered those it waited for an END forever.
mtool=/usr/share/memcached/scripts/memcached-tool
if [ -f "$mtool" ]; then
	out=$tmp/memcached-tool
	timeout 30 perl "$mtool" "$srv" display >"$out" 2>&1
	rc=$?
	rows=$(grep -cE '^ *[0-9]+ +[0-9.]+[BK] ' "$out")
	echo "memcached-tool display: exit $rc, $rows class rows"
	if [ $rc -ne 0 ] || [ "$rows" -lt 1 ]; then
		sed 's/^/    /' "$out" | head -20 >&2
		fail "memcached-tool display" "exit $rc, $rows rows"
	fi
else
	fail "memcached-tool display" "$mtool not found (apt-get install memcached)"
fi

# ---- memcached-tool keys and dump -------------------------------------------
# Both walk `lru_crawler metadump all`, reading lines until END (before
# skcached answered it they waited forever on its ERROR); dump then gets
# every key and prints it as an add command with its flags and expiry.
if [ -f "$mtool" ]; then
	if "$py" - "$host" "$port" "$mtool" >"$tmp/mtool" 2>&1 <<'EOF'; then
import re
import socket
import subprocess
import sys
import time

host, port, mtool = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((host, port))
for i in range(50):
    v = b"value %d" % i
    c.sendall(b"set mt:%d %d %d %d\r\n%s\r\n" %
              (i, i, 3600 if i == 7 else 0, len(v), v))
    got = b""
    while not got.endswith(b"\r\n"):
        got += c.recv(100)
    if got != b"STORED\r\n":
        sys.exit("memcached-tool: set mt:%d: %r" % (i, got))
srv = "%s:%d" % (host, port)
keys = subprocess.run(["perl", mtool, srv, "keys"], capture_output=True,
                      timeout=60)
exp = {}
for line in keys.stdout.decode("latin-1").splitlines():
    m = re.match(r"key=mt%3A(\d+) exp=(-?\d+) ", line)
    if m:
        exp[int(m.group(1))] = int(m.group(2))
if keys.returncode != 0 or sorted(exp) != list(range(50)) or \
        not exp[7] > time.time() or exp[8] != -1:
    sys.exit("memcached-tool keys: exit %d, keys %r" %
             (keys.returncode, sorted(exp)[:60]))
dump = subprocess.run(["perl", mtool, srv, "dump"], capture_output=True,
                      timeout=60)
adds = dict((int(m.group(1)), m.groups()[1:]) for m in re.finditer(
    rb"^add mt:(\d+) (\d+) (\d+) (\d+)\r\n(.*?)\r\n", dump.stdout, re.M))
want = dict((i, (b"%d" % i, b"%d" % exp[7] if i == 7 else b"0",
                 b"%d" % len(b"value %d" % i), b"value %d" % i))
            for i in range(50))
if dump.returncode != 0 or adds != want:
    sys.exit("memcached-tool dump: exit %d, %d of 50 adds" %
             (dump.returncode, sum(adds.get(i) == want[i] for i in want)))
print("memcached-tool keys and dump: 50 keys, 50 adds with their flags, "
      "values and expiry")
EOF
		tail -n 1 "$tmp/mtool"
	else
		sed 's/^/    /' "$tmp/mtool" >&2
		fail "memcached-tool keys and dump" "$(tail -n 1 "$tmp/mtool")"
	fi
fi

if [ ${#failed[@]} -ne 0 ]; then
	echo "$prog: FAILED: ${#failed[@]} check(s), listed above" >&2
	exit 1
fi
echo "$prog: OK"
exit 0
