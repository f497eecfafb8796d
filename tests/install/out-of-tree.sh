#!/usr/bin/env bash
# out-of-tree.sh - Skiff as a user gets it: make install into a scratch
# prefix, then build the examples outside the tree and run them under the
# installed skrun; last, make uninstall. The install step of make check.
#
#   1. the examples as make built them (build/examples), under build/bin/skrun
#   2. make install PREFIX=<scratch>: exactly the expected files; every
#      header compiles on its own, as C and as C++; the version agrees
#      between skinfo, pkg-config, skiffcc and the programs built
#   3. skiffcc's --showme family, -c, SKIFF_CC, skiffc++, bad options
#   4. the examples built five ways, each run by tests/examples/check.sh
#      under the installed skrun:
#        skiffcc (shared, by -c then link)   skiffcc -noshlib (static)
#        pkg-config + cc (shared)            make + skiff-app.mk (static)
#        C++: hello.c as C++ with skiffc++
#      and tests/install/headers.cc (every header, from C++) with
#      skiffc++, SKIFF_CC=g++ skiffcc -noshlib, and g++ + pkg-config
#   5. DESTDIR staging, refused prefixes, make uninstall
#
# Output: one "ok"/"FAIL" line per check, then "install: N passed, N
# failed"; exit status 1 if any failed.
#
#   BUILD   build directory (default build), already built by make
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}

T=$(mktemp -d /tmp/skiff-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
P=$T/prefix # the scratch prefix
W=$T/build  # out-of-tree builds
mkdir -p "$P" "$W"

# ok, fail and summary from the suites' frame; a failure shows $T/log.
OUT=$T/log ERR=/dev/null
: >"$OUT"
# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. tests/lib/checks.sh
# try NAME CMD...: CMD's output goes to $T/log; ok if it succeeds.
try() {
	local name=$1
	shift
	if "$@" >"$T/log" 2>&1; then
		ok "$name"
	else
		fail "$name" "exit status $?"
	fi
}
# same NAME GOT WANT
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		: >"$T/log"
		fail "$1" "got '$2', want '$3'"
	fi
}
mk() { make --no-print-directory -s BUILD="$BUILD" "$@"; }

# The version, from the one place it is set.
V=$(sed -n 's/^#define SKIFF_VERSION_\(MAJOR\|MINOR\|PATCH\) *//p' \
	verbs/include/skiff/version.h | paste -sd.)
mapfile -t EXAMPLES < <(for f in examples/*.c; do
	f=${f##*/}
	echo "${f%.c}"
done)
echo "Skiff $V, examples: ${EXAMPLES[*]}"

# examples NAME SKRUN DIR: tests/examples/check.sh on the examples in DIR
# under SKRUN, its lines shown.
examples() {
	if tests/examples/check.sh "$2" "$3" "$V" >"$T/log" 2>&1; then
		sed 's/^/     /' "$T/log"
		ok "$1"
	else
		fail "$1" "see above"
	fi
}

# ---- 1. the examples as make built them ----
examples "examples in $BUILD/examples under $BUILD/bin/skrun" \
	"$BUILD/bin/skrun" "$BUILD/examples"

# ---- 2. install ----
try "make install PREFIX=<scratch>" mk install PREFIX="$P"

expect_files() {
	local l x
	for x in skcached skcached-node skiffc++ skiffcc skinfo skrun; do
		echo "bin/$x"
	done
	for x in arena config file kv kv_res loop os rpc status verbs version; do
		echo "include/skiff/$x.h"
	done
	for l in kv os rpc verbs; do
		for x in a so "so.${V%%.*}" "so.$V"; do
			echo "lib/libskiff_$l.$x"
		done
	done
	echo lib/pkgconfig/skiff.pc
	for x in skcached skiffc++ skiffcc skinfo skrun; do
		echo "share/man/man1/$x.1"
	done
	for x in "${EXAMPLES[@]}"; do echo "share/skiff/examples/$x.c"; done
	[ -f examples/README.md ] && echo share/skiff/examples/README.md
	echo share/skiff/skiff-app.mk
}
(cd "$P" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort) \
	>"$T/got"
expect_files | LC_ALL=C sort >"$T/want"
if diff -u "$T/want" "$T/got" >"$T/log"; then
	ok "installed files: exactly the expected $(wc -l <"$T/want")"
else
	fail "installed files" "differ from the expected list"
fi

