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

uint32_t kv_rendezvous(const struct sk_kv_hkey *hkey, uint32_t partition,
		       uint32_t epoch, unsigned nranks)
{
	uint64_t best = 0;
	uint32_t owner = 0;

	for (unsigned r = 0; r < nranks; r++) {
		uint32_t w[3] = {partition, r, epoch};
		uint64_t x = sk_kv_siphash13(hkey, w, sizeof(w));

		/* Ties (never seen in practice) go to the lower rank. */
		if (r == 0 || x > best) {
			best = x;
			owner = r;
		}
	}
	return owner;
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
