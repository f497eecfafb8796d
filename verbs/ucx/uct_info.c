/*
 * The limits of one UCX transport on one device, as `ucx_info -d` prints
 * them, for skinfo: UCT's own query of the interface (uct_iface_query),
 * opened on the memory domain that offers it. Only skinfo links this (and
 * libuct): nodes and skrun never need it.
 *
 * Which transports to show is the ucx provider's answer (the ones its UCP
 * context really uses after UCX_TLS and UCX_NET_DEVICES); this file only
 * reports what UCT says about each.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/async/async_fwd.h>
#include <uct/api/uct.h>

#include "uct_info.h"

static const char *uct_dev_type_str(uct_device_type_t t)
{
	switch (t) {
	case UCT_DEVICE_TYPE_NET:
		return "network";
	case UCT_DEVICE_TYPE_SHM:
		return "shared memory";
	case UCT_DEVICE_TYPE_ACC:
		return "accelerator";
	case UCT_DEVICE_TYPE_SELF:
		return "loopback";
	default:
		return "?";
	}
}

/* A byte count as ucx_info writes it: 8K, 64K, 1M, or bytes. */
static const char *uct_size_str(size_t v, char *buf, size_t len)
{
	if (v == SIZE_MAX || v >= (1ull << 62))
		snprintf(buf, len, "(unlimited)");
	else if (v >= (1u << 20) && v % (1u << 20) == 0)
		snprintf(buf, len, "%zuM", v >> 20);
	else if (v >= 1024 && v % 1024 == 0)
		snprintf(buf, len, "%zuK", v >> 10);
	else
		snprintf(buf, len, "%zu", v);
	return buf;
}

/* One operation's short/bcopy/zcopy limits, for the ones it has. */
static void uct_print_op(FILE *out, const char *indent, const char *op,
			 uint64_t flags, uint64_t f_short, uint64_t f_bcopy,
			 uint64_t f_zcopy, size_t m_short, size_t m_bcopy,
			 size_t m_zcopy)
{
	char a[32], b[32], c[32];

	if (!(flags & (f_short | f_bcopy | f_zcopy)))
		return;
	fprintf(out, "%s%-10s", indent, op);
	if (flags & f_short)
		fprintf(out, " short <= %s",
			uct_size_str(m_short, a, sizeof(a)));
	if (flags & f_bcopy)
		fprintf(out, " bcopy <= %s",
			uct_size_str(m_bcopy, b, sizeof(b)));
	if (flags & f_zcopy)
		fprintf(out, " zcopy <= %s",
			uct_size_str(m_zcopy, c, sizeof(c)));
	fputc('\n', out);
}

static void uct_print_attr(FILE *out, const char *indent,
			   const uct_tl_resource_desc_t *res,
			   const uct_iface_attr_t *ia)
{
	uint64_t f = ia->cap.flags;

	fprintf(out, "%stype:      %s\n", indent,
		uct_dev_type_str(res->dev_type));
	fprintf(out, "%sbandwidth: %.2f/ppn + %.2f MB/s\n", indent,
		ia->bandwidth.shared / 1e6, ia->bandwidth.dedicated / 1e6);
	fprintf(out, "%slatency:   %.0f ns\n", indent, ia->latency.c * 1e9);
	fprintf(out, "%soverhead:  %.0f ns\n", indent, ia->overhead * 1e9);
	uct_print_op(out, indent, "put:", f, UCT_IFACE_FLAG_PUT_SHORT,
		     UCT_IFACE_FLAG_PUT_BCOPY, UCT_IFACE_FLAG_PUT_ZCOPY,
		     ia->cap.put.max_short, ia->cap.put.max_bcopy,
		     ia->cap.put.max_zcopy);
	uct_print_op(out, indent, "get:", f, UCT_IFACE_FLAG_GET_SHORT,
		     UCT_IFACE_FLAG_GET_BCOPY, UCT_IFACE_FLAG_GET_ZCOPY,
		     ia->cap.get.max_short, ia->cap.get.max_bcopy,
		     ia->cap.get.max_zcopy);
	uct_print_op(out, indent, "am:", f, UCT_IFACE_FLAG_AM_SHORT,
		     UCT_IFACE_FLAG_AM_BCOPY, UCT_IFACE_FLAG_AM_ZCOPY,
		     ia->cap.am.max_short, ia->cap.am.max_bcopy,
		     ia->cap.am.max_zcopy);
	fprintf(out, "%satomics:   %s\n", indent,
		(ia->cap.atomic64.op_flags | ia->cap.atomic64.fop_flags)
			? "64-bit"
			: "none (emulated by UCP)");
	fprintf(out, "%sconnect:   %s%s\n", indent,
		(f & UCT_IFACE_FLAG_CONNECT_TO_IFACE) ? "to iface" : "",
		(f & UCT_IFACE_FLAG_CONNECT_TO_EP)
			? ((f & UCT_IFACE_FLAG_CONNECT_TO_IFACE) ? ", to ep"
								 : "to ep")
			: "");
}