# include/skiff/ in the tree is the public API, nothing more: every header
# there is installed, and Skiff's own shared headers live in internal/.
ls verbs/include/skiff/*.h libos/include/skiff/*.h rpc/include/skiff/*.h \
	kv/include/skiff/*.h |
	sed 's|.*/|include/skiff/|' | LC_ALL=C sort >"$T/tree_h"
grep '^include/skiff/' "$T/got" >"$T/inst_h"
if diff -u "$T/tree_h" "$T/inst_h" >"$T/log"; then
	ok "include/skiff/ in the tree is exactly the installed headers"
else
	fail "include/skiff/ in the tree" "differs from the installed headers"
fi

# Only the public headers, and each compiles on its own in C and C++.
hdr_fail=
for h in "$P"/include/skiff/*.h; do
	h=${h##*/}
	# A C file may not be empty (version.h holds only macros).
	printf '#include <skiff/%s>\ntypedef int skiff_check_t;\n' "$h" |
		cc -x c -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only \
			-I"$P/include" - >"$T/log" 2>&1 || hdr_fail+=" $h(c99)"
	printf '#include <skiff/%s>\n' "$h" |
		g++ -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror \
			-fsyntax-only -I"$P/include" - >>"$T/log" 2>&1 ||
		hdr_fail+=" $h(c++11)"
done
if [ -z "$hdr_fail" ]; then
	ok "every installed header compiles alone (C99, C++11)"
else
	fail "installed headers alone" "$hdr_fail"
fi

# Libraries: sonames, and libskiff_os.so left 'main' to the application.
for l in verbs os rpc kv; do
	so=$(readelf -d "$P/lib/libskiff_$l.so.$V" 2>/dev/null |
		sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	same "libskiff_$l.so.$V has soname libskiff_$l.so.${V%%.*}" \
		"$so" "libskiff_$l.so.${V%%.*}"
done
# libskiff_kv exports exactly the functions its headers declare.
sed -nE 's/^[a-z].*[ *](sk_kv_[a-z0-9_]+)\(.*/\1/p' kv/include/skiff/*.h |
	LC_ALL=C sort -u >"$T/kv_decl"
nm -D --defined-only "$P/lib/libskiff_kv.so.$V" 2>/dev/null |
	awk '$2 == "T" { print $3 }' | LC_ALL=C sort >"$T/kv_exp"
if diff -u "$T/kv_decl" "$T/kv_exp" >"$T/log"; then
	ok "libskiff_kv.so exports exactly kv.h's $(wc -l <"$T/kv_decl") functions"
else
	fail "libskiff_kv.so's exports" "differ from kv.h's functions"
fi
same "libskiff_os.so.$V needs 'main' from the application" \
	"$(nm -D --undefined-only "$P/lib/libskiff_os.so.$V" |
		awk '$2 == "main" { print $2 }')" main

# One version everywhere.
export PKG_CONFIG_PATH=$P/lib/pkgconfig
same "pkg-config --modversion skiff" "$(pkg-config --modversion skiff)" "$V"
same "skinfo --version" "$("$P/bin/skinfo" --version)" "skinfo (Skiff) $V"
same "skinfo -V" "$("$P/bin/skinfo" -V)" "skinfo (Skiff) $V"
same "skrun --version" "$("$P/bin/skrun" --version)" "skrun (Skiff) $V"
same "skcached -V" "$("$P/bin/skcached" -V)" "skcached 1.6.18 (Skiff $V)"
# The installed skcached finds the installed skrun and skcached-node
# beside it, serves, and ends with 0 on SIGTERM.
installed_skcached() {
	local port pid rc
	port=$(python3 tests/lib/free_port.py)
	"$P/bin/skcached" -n 2 -t 1 -p "$port" -l 127.0.0.1 </dev/null &
	pid=$!
	python3 - "$port" <<'PY' || { kill -KILL "$pid"; return 1; }
import socket, sys, time
end = time.time() + 30
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
        break
    except OSError:
        if time.time() > end:
            sys.exit("skcached did not listen")
        time.sleep(0.1)
s.sendall(b"set k 0 0 2\r\nhi\r\nget k\r\n")
d = b""
while not d.endswith(b"END\r\n"):
    d += s.recv(4096)
assert d == b"STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n", d
PY
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || { echo "exit $rc after SIGTERM"; return 1; }
}
try "installed skcached: set, get, SIGTERM exit 0" installed_skcached
same "skinfo's listing starts with the version" \
	"$("$P/bin/skinfo" | head -n 1)" "skiff: $V"
# The installed skinfo -c knows every layer's SKIFF_* table (each layer
# registers its own; skinfo links them) and refuses as each layer would.
same "installed skinfo -c: a group per layer" \
	"$("$P/bin/skinfo" -c | sed -n 's/^# ==== \([a-z/]*\):.*/\1/p' | tr '\n' ' ')" \
	"verbs verbs/rdma verbs/ucx libos rpc launcher kv "
for bad in SKIFF_SQ_DEPTH=1 SKIFF_ARENA_MB=abc SKIFF_RPC_PROBE_MS=0 \
	SKIFF_KILL_GRACE_MS=60001; do
	env "$bad" "$P/bin/skinfo" -c >/dev/null 2>"$T/log"
	rc=$?
	same "installed skinfo -c refuses $bad" \
		"$rc:$(grep -c "${bad%%=*}" "$T/log")" "3:1"
done
same "skiffcc --showme:version" "$("$P/bin/skiffcc" --showme:version)" \
	"skiffcc: Skiff $V"

# The man pages render without a warning.
man_fail=
for m in "$P"/share/man/man1/*.1; do
	out=$(groff -man -ww -z "$m" 2>&1) && [ -z "$out" ] ||
		man_fail+=" ${m##*/}: $out"
