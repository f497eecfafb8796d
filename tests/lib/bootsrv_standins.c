/*
 * Link-time stand-ins for the programs that link launcher/bootsrv.c to
 * test its hello checker, sk_boot_hello_parse (tests/libos/test_hostproto,
 * tests/fuzz/fuzz_hostmsg). bootsrv.c's connection handling calls into
 * services.c, which brings the whole host with it.
 * The checker never reaches these; each aborts, so a call shows up as a
 * crash rather than a test passing on a fake.
 */
#include <stdlib.h>

#include "job.h"

sk_status_t sk_services_connect(struct sk_job *job, struct sk_hnode *n,
				const void *addr, size_t len)
{
	abort();
}

void sk_services_disconnect(struct sk_job *job, struct sk_hnode *n)
{
	abort();
}

void sk_services_boot(struct sk_job *job)
{
	abort();
}