/* Open @tl on @dev of memory domain @md, print its limits. */
static int uct_show_iface(FILE *out, const char *indent, uct_md_h md,
			  const uct_tl_resource_desc_t *res)
{
	uct_iface_params_t p = {
		.field_mask = UCT_IFACE_PARAM_FIELD_OPEN_MODE |
			      UCT_IFACE_PARAM_FIELD_DEVICE |
			      UCT_IFACE_PARAM_FIELD_STATS_ROOT |
			      UCT_IFACE_PARAM_FIELD_RX_HEADROOM,
		.open_mode = UCT_IFACE_OPEN_MODE_DEVICE,
		.mode.device = {.tl_name = res->tl_name,
				.dev_name = res->dev_name},
	};
	ucs_async_context_t *async = NULL;
	uct_worker_h worker = NULL;
	uct_iface_config_t *ic = NULL;
	uct_iface_h iface = NULL;
	uct_iface_attr_t ia;
	ucs_status_t us;

	us = ucs_async_context_create(UCS_ASYNC_MODE_THREAD_SPINLOCK, &async);
	if (us == UCS_OK)
		us = uct_worker_create(async, UCS_THREAD_MODE_SINGLE, &worker);
	if (us == UCS_OK)
		us = uct_md_iface_config_read(md, res->tl_name, NULL, NULL,
					      &ic);
	if (us == UCS_OK)
		us = uct_iface_open(md, worker, &p, ic, &iface);
	if (us == UCS_OK)
		us = uct_iface_query(iface, &ia);
	if (us == UCS_OK)
		uct_print_attr(out, indent, res, &ia);
	else
		fprintf(out, "%s(UCT cannot open it here: %s)\n", indent,
			ucs_status_string(us));
	if (iface)
		uct_iface_close(iface);
	if (ic)
		uct_config_release(ic);
	if (worker)
		uct_worker_destroy(worker);
	if (async)
		ucs_async_context_destroy(async);
	return us == UCS_OK ? 0 : -1;
}

/* Look in one memory domain for @tl on @dev. 1: shown, 0: not there. */
static int uct_find_in_md(FILE *out, const char *indent, uct_component_h comp,
			  const char *md_name, const char *tl, const char *dev)
{
	uct_md_config_t *mc = NULL;
	uct_tl_resource_desc_t *res = NULL;
	unsigned nres = 0;
	uct_md_h md = NULL;
	int found = 0;

	if (uct_md_config_read(comp, NULL, NULL, &mc) != UCS_OK)
		return 0;
	if (uct_md_open(comp, md_name, mc, &md) != UCS_OK)
		goto out;
	if (uct_md_query_tl_resources(md, &res, &nres) != UCS_OK)
		goto out;
	for (unsigned i = 0; i < nres && !found; i++) {
		if (strcmp(res[i].tl_name, tl) != 0 ||
		    strcmp(res[i].dev_name, dev) != 0)
			continue;
		found = 1;
		uct_show_iface(out, indent, md, &res[i]);
	}
	uct_release_tl_resource_list(res);
out:
	if (md)
		uct_md_close(md);
	uct_config_release(mc);
	return found;
}

int sk_uct_print_limits(FILE *out, const char *indent, const char *tl,
			const char *dev)
{
	uct_component_h *comps;
	unsigned ncomps;
	int found = 0;

	if (uct_query_components(&comps, &ncomps) != UCS_OK)
		return -1;
	for (unsigned c = 0; c < ncomps && !found; c++) {
		uct_component_attr_t ca = {
			.field_mask =
				UCT_COMPONENT_ATTR_FIELD_NAME |
				UCT_COMPONENT_ATTR_FIELD_MD_RESOURCE_COUNT,
		};

		uct_md_resource_desc_t *mds;

		if (uct_component_query(comps[c], &ca) != UCS_OK)
			continue;
		mds = calloc(ca.md_resource_count + 1, sizeof(*mds));
		if (mds == NULL)
			break;
		ca.field_mask = UCT_COMPONENT_ATTR_FIELD_MD_RESOURCES;
		ca.md_resources = mds;
		if (uct_component_query(comps[c], &ca) == UCS_OK)
			for (unsigned m = 0; m < ca.md_resource_count && !found;
			     m++)
				found = uct_find_in_md(out, indent, comps[c],
						       mds[m].md_name, tl, dev);
		free(mds);
	}
	uct_release_component_list(comps);
	if (!found)
		fprintf(out, "%s(UCT does not offer it here)\n", indent);
	return found ? 0 : -1;
}