done
if [ -z "$man_fail" ]; then
	ok "man pages render (groff -ww)"
else
	: >"$T/log"
	fail "man pages" "$man_fail"
fi

# skrun(1) documents every option skrun takes (the table in opts.c).
man -l "$P/share/man/man1/skrun.1" 2>/dev/null | col -b >"$T/skrun.txt"
undoc=
while read -r o; do
	grep -qE -- "(^|[^A-Za-z-])--?$o([^A-Za-z-]|$)" "$T/skrun.txt" ||
		undoc+=" $o"
done < <(sed -nE 's/^[[:space:]]*\{"([^"]+)", OPT_.*/\1/p' launcher/opts.c)
if [ -z "$undoc" ] && [ -s "$T/skrun.txt" ]; then
	ok "skrun(1) documents every option in launcher/opts.c"
else
	: >"$T/log"
	fail "skrun(1)" "options not documented:$undoc"
fi

# ---- 3. skiffcc ----
CC_=$P/bin/skiffcc CXX_=$P/bin/skiffc++
same "skiffcc --showme:compile" "$("$CC_" --showme:compile)" \
	"-I$P/include -pthread"
same "skiffcc --showme:link" "$("$CC_" --showme:link)" \
	"-pthread -L$P/lib -Wl,-rpath,$P/lib -Wl,--wrap=main -Wl,--export-dynamic-symbol=main -lskiff_kv -lskiff_rpc -lskiff_os -lskiff_verbs"
same "skiffcc -noshlib --showme:link" "$("$CC_" -noshlib --showme:link)" \
	"-pthread -Wl,--wrap=main $P/lib/libskiff_kv.a $P/lib/libskiff_rpc.a $P/lib/libskiff_os.a $P/lib/libskiff_verbs.a -libverbs -lrdmacm -lucp -lucs -lm"
same "skiffcc --showme app.c -o app" "$("$CC_" --showme app.c -o app)" \
	"cc -I$P/include -pthread app.c -o app $("$CC_" --showme:link)"
same "skiffcc --showme -c app.c (no link flags)" \
	"$("$CC_" --showme -c app.c)" "cc -I$P/include -pthread -c app.c"
same "SKIFF_CC='ccache g++' skiffcc --showme" \
	"$(SKIFF_CC='ccache g++' "$CC_" --showme:compile --showme x.c)" \
	"ccache g++ -I$P/include -pthread x.c $("$CC_" --showme:link)"
same "skiffc++ --showme uses c++" "$("$CXX_" --showme | cut -d' ' -f1)" "c++"
same "skiffcc --showme:incdirs" "$("$CC_" --showme:incdirs)" "$P/include"
same "skiffcc --showme:libdirs" "$("$CC_" --showme:libdirs)" "$P/lib"
same "skiffcc --showme:libs" "$("$CC_" --showme:libs)" \
	"skiff_kv skiff_rpc skiff_os skiff_verbs"
"$CC_" --showme:bogus >"$T/out" 2>&1
rc=$?
same "skiffcc --showme:bogus refused (status 2)" "$rc: $(cat "$T/out")" \
	"2: skiffcc: unknown option '--showme:bogus' (see skiffcc --showme:help)"
"$CC_" >"$T/out" 2>&1
rc=$?
same "skiffcc with no arguments: status 2 and why" "$rc: $(cat "$T/out")" \
	"2: skiffcc: no input files (see skiffcc --showme:help)"
