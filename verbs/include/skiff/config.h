/*
 * Skiff run-time configuration: SKIFF_* environment variables.
 *
 * Every variable is declared once, with its default and help text, in the
 * table in verbs/config.c, and read only through these calls, so
 * `skinfo -c` can print them all and the launcher can forward them. A bad
 * value is an error with a message naming the variable, never a silent
 * fallback.
 */
#ifndef SKIFF_CONFIG_H
#define SKIFF_CONFIG_H

#include <stdio.h>

#include <skiff/status.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_config_var {
	const char *name;    /* "SKIFF_PROVIDER" */
	const char *dflt;    /* default value, as text */
	const char *help;    /* one line */
};

/* The table, terminated by an entry whose name is NULL. */
extern const struct sk_config_var sk_config_vars[];

/* The value of @name: the environment's if set, else the default.
 * @name must be in the table (an unknown name aborts: a bug). */
const char *sk_config_str(const char *name);

/*
 * Parse @name as an unsigned integer in [@min, @max] into *@val_p.
 * Accepts decimal, 0x hex, and the suffixes k, m, g (powers of 1024).
 * Returns SK_OK, or SK_ERR_CONFIG with a message naming the variable.
 */
sk_status_t sk_config_ulong(const char *name, unsigned long min,
			    unsigned long max, unsigned long *val_p);

/*
 * Check every variable set in the environment against what its reader
 * accepts at device open (or node boot), without opening anything. Each
 * bad one is logged on stderr, naming it. Returns how many are bad.
 */
int sk_config_check(void);

/* Print every variable, its default, its current value and help. */
void sk_config_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_CONFIG_H */
