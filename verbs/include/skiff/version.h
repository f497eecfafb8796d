/*
 * The version of Skiff an application is compiled against.
 *
 * This header is the one place the version is set: the Makefile reads the
 * three numbers below for the shared libraries' names and sonames, skiff.pc
 * and skiffcc, and skinfo prints SKIFF_VERSION. Bump them here only.
 *
 * SKIFF_VERSION_NUMBER orders versions in #if tests:
 *   #if SKIFF_VERSION_NUMBER >= SKIFF_VERSION_ENCODE(0, 2, 0)
 */
#ifndef SKIFF_VERSION_H
#define SKIFF_VERSION_H

#define SKIFF_VERSION_MAJOR 0
#define SKIFF_VERSION_MINOR 1
#define SKIFF_VERSION_PATCH 0

/* clang-format off */
/* Major, minor and patch in one integer: 0.1.0 is 100, 1.2.3 is 10203. */
#define SKIFF_VERSION_ENCODE(major, minor, patch) \
	((major) * 10000 + (minor) * 100 + (patch))
#define SKIFF_VERSION_NUMBER \
	SKIFF_VERSION_ENCODE(SKIFF_VERSION_MAJOR, SKIFF_VERSION_MINOR, \
			     SKIFF_VERSION_PATCH)

/* "0.1.0", made from the numbers above. */
#define SKIFF_VERSION_STR_(x) #x
#define SKIFF_VERSION_XSTR_(x) SKIFF_VERSION_STR_(x)
#define SKIFF_VERSION                                \
	SKIFF_VERSION_XSTR_(SKIFF_VERSION_MAJOR) "." \
	SKIFF_VERSION_XSTR_(SKIFF_VERSION_MINOR) "." \
	SKIFF_VERSION_XSTR_(SKIFF_VERSION_PATCH)
/* clang-format on */

#endif /* SKIFF_VERSION_H */