same "skiffcc --version is the compiler's, alone" \
	"$("$CC_" --showme --version)" "cc --version"
SKIFF_CC=no-such-cc "$CC_" examples/hello.c -o "$T/x" >"$T/out" 2>&1
rc=$?
same "SKIFF_CC=no-such-cc: status 127 and why" "$rc: $(cat "$T/out")" \
	"127: skiffcc: compiler 'no-such-cc' not found (set SKIFF_CC)"

# ---- 4. the examples, out of the tree ----
# needed FILE: the Skiff libraries FILE loads at run time.
needed() {
	readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(libskiff_.*\)\]/\1/p' |
		LC_ALL=C sort | paste -sd' '
}
# is_linked KIND FILE: a node program linked shared loads libskiff_os
# (and, the linker dropping what is not used, maybe no other); one linked
# static loads none.
is_linked() {
	case $1 in
	shared) [[ " $(needed "$2") " == *" libskiff_os.so.${V%%.*} "* ]] ;;
	static) [ -z "$(needed "$2")" ] ;;
	esac
}

# build VARIANT KIND CMD...: run CMD (which builds every example into
# $W/VARIANT), check each is linked as KIND (shared or static), then run
# them all under the installed skrun.
build() {
	local variant=$1 kind=$2 x why=
	shift 2
	mkdir -p "$W/$variant"
	if ! "$@" >"$T/log" 2>&1; then
		fail "$variant: build" "exit status $?"
		return
	fi
	for x in "$W/$variant"/*; do
		if [ ! -f "$x" ] || [ ! -x "$x" ]; then
			continue
		fi
		is_linked "$kind" "$x" ||
			why+=" ${x##*/} needs '$(needed "$x")';"
	done
	if [ -n "$why" ]; then
		: >"$T/log"
		fail "$variant: built $kind" "$why"
		return
	fi
	ok "$variant: built, linked $kind"
	examples "$variant: run under the installed skrun" "$P/bin/skrun" \
		"$W/$variant"
}

