#!/usr/bin/env bash
# install.sh - `make install`, `make uninstall` and the build tree's skiffcc
# (mk/install.mk runs it; every value comes through the environment).
#
#   install.sh install | uninstall | build-skiffcc
#
# Paths:  SKIFF_PREFIX SKIFF_DESTDIR SKIFF_BINDIR SKIFF_LIBDIR
#         SKIFF_INCLUDEDIR SKIFF_DATADIR SKIFF_MANDIR
# Values: SKIFF_VERSION SKIFF_VERSION_MAJOR SKIFF_APP_LDFLAGS
#         SKIFF_APP_SHLIB_LDFLAGS SKIFF_LIBS SKIFF_LIBS_PRIVATE BUILD
#
# skiffcc and skiff.pc are written from mk/skiffcc.in and mk/skiff.pc.in
# with the final paths (PREFIX, not DESTDIR) in them; skiff-app.mk gets the
# path of skiffcc. The installed files are exactly the lists below, and
# uninstall removes exactly those, then the directories that are Skiff's
# own (include/skiff, share/skiff) if they are empty.
set -euo pipefail

cd "$(dirname "$0")/.."
src=$(pwd -P)
BUILD=${BUILD:-build}

die() {
	echo "install: $*" >&2
	exit 2
}

# The public headers: what an application may include, exactly the
# layers' include/skiff/ directories (tests/install/out-of-tree.sh checks).
# Skiff's own shared headers (internal/skiff/: chan.h, hostproto.h,
# fault.h, le.h) stay out.
HEADERS=(
	verbs/include/skiff/verbs.h
	verbs/include/skiff/status.h
	verbs/include/skiff/config.h
	verbs/include/skiff/version.h
	libos/include/skiff/os.h
	libos/include/skiff/loop.h
	libos/include/skiff/arena.h
	libos/include/skiff/file.h
	rpc/include/skiff/rpc.h
	kv/include/skiff/kv.h
	kv/include/skiff/kv_res.h
)
LIBS=(skiff_verbs skiff_os skiff_rpc skiff_kv)
PROGS=(skrun skinfo skcached skcached-node)
MANPAGES=(skrun.1 skinfo.1 skiffcc.1 skcached.1)

