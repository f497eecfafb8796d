/*
 * skrun's SKIFF_* variables (skiff/config.h). skrun links its objects by
 * name, this one among them, so its registration needs no reference.
 */
#include <stddef.h>

#include <skiff/config.h>

static const struct sk_config_var sk_launcher_config_vars[] = {
	{"SKIFF_SSH", "ssh",
	 "command that reaches remote hosts (e.g. 'ssh -p 2222')",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{"SKIFF_BOOTSTRAP_ADDR", "",
	 "address nodes use to reach the host's bootstrap; empty: 127.0.0.1 "
	 "for local jobs, else this host's name",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{"SKIFF_SLURM", "auto",
	 "inside a Slurm allocation (SLURM_JOB_ID set), auto: take its nodes "
	 "and start the ranks with srun; no: ignore it",
	 SK_CONFIG_AUTO_WORDS, 0, 0, "no"},
	{"SKIFF_SRUN", "srun",
	 "Slurm's srun, which starts the ranks inside an allocation",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{"SKIFF_KILL_GRACE_MS", "300",
	 "after SIGTERM, wait this long before SIGKILL on abort",
	 SK_CONFIG_NUM, 0, 60000, NULL},
	{"SKIFF_FILE_MEM_MB", "auto",
	 "file memory (sk_file_alloc, malloc's large blocks) per node on "
	 "this host, MiB (address space: RAM once touched); auto: 64, less "
	 "past 64 nodes (4 GiB in all)",
	 SK_CONFIG_AUTO_NUM, 0, 65536, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_launcher_config = {
	.layer = "launcher: skrun",
	.order = SK_CONFIG_ORDER_LAUNCHER,
	.vars = sk_launcher_config_vars,
};
SK_CONFIG_REGISTER_TABLE(sk_launcher_config)