with_skiffcc() {
	local x
	for x in "${EXAMPLES[@]}"; do
		"$CC_" -O2 -c "examples/$x.c" -o "$W/skiffcc/$x.o" &&
			"$CC_" "$W/skiffcc/$x.o" -o "$W/skiffcc/$x" || return 1
		rm -f "$W/skiffcc/$x.o"
	done
}
with_skiffcc_static() {
	local x
	for x in "${EXAMPLES[@]}"; do
		"$CC_" -noshlib -O2 "examples/$x.c" -o "$W/skiffcc-static/$x" ||
			return 1
	done
}
with_pkg_config() {
	local x
	for x in "${EXAMPLES[@]}"; do
		# shellcheck disable=SC2046 # pkg-config's words are flags
		cc -O2 $(pkg-config --cflags skiff) "examples/$x.c" \
			-o "$W/pkg-config/$x" $(pkg-config --libs skiff) \
			-Wl,-rpath,"$(pkg-config --variable=libdir skiff)" ||
			return 1
	done
}
with_make() {
	local x
	{
		echo "include $P/share/skiff/skiff-app.mk"
		echo "all: ${EXAMPLES[*]}"
	} >"$W/make-static/Makefile"
	for x in "${EXAMPLES[@]}"; do
		cp "examples/$x.c" "$W/make-static/"
	done
	# No MAKEFLAGS from make check: this is a user's make.
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
		make -C "$W/make-static" SKIFF_SHLIB=no CFLAGS=-O2 &&
		rm -f "$W/make-static"/*.c "$W/make-static/Makefile"
}
with_cxx() {
	# -x c++ reads hello.c as C++; -x none lets the link flags be flags.
	"$CXX_" -O2 -Wall -Wextra -Werror -x c++ examples/hello.c -x none \
		-o "$W/c++/hello"
}

build skiffcc shared with_skiffcc
build skiffcc-static static with_skiffcc_static
build pkg-config shared with_pkg_config
build make-static static with_make
build c++ shared with_cxx

# Every installed header from C++, three ways, and run on 4 nodes.
cxx_headers() {
	local name=$1 kind=$2 exe=$3 why=
	shift 3
	if ! "$@" >"$T/log" 2>&1; then
		fail "$name: build" "exit status $?"
		return
	fi
	is_linked "$kind" "$exe" || why="needs '$(needed "$exe")';"
	(cd "$T" && timeout -k 5 60 "$P/bin/skrun" -n 4 "$exe") >"$T/log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || why+=" exit status $rc"
	for r in 0 1 2 3; do
		grep -qFx "c++ rank $r of 4: skiff $V, 8 headers linked, SK_OK is 'success', provider 'ucx'" \
			"$T/log" || why+=" no line from rank $r;"
	done
	if [ -z "$why" ]; then
		ok "$name: every header from C++, linked $kind, 4 nodes"
	else
		fail "$name" "$why"
	fi
}
mkdir -p "$W/headers"
cxx_headers "skiffc++ headers.cc" shared "$W/headers/a" \
	"$CXX_" -std=c++11 -Wall -Wextra -Werror tests/install/headers.cc \
	-o "$W/headers/a"
cxx_headers "SKIFF_CC=g++ skiffcc -noshlib headers.cc" static "$W/headers/b" \
	env SKIFF_CC=g++ "$CC_" -noshlib -Wall -Wextra -Werror \
	tests/install/headers.cc -o "$W/headers/b"
# shellcheck disable=SC2046
cxx_headers "g++ + pkg-config headers.cc" shared "$W/headers/c" \
	g++ -Wall -Wextra -Werror $(pkg-config --cflags skiff) \
	tests/install/headers.cc -o "$W/headers/c" $(pkg-config --libs skiff) \
	-Wl,-rpath,"$P/lib"

# pkg-config's flags (it ends them with a blank).
pc() { pkg-config "$@" | sed 's/ *$//'; }
same "pkg-config --cflags skiff" "$(pc --cflags skiff)" \
	"-I$P/include -pthread"
same "pkg-config --libs skiff" "$(pc --libs skiff)" \
	"-L$P/lib -Wl,--wrap=main -Wl,--export-dynamic-symbol=main -lskiff_kv -lskiff_rpc -lskiff_os -lskiff_verbs -pthread"
same "pkg-config --static --libs skiff" "$(pc --static --libs skiff)" \
	"-L$P/lib -Wl,--wrap=main -Wl,--export-dynamic-symbol=main -lskiff_kv -lskiff_rpc -lskiff_os -lskiff_verbs -pthread -libverbs -lrdmacm -lucp -lucs -lm"
unset PKG_CONFIG_PATH

# ---- 5. DESTDIR, bad prefixes, uninstall ----
D=$T/stage
try "make install DESTDIR=<stage> PREFIX=/opt/skiff-test" \
	mk install DESTDIR="$D" PREFIX=/opt/skiff-test
same "DESTDIR: skiffcc knows the final prefix" \
	"$("$D/opt/skiff-test/bin/skiffcc" --showme:compile)" \
	"-I/opt/skiff-test/include -pthread"
same "DESTDIR: skiff.pc knows the final prefix" \
	"$(sed -n 's/^prefix=//p' "$D/opt/skiff-test/lib/pkgconfig/skiff.pc")" \
	"/opt/skiff-test"
same "DESTDIR: skiff-app.mk knows the final skiffcc" \
	"$(sed -n '1,3s/^SKIFFCC ?= //p' "$D/opt/skiff-test/share/skiff/skiff-app.mk")" \
	"/opt/skiff-test/bin/skiffcc"
if grep -rqF "$D" "$D/opt/skiff-test/bin/skiffcc" \
	"$D/opt/skiff-test/lib/pkgconfig" "$D/opt/skiff-test/share/skiff"; then
	: >"$T/log"
	fail "DESTDIR" "the staging directory leaked into an installed file"
else
	ok "DESTDIR: no installed file names the staging directory"
fi
try "make uninstall DESTDIR=<stage> PREFIX=/opt/skiff-test" \
	mk uninstall DESTDIR="$D" PREFIX=/opt/skiff-test
same "DESTDIR: nothing left after uninstall" \
	"$(find "$D" \( -type f -o -type l \) | head -3)" ""

for bad in relative/prefix "$T/it's" "$T/with space" "$T/a|b"; do
	mk install PREFIX="$bad" >"$T/log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && grep -q '^install: PREFIX' "$T/log" &&
		[ ! -e relative ] && [ ! -e "$T/it's" ] && [ ! -e "$T/a|b" ]; then
		ok "make install PREFIX='${bad#"$T"/}' refused"
	else
		fail "make install PREFIX='${bad#"$T"/}' refused" "exit status $rc"
	fi
done

try "make uninstall PREFIX=<scratch>" mk uninstall PREFIX="$P"
same "uninstall: no file or link left" \
	"$(find "$P" \( -type f -o -type l \) | head -3)" ""
same "uninstall: no Skiff directory left" \
	"$(find "$P" -name '*skiff*' | head -3)" ""

summary install