# Replace every @KEY@ of the template $1 with the value of KEY=value pairs
# in the rest of the arguments; print the result. Bash does the
# replacement, so a value may hold any character.
subst() {
	local tmpl=$1 text kv key
	text=$(<"$tmpl")
	shift
	for kv in "$@"; do
		key=${kv%%=*}
		text=${text//@$key@/${kv#*=}}
	done
	if [[ $text =~ @[A-Z_]+@ ]]; then
		die "$tmpl: ${BASH_REMATCH[0]} not replaced"
	fi
	printf '%s\n' "$text"
}

# skiffcc from its template: $1 output, $2 the -I flags, $3 the library
# directory.
write_skiffcc() {
	subst mk/skiffcc.in \
		"VERSION=$SKIFF_VERSION" \
		"CPPFLAGS=$2" \
		"LIBDIR=$3" \
		"APP_LDFLAGS=$SKIFF_APP_LDFLAGS" \
		"APP_SHLIB_LDFLAGS=$SKIFF_APP_SHLIB_LDFLAGS" \
		"LIBS=$SKIFF_LIBS" \
		"LIBS_PRIVATE=$SKIFF_LIBS_PRIVATE" >"$1.tmp"
	chmod 0755 "$1.tmp"
	mv -f "$1.tmp" "$1"
}

build_skiffcc() {
	local libdir=$src/$BUILD/lib
	[[ $BUILD == /* ]] && libdir=$BUILD/lib
	mkdir -p "$BUILD/bin"
	write_skiffcc "$BUILD/bin/skiffcc" \
		"-I$src/verbs/include -I$src/libos/include -I$src/rpc/include -I$src/kv/include" \
		"$libdir"
	ln -sfn skiffcc "$BUILD/bin/skiffc++"
}

# A directory for the generated files' text: absolute, and nothing a
# shell, make or pkg-config would read as more than a path.
check_dir() {
	local name=$1 val=$2
	[ -n "$val" ] || die "$name is empty"
	[[ $val == /* ]] || die "$name must be an absolute path, not '$val'"
	[[ $val =~ ^[A-Za-z0-9._+/,@=-]+$ ]] ||
		die "$name '$val' has a character other than letters, digits and ._+/,@=-"
}

setup_paths() {
	PREFIX=${SKIFF_PREFIX:-/usr/local}
	DESTDIR=${SKIFF_DESTDIR:-}
	BINDIR=${SKIFF_BINDIR:-$PREFIX/bin}
	LIBDIR=${SKIFF_LIBDIR:-$PREFIX/lib}
	INCLUDEDIR=${SKIFF_INCLUDEDIR:-$PREFIX/include}
	DATADIR=${SKIFF_DATADIR:-$PREFIX/share}
	MANDIR=${SKIFF_MANDIR:-$DATADIR/man}
	check_dir PREFIX "$PREFIX"
	check_dir BINDIR "$BINDIR"
	check_dir LIBDIR "$LIBDIR"
	check_dir INCLUDEDIR "$INCLUDEDIR"
	check_dir DATADIR "$DATADIR"
	check_dir MANDIR "$MANDIR"
	if [ -n "$DESTDIR" ] && [[ $DESTDIR == *$'\n'* ]]; then
		die "DESTDIR has a newline"
	fi
	D=$DESTDIR
	V=$SKIFF_VERSION
	M=$SKIFF_VERSION_MAJOR
}

# pkg-config's text for a directory: under ${prefix} when it is, so that
# pkg-config --define-prefix can move the tree.
pc_dir() {
	case $1 in
	"$PREFIX"/*) echo "\${prefix}/${1#"$PREFIX"/}" ;;
	*) echo "$1" ;;
	esac
}

examples() {
	local f
	for f in examples/*.c examples/README.md; do
		[ -e "$f" ] && echo "$f"
	done
}

do_install() {
	local f l
	for f in "${LIBS[@]}"; do
		[ -f "$BUILD/lib/lib$f.a" ] || die "$BUILD/lib/lib$f.a is missing; run make"
		[ -f "$BUILD/lib/lib$f.so.$V" ] ||
			die "$BUILD/lib/lib$f.so.$V is missing; run make"
	done
	for f in "${PROGS[@]}"; do
		[ -x "$BUILD/bin/$f" ] || die "$BUILD/bin/$f is missing; run make"
	done
	for f in "${HEADERS[@]}" "${MANPAGES[@]/#/man/}" mk/skiffcc.in \
		mk/skiff.pc.in mk/skiff-app.mk; do
		[ -f "$f" ] || die "$f is missing from the source tree"
	done

	echo "install: Skiff $V into $D$PREFIX"
	install -d "$D$BINDIR" "$D$LIBDIR/pkgconfig" "$D$INCLUDEDIR/skiff" \
		"$D$MANDIR/man1" "$D$DATADIR/skiff/examples"
	install -m 0644 "${HEADERS[@]}" "$D$INCLUDEDIR/skiff/"
	for l in "${LIBS[@]}"; do
		install -m 0644 "$BUILD/lib/lib$l.a" "$D$LIBDIR/"
		install -m 0755 "$BUILD/lib/lib$l.so.$V" "$D$LIBDIR/"
		ln -sfn "lib$l.so.$V" "$D$LIBDIR/lib$l.so.$M"
		ln -sfn "lib$l.so.$M" "$D$LIBDIR/lib$l.so"
	done
	for f in "${PROGS[@]}"; do
		install -m 0755 "$BUILD/bin/$f" "$D$BINDIR/"
	done
	write_skiffcc "$D$BINDIR/skiffcc" "-I$INCLUDEDIR" "$LIBDIR"
	ln -sfn skiffcc "$D$BINDIR/skiffc++"
	subst mk/skiff.pc.in \
		"PREFIX=$PREFIX" \
		"LIBDIR=$(pc_dir "$LIBDIR")" \
		"INCLUDEDIR=$(pc_dir "$INCLUDEDIR")" \
		"VERSION=$V" \
		"APP_LDFLAGS=$SKIFF_APP_LDFLAGS $SKIFF_APP_SHLIB_LDFLAGS" \
		"LIBS=$SKIFF_LIBS" \
		"LIBS_PRIVATE=$SKIFF_LIBS_PRIVATE" \
		>"$D$LIBDIR/pkgconfig/skiff.pc"
	chmod 0644 "$D$LIBDIR/pkgconfig/skiff.pc"
	for f in "${MANPAGES[@]}"; do
		install -m 0644 "man/$f" "$D$MANDIR/man1/"
	done
	ln -sfn skiffcc.1 "$D$MANDIR/man1/skiffc++.1"
	{
		echo "# Installed by Skiff's make install: the skiffcc to ask."
		echo "SKIFFCC ?= $BINDIR/skiffcc"
		cat mk/skiff-app.mk
	} >"$D$DATADIR/skiff/skiff-app.mk"
	chmod 0644 "$D$DATADIR/skiff/skiff-app.mk"
	mapfile -t ex < <(examples)
	if [ ${#ex[@]} -gt 0 ]; then
		install -m 0644 "${ex[@]}" "$D$DATADIR/skiff/examples/"
	fi
}

# Remove a directory of Skiff's own if it is empty; say so if it is not.
rmdir_own() {
	[ -d "$1" ] || return 0
	rmdir "$1" 2>/dev/null ||
		echo "install: $1 is not empty; left in place" >&2
}

do_uninstall() {
	local f l
	echo "uninstall: Skiff $V from $D$PREFIX"
	for f in "${HEADERS[@]}"; do
		rm -f "$D$INCLUDEDIR/skiff/${f##*/}"
	done
	for l in "${LIBS[@]}"; do
		rm -f "$D$LIBDIR/lib$l.a" "$D$LIBDIR/lib$l.so.$V" \
			"$D$LIBDIR/lib$l.so.$M" "$D$LIBDIR/lib$l.so"
	done
	for f in "${PROGS[@]}" skiffcc skiffc++; do
		rm -f "$D$BINDIR/$f"
	done
	rm -f "$D$LIBDIR/pkgconfig/skiff.pc"
	for f in "${MANPAGES[@]}" skiffc++.1; do
		rm -f "$D$MANDIR/man1/$f"
	done
	rm -f "$D$DATADIR/skiff/skiff-app.mk"
	while read -r f; do
		rm -f "$D$DATADIR/skiff/examples/${f##*/}"
	done < <(examples)
	rmdir_own "$D$INCLUDEDIR/skiff"
	rmdir_own "$D$DATADIR/skiff/examples"
	rmdir_own "$D$DATADIR/skiff"
}

case ${1:-} in
build-skiffcc)
	build_skiffcc
	;;
install)
	setup_paths
	do_install
	;;
uninstall)
	setup_paths
	do_uninstall
	;;
*)
	die "usage: $0 install|uninstall|build-skiffcc"
	;;
esac
