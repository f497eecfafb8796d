/*
 * kv_mem: what kv's partition store spends per item beyond its key and
 * value, for perf/kv/vs-memcached.sh's memory table. It lays out P
 * partitions as an owner does (kv/store.h, no fabric), places N keys on
 * them by their keyed SipHash as kv does, sets each once, and counts:
 *
 *   region   header + buckets + store bytes carved for items
 *            (sk_kv_part_stats's store_used: whole chunks of size classes)
 *   heap     the owner's bookkeeping (its partition structs, 4 bits per
 *            slot, free lists and quarantine), the growth of malloc's
 *            in-use bytes (mallinfo2) over init + load
 *
 * and prints (region + heap - N x (key + value)) / N. The regions' unused
 * tail (kv reserves part_bytes per partition up front) is printed apart:
 * it is room, not per-item cost, as memcached's unused slab pages are.
 *
 *	kv_mem [-n ITEMS] [-K KEY] [-v VALUE] [-p PARTITIONS] [-f FILL]
 *
 * -f: the share of slots to fill at most, which sizes the buckets: B =
 * the fullest partition's keys / (7 x f), rounded up (any B: kv places a
 * key's pair by multiply-shift). Default 0.3: the load at which every one
 * of the 10^6 items of vs-memcached.sh (16/32 B, kv_mem's keys and
 * secret) finds room in its pair, as memcached stores them all; 0.35
 * already leaves 2 out (kv/README.md, perf/README.md). Sets refused
 * because the key's pair was full are counted apart ("pair full"): with
 * eviction, each would have evicted an item of its pair.
 * Exit 0, 1 when an item could not be stored (pair full or other), 2
 * usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static unsigned long arg_ul(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (*s < '0' || *s > '9' || *end) {
		fprintf(stderr, "kv_mem: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long n = 1000000, ksize = 16, vsize = 32, np = 256;
	double fill = 0.3;
	struct sk_kv_hkey hkey = {0x736b69666b766d31ull, 0x6d656d6f72792121ull};
	struct sk_kv_part **parts;
	uint64_t *count, per_max = 0, nb = 2, chunk_max, region = 0;
	uint64_t reserved = 0, stored = 0, failed = 0, items = 0, pair_full = 0;
	size_t heap0, heap1, psize;
	unsigned char **mem;
	char key[SK_KV_KEY_MAX + 1], *end;
	unsigned char *val;
	int ch;

	while ((ch = getopt(argc, argv, "n:K:v:p:f:h")) != -1) {
		switch (ch) {
		case 'n': n = arg_ul(optarg, "-n"); break;
		case 'K': ksize = arg_ul(optarg, "-K"); break;
		case 'v': vsize = arg_ul(optarg, "-v"); break;
		case 'p': np = arg_ul(optarg, "-p"); break;
		case 'f':
			fill = strtod(optarg, &end);
			if (*end || !(fill > 0 && fill <= 1)) {
				fprintf(stderr, "kv_mem: bad -f '%s': 0 < f "
					"<= 1\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: kv_mem [-n ITEMS] [-K KEY_BYTES] "
			       "[-v VALUE_BYTES] [-p PARTITIONS] [-f FILL]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind < argc || n < 1 || n > 100000000 || ksize < 12 ||
	    ksize > SK_KV_KEY_MAX || vsize > SK_KV_VALUE_MAX || np < 1 ||
	    np > 65536 || (np & (np - 1))) {
		fprintf(stderr, "kv_mem: need 1 <= -n <= 10^8, 12 <= -K <= 250, "
			"-v <= 1 MiB, -p a power of two up to 65536\n");
		return 2;
	}
	count = calloc(np, sizeof(*count));
	parts = calloc(np, sizeof(*parts));
	mem = calloc(np, sizeof(*mem));
	val = calloc(1, vsize + 1);
	if (count == NULL || parts == NULL || mem == NULL || val == NULL)
		return 1;
	/* Where each key goes, first, to size the partitions. */
	for (unsigned long i = 0; i < n; i++) {
		int l = snprintf(key, sizeof(key), "k%0*lu", (int)ksize - 1, i);
		uint64_t h = sk_kv_key_hash(&hkey, key, (size_t)l);

		count[sk_kv_partition_of(h, (uint32_t)np)]++;
	}
	for (unsigned long p = 0; p < np; p++)
		if (count[p] > per_max)
			per_max = count[p];
	nb = (uint64_t)ceil((double)per_max / (SK_KV_SLOTS * fill));
	if (nb < 2)
		nb = 2;
	/* Room for every item at up to 1.25 x its units (size classes),
	 * plus slack: what is not carved is not counted. */
	chunk_max = (sk_kv_item_size(ksize, vsize) * 5 / 4 + SK_KV_UNIT - 1) &
		    ~(uint64_t)(SK_KV_UNIT - 1);
	/* Whole pages: aligned_alloc wants a multiple of its alignment. */
	psize = (SK_KV_HDR_SIZE + nb * SK_KV_LINE + per_max * chunk_max +
		 (64u << 10) + 4095) & ~(size_t)4095;
	heap0 = mallinfo2().uordblks;
	for (unsigned long p = 0; p < np; p++) {
		struct sk_kv_part_cfg cfg = {
			.partition = (uint32_t)p,
			.epoch = 1,
			.nbuckets = nb,
			.hkey = hkey,
			.quarantine_ns = 100000000ull,
		};

		mem[p] = aligned_alloc(4096, psize);
		if (mem[p] == NULL ||
		    sk_kv_part_init(mem[p], psize, &cfg, &parts[p]) != 0) {
			fprintf(stderr, "kv_mem: cannot lay out partition %lu "
				"(%zu bytes)\n", p, psize);
			return 1;
		}
	}
	for (unsigned long i = 0; i < n; i++) {
		int l = snprintf(key, sizeof(key), "k%0*lu", (int)ksize - 1, i);
		uint64_t h = sk_kv_key_hash(&hkey, key, (size_t)l);
		uint32_t p = sk_kv_partition_of(h, (uint32_t)np);
		int rc;

		memcpy(val, &i, sizeof(i) < vsize ? sizeof(i) : vsize);
		rc = sk_kv_part_set(parts[p], key, (size_t)l, val, vsize, NULL,
				    0, 0, 0, 1000 + i, NULL);
		if (rc == 0) {
			stored++;
		} else if (rc == SK_KV_ERR_PAIR_FULL) {
			pair_full++;
		} else if (failed++ < 5) {
			fprintf(stderr, "kv_mem: key %lu (partition %u): %s\n",
				i, p, sk_kv_status_str(rc));
		}
	}
	heap1 = mallinfo2().uordblks;
	for (unsigned long p = 0; p < np; p++) {
		struct sk_kv_part_stats st;

		sk_kv_part_stats(parts[p], &st);
		items += st.items;
		region += SK_KV_HDR_SIZE + nb * SK_KV_LINE + st.store_used;
		reserved += psize;
	}
	{
		double kv_bytes = (double)stored * (double)(ksize + vsize);
		double heap = (double)heap1 - (double)heap0;
		double hdr_b = (double)np * (SK_KV_HDR_SIZE +
					     nb * SK_KV_LINE);

		printf("kv_mem: %lu items of %lu B keys and %lu B values over "
		       "%lu partitions of %" PRIu64 " buckets (%.2f of slots "
		       "used); %" PRIu64 " stored, %" PRIu64 " refused (pair "
		       "full), %" PRIu64 " failed\n", n,
		       ksize, vsize, np, nb,
		       (double)items / ((double)np * (double)nb * SK_KV_SLOTS),
		       stored, pair_full, failed);
		printf("kv_mem: region in use %" PRIu64 " B (headers and "
		       "buckets %.0f, items %.0f), owner heap %.0f B, regions "
		       "reserved %" PRIu64 " B\n", region, hdr_b,
		       (double)region - hdr_b, heap, reserved);
		printf("kv_mem: per item: buckets %.1f B, item chunk beyond key "
		       "and value %.1f B, owner heap %.1f B\n",
		       hdr_b / (double)stored,
		       ((double)region - hdr_b - kv_bytes) / (double)stored,
		       heap / (double)stored);
		printf("kv_mem: bytes_per_item_overhead=%.1f items=%" PRIu64
		       "\n", ((double)region + heap - kv_bytes) /
		       (double)stored, stored);
	}
	for (unsigned long p = 0; p < np; p++) {
		sk_kv_part_cleanup(parts[p]);
		free(mem[p]);
	}
	free(parts);
	free(mem);
	free(count);
	free(val);
	return failed || pair_full ? 1 : 0;
}
