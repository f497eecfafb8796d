/*
 * Skiff run-time configuration: SKIFF_* environment variables.
 *
 * Each layer declares its own variables in a table next to its code
 * (verbs/config.c, verbs/rdma/config.c, verbs/ucx/config.c,
 * libos/config.c, rpc/config.c, launcher/config.c), with default, help and
 * the bounds its reader accepts, and registers it, as UCX's ucs config
 * tables do (UCS_CONFIG_REGISTER_TABLE). Values are read only through
 * these calls, so `skinfo -c` can print and check them all, grouped by
 * layer. A bad value is an error with a message naming the variable,
 * never a silent fallback.
 *
 * Static linking: a table registers itself from a constructor in its own
 * object file, and an archive member that nothing references is not
 * linked. So every file that reads a layer's variables names that layer's
 * table with SK_CONFIG_USES(), which pulls the table's object in with the
 * reader. verbs' own tables are the registry's first entries and need
 * neither.
 */
#ifndef SKIFF_CONFIG_H
#define SKIFF_CONFIG_H

#include <stdio.h>

#include <skiff/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a variable's reader accepts: sk_config_check (`skinfo -c`) refuses
 * what the reader would. tests/skinfo-checks.sh reads the bounds of the
 * sk_config_ulong calls out of the sources and checks -c against each. */
enum sk_config_kind {
	SK_CONFIG_TEXT = 0,       /* any text (a device, a command, ...) */
	SK_CONFIG_NUM,            /* a number in [min, max] */
	SK_CONFIG_POW2,           /* ... and a power of two */
	SK_CONFIG_AUTO_NUM,       /* "auto", or a number in [min, max] */
	SK_CONFIG_WORDS,          /* one of @words */
	SK_CONFIG_AUTO_WORDS,     /* "auto", or one of @words */
};

struct sk_config_var {
	const char         *name;  /* "SKIFF_PROVIDER" */
	const char         *dflt;  /* default value, as text */
	const char         *help;  /* one line */
	enum sk_config_kind kind;
	unsigned long       min, max;
	const char         *words; /* space-separated, for the _WORDS kinds */
};

/* One layer's variables. */
struct sk_config_table {
	const char                 *layer; /* "libos: the node runtime" */
	unsigned                    order; /* place in `skinfo -c`, low first */
	const struct sk_config_var *vars;  /* ends with a NULL name */
	struct sk_config_table     *next;  /* the registry's; starts NULL */
};

/* Layers' order in the registry and in `skinfo -c`'s output. */
enum {
	SK_CONFIG_ORDER_VERBS = 0,
	SK_CONFIG_ORDER_PROVIDER = 10,
	SK_CONFIG_ORDER_OS = 20,
	SK_CONFIG_ORDER_RPC = 30,
	SK_CONFIG_ORDER_LAUNCHER = 40,
};

/*
 * Add @table to the registry (again is a no-op). A name already in
 * another table aborts: each variable has one owner. Call it before any
 * thread reads the configuration: constructors do.
 */
void sk_config_register(struct sk_config_table *table);

/* Register @table when the program starts (in @table's own file). */
#define SK_CONFIG_REGISTER_TABLE(table)                                    \
	static void __attribute__((constructor)) sk_config_ctor_##table(void) \
	{                                                                  \
		sk_config_register(&(table));                              \
	}

/* In a file that reads @table's variables: link @table's object in. */
#define SK_CONFIG_USES(table)                                              \
	extern struct sk_config_table table;                               \
	static struct sk_config_table *const sk_config_uses_##table        \
		__attribute__((used)) = &(table)

/* The registered tables, in layer order; walk with ->next. */
const struct sk_config_table *sk_config_tables(void);

/* The value of @name: the environment's if set, else the default.
 * @name must be registered (an unknown name aborts: a bug). */
const char *sk_config_str(const char *name);

/*
 * Parse @name as an unsigned integer in [@min, @max] into *@val_p.
 * Accepts decimal, 0x hex, and the suffixes k, m, g (powers of 1024).
 * Returns SK_OK, or SK_ERR_CONFIG with a message naming the variable.
 */
sk_status_t sk_config_ulong(const char *name, unsigned long min,
			    unsigned long max, unsigned long *val_p);

/*
 * Check every registered variable set in the environment against what its
 * reader accepts at device open (or node boot, or job start), without
 * opening anything. Each bad one is logged on stderr, naming it. Returns
 * how many are bad.
 */
int sk_config_check(void);

/* Print every registered variable, grouped by layer: its default, its
 * current value and help. */
void sk_config_print(FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_CONFIG_H */
