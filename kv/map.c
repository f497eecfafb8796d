/*
 * kv map: which rank owns which partition, and the job's hash secret that
 * both keys and placement hash with.
 *
 * Placement is rendezvous hashing (highest random weight): partition p
 * goes to the rank r of 0..N-1 with the largest SipHash of (p, r, epoch),
 * so every node computes the same map alone, and a rank joining or leaving
 * (a later epoch) moves only the partitions it wins or held.
 *
 * The secret: rank 0 draws it at open and every other rank asks rank 0
 * for it (KV_RPC_SECRET) before laying out its partitions, whose item
 * seals are keyed with it. Keys are hashed with it so that a client cannot
 * aim many keys at one bucket pair without knowing it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <skiff/os.h>

#include "kv_int.h"
#include "wire.h"

/* The weight rendezvous hashing gives partition @p on rank @r. */
static uint64_t kv_weight(const struct sk_kv_hkey *hkey, uint32_t p,
			  uint32_t r, uint32_t epoch)
{
	uint32_t w[3] = {p, r, epoch};

	return sk_kv_siphash13(hkey, w, sizeof(w));
}

uint32_t kv_rendezvous(const struct sk_kv_hkey *hkey, uint32_t partition,
		       uint32_t epoch, unsigned nranks)
{
	uint64_t best = 0;
	uint32_t owner = 0;

	for (unsigned r = 0; r < nranks; r++) {
		uint64_t x = kv_weight(hkey, partition, r, epoch);

		/* Ties (never seen in practice) go to the lower rank. */
		if (r == 0 || x > best) {
			best = x;
			owner = r;
		}
	}
	return owner;
}

/*
 * The map: each partition to its rendezvous winner; then, when there are
 * at least as many partitions as ranks, every rank that won none takes,
 * in rank order, the partition it weighs highest among those whose owner
 * has two or more. Rendezvous alone leaves a rank without a partition by
 * chance ((1 - 1/N)^P: 1% per rank for 16 partitions on 4 ranks), which
 * wastes the node and surprises a program that stores on each rank.
 * Every node computes the same map from the secret. Client ranks
 * (sk_kv_attr.clients, the first ones) take no part: owners are ranks
 * clients..N-1, and rendezvous runs over those.
 */
void kv_place(struct sk_kv *kv)
{
	unsigned c = kv->clients, nown = kv->size - c;

	for (uint32_t p = 0; p < kv->nparts; p++) {
		uint32_t r = c + kv_rendezvous(&kv->hkey, p, kv->epoch, nown);

		kv->parts[p].owner = r;
		kv->owners[r].nowned++;
	}
	if (kv->nparts < nown)
		return;
	for (uint32_t r = c; r < kv->size; r++) {
		uint64_t best = 0;
		int64_t pick = -1;

		if (kv->owners[r].nowned != 0)
			continue;
		for (uint32_t p = 0; p < kv->nparts; p++) {
			uint64_t x;

			if (kv->owners[kv->parts[p].owner].nowned < 2)
				continue;
			x = kv_weight(&kv->hkey, p, r, kv->epoch);
			if (pick < 0 || x > best) {
				best = x;
				pick = p;
			}
		}
		/* P >= N: some owner has two or more while r has none. */
		kv->owners[kv->parts[pick].owner].nowned--;
		kv->parts[pick].owner = r;
		kv->owners[r].nowned = 1;
	}
}

void kv_h_secret(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_secret_req q;
	struct kv_secret_resp *a;
	const void *data;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_secret_req(data, len, &q) != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if (!kv->have_secret) {
		sk_rpc_respond(req, -EAGAIN, 0);
		return;
	}
	if (q.partitions != kv->nparts || q.epoch != kv->epoch) {
		/* The ranks disagree on the attributes: no common map. */
		sk_rpc_respond(req, -EINVAL, 0);
		return;
	}
	a = sk_rpc_resp_buf(req, sizeof(*a));
	if (a == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	a->k0 = kv->hkey.k0;
	a->k1 = kv->hkey.k1;
	sk_rpc_respond(req, 0, sizeof(*a));
}

sk_status_t kv_fetch_secret(struct sk_kv *kv)
{
	struct kv_secret_req q = {.partitions = kv->nparts, .epoch = kv->epoch};
	struct kv_secret_resp a;
	struct sk_rpc_peer *peer;
	size_t got = 0;
	sk_status_t st;
	int rc;

	if (kv->rank == 0) {
		if (getrandom(&a, sizeof(a), 0) != (ssize_t)sizeof(a)) {
			fprintf(stderr, "skiff: kv: getrandom: %s\n",
				strerror(errno));
			return SK_ERR_IO;
		}
		kv->hkey.k0 = a.k0;
		kv->hkey.k1 = a.k1;
		kv->have_secret = 1;
		return SK_OK;
	}
	st = sk_rpc_connect(kv->rpc, 0, -1, &peer);
	if (st != SK_OK) {
		fprintf(stderr, "skiff: kv: rank %u: cannot reach rank 0 "
			"for the job's secret: %s\n", kv->rank,
			sk_status_str(st));
		return st;
	}
	kv->owners[0].peer = peer;
	/* Rank 0 answers -EAGAIN until it has drawn it (it draws it before
	 * it next runs its loop, so this is a formality). */
	do {
		rc = sk_rpc_call_sync(peer, KV_RPC_SECRET, &q, sizeof(q), &a,
				      sizeof(a), &got);
	} while (rc == -EAGAIN);
	if (rc == -EINVAL) {
		fprintf(stderr, "skiff: kv: rank %u: rank 0 opened kv with "
			"other attributes (partitions %u)\n", kv->rank,
			kv->nparts);
		return SK_ERR_INVAL;
	}
	if (rc != 0 || got != sizeof(a)) {
		fprintf(stderr, "skiff: kv: rank %u: rank 0 did not give the "
			"secret (status %d, %zu bytes)\n", kv->rank, rc, got);
		return rc == -ECONNRESET ? SK_ERR_UNREACHABLE : SK_ERR_IO;
	}
	kv->hkey.k0 = a.k0;
	kv->hkey.k1 = a.k1;
	kv->have_secret = 1;
	return SK_OK;
}
