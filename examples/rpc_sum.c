/*
 * rpc_sum: rank 0 serves a handler that adds two numbers; every other rank
 * calls it and prints the answer.
 *
 *     skiffcc rpc_sum.c -o rpc_sum
 *     skrun -n 4 ./rpc_sum
 *
 * The node's rpc comes from sk_rpc_open(); sk_rpc_connect() reaches
 * another node, connecting on first use. Rank 0 answers calls whenever its
 * loop runs, here inside sk_os_barrier(), which it leaves once every rank
 * has had its answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <skiff/os.h>
#include <skiff/rpc.h>

enum { RPC_ADD = 1 };

struct add_req {
	int64_t a, b;
};

static void add_handler(struct sk_rpc_req *req, void *arg)
{
	struct add_req in;
	size_t len;
	const void *data = sk_rpc_req_data(req, &len);
	int64_t *sum;

	(void)arg;
	if (len != sizeof(in)) {
		sk_rpc_respond(req, -22 /* EINVAL */, 0);
		return;
	}
	memcpy(&in, data, sizeof(in));
	sum = sk_rpc_resp_buf(req, sizeof(*sum));
	*sum = in.a + in.b;
	sk_rpc_respond(req, 0, sizeof(*sum));
}

int main(void)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	struct sk_rpc *rpc;
	struct sk_rpc_peer *server;
	sk_status_t st;

	if (size < 2) {
		fprintf(stderr, "rpc_sum: run it with skrun -n 2 or more\n");
		return 2;
	}
	st = sk_rpc_open(&rpc);
	if (st != SK_OK) {
		fprintf(stderr, "rpc_sum: sk_rpc_open: %s\n", sk_status_str(st));
		return 1;
	}
	sk_rpc_register(rpc, RPC_ADD, add_handler, NULL);

	if (rank != 0) {
		struct add_req in = {.a = rank, .b = 1000 * (int64_t)rank};
		int64_t sum = 0;
		size_t len = 0;
		int rc;

		st = sk_rpc_connect(rpc, 0, -1, &server);
		if (st != SK_OK) {
			fprintf(stderr, "rpc_sum: rank %u: connect to rank 0: "
					"%s\n", rank, sk_status_str(st));
			return 1;
		}
		rc = sk_rpc_call_sync(server, RPC_ADD, &in, sizeof(in), &sum,
				      sizeof(sum), &len);
		if (rc < 0 || len != sizeof(sum)) {
			fprintf(stderr, "rpc_sum: rank %u: call failed (%d)\n",
				rank, rc);
			return 1;
		}
		printf("rank %u: %lld + %lld = %lld\n", rank,
		       (long long)in.a, (long long)in.b, (long long)sum);
	}
	/* Rank 0 serves until every caller is through. */
	sk_os_barrier();
	sk_rpc_destroy(rpc);
	return 0;
}
