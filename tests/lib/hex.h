/*
 * One hex digit's value, for the tests' text formats (the lincheck
 * history's \xHH and x:HEX, the memcached case file's \xHH).
 */
#ifndef SKIFF_TESTS_HEX_H
#define SKIFF_TESTS_HEX_H

/* @c's value as a hex digit, or -1. */
static inline int sk_test_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* SKIFF_TESTS_HEX_H */
