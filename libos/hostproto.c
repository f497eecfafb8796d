/*
 * The checker of host-service requests: the one place where the host looks
 * at bytes a node sent, before any service acts on them (hostproto.h).
 *
 * Its rule is that a service sees only what passed: sizes agree with the
 * header, fixed parts are whole, strings end inside the message, paths are
 * not empty and fit SK_HMSG_PATH_MAX, and bulk lengths are bounded.
 * tests/fuzz/fuzz_hostmsg.c drives it with arbitrary bytes.
 */
#include <stdbool.h>
#include <string.h>

#include <skiff/hostproto.h>

const char *sk_boot_result_str(unsigned result)
{
	switch (result) {
	case SK_BOOT_OK:         return "ok";
	case SK_BOOT_BAD_SECRET: return "wrong job secret";
	case SK_BOOT_BAD_RANK:   return "rank or size does not match the job";
	case SK_BOOT_DUP_RANK:   return "that rank has already joined";
	case SK_BOOT_MALFORMED:  return "malformed hello";
	case SK_BOOT_ABORTED:    return "the job is ending";
	default:                 return "unknown result";
	}
}

const char *sk_hmsg_type_str(unsigned type)
{
	static const char *const names[] = {
		[SK_HMSG_READY] = "READY",     [SK_HMSG_CONSOLE] = "CONSOLE",
		[SK_HMSG_STDIN_READ] = "STDIN_READ",
		[SK_HMSG_FINALIZE] = "FINALIZE", [SK_HMSG_ABORT] = "ABORT",
		[SK_HMSG_OPEN] = "OPEN",       [SK_HMSG_CLOSE] = "CLOSE",
		[SK_HMSG_READ] = "READ",       [SK_HMSG_WRITE] = "WRITE",
		[SK_HMSG_LSEEK] = "LSEEK",     [SK_HMSG_FSTAT] = "FSTAT",
		[SK_HMSG_UNLINK] = "UNLINK",   [SK_HMSG_MKDIR] = "MKDIR",
		[SK_HMSG_READDIR] = "READDIR", [SK_HMSG_CONNECT] = "CONNECT",
		[SK_HMSG_LISTEN] = "LISTEN",   [SK_HMSG_ACCEPT] = "ACCEPT",
		[SK_HMSG_BARRIER] = "BARRIER", [SK_HMSG_CONNECTED] = "CONNECTED",
		[SK_HMSG_STAT] = "STAT",       [SK_HMSG_FSYNC] = "FSYNC",
		[SK_HMSG_FTRUNCATE] = "FTRUNCATE", [SK_HMSG_RENAME] = "RENAME",
	};

	if (type == SK_HMSG_REPLY)
		return "REPLY";
	if (type == SK_HMSG_BOOT)
		return "BOOT";
	if (type == SK_HMSG_PEER)
		return "PEER";
	if (type < SK_HMSG_TYPE_MAX && names[type])
		return names[type];
	return "unknown";
}

/* A NUL-terminated, non-empty path filling [p, p + len) exactly. */
static const char *sk_hmsg_path(const char *p, size_t len, const char **why)
{
	if (len == 0) {
		*why = "missing path";
		return NULL;
	}
	if (len > SK_HMSG_PATH_MAX) {
		*why = "path longer than SK_HMSG_PATH_MAX";
		return NULL;
	}
	if (p[len - 1] != '\0' || memchr(p, '\0', len) != p + len - 1) {
		*why = "path not NUL-terminated at the end of the message";
		return NULL;
	}
	if (len == 1) {
		*why = "empty path";
		return NULL;
	}
	return p;
}

#define NEED(n)                                                  \
	do {                                                     \
		if (plen < (n)) {                                \
			*why = "payload shorter than its request";  \
			return SK_ERR_MALFORMED;                 \
		}                                                \
	} while (0)
#define EXACT(n)                                                 \
	do {                                                     \
		if (plen != (n)) {                               \
			*why = "payload size does not match its request"; \
			return SK_ERR_MALFORMED;                 \
		}                                                \
	} while (0)

sk_status_t sk_hmsg_parse(const void *buf, size_t len, struct sk_hreq *req,
			  const char **why)
{
	const char *p = (const char *)buf + sizeof(struct sk_hmsg_hdr);
	size_t plen;

	if (len < sizeof(struct sk_hmsg_hdr)) {
		*why = "shorter than a header";
		return SK_ERR_MALFORMED;
	}
	if (len > SK_HMSG_SLOT_SIZE) {
		*why = "longer than a slot";
		return SK_ERR_MALFORMED;
	}
	memset(req, 0, sizeof(*req));
	memcpy(&req->hdr, buf, sizeof(req->hdr));
	plen = len - sizeof(struct sk_hmsg_hdr);
	if (req->hdr.len != plen) {
		*why = "header length disagrees with the bytes received";
		return SK_ERR_MALFORMED;
	}
	if (req->hdr.result != 0) {
		*why = "a request carries a result";
		return SK_ERR_MALFORMED;
	}
	switch (req->hdr.type) {
	case SK_HMSG_READY:
		NEED(1);
		req->u.bytes.data = p;
		req->u.bytes.len = plen;
		break;
	case SK_HMSG_CONSOLE:
		if (req->hdr.flags != 1 && req->hdr.flags != 2) {
			*why = "console stream is neither stdout nor stderr";
			return SK_ERR_MALFORMED;
		}
		req->u.bytes.data = p;
		req->u.bytes.len = plen;
		break;
	case SK_HMSG_STDIN_READ:
		EXACT(sizeof(uint32_t));
		memcpy(&req->u.max, p, sizeof(uint32_t));
		if (req->u.max == 0 || req->u.max > SK_HMSG_PAYLOAD_MAX) {
			*why = "stdin read size out of range";
			return SK_ERR_MALFORMED;
		}
		break;
	case SK_HMSG_FINALIZE:
		EXACT(0);
		if ((req->hdr.flags & ~SK_HFIN_LEAVE) != 0) {
			*why = "unknown finalize flags";
			return SK_ERR_MALFORMED;
		}
		break;
	case SK_HMSG_ABORT:
		NEED(sizeof(int32_t) + 1);
		memcpy(&req->u.abort.code, p, sizeof(int32_t));
		p += sizeof(int32_t);
		plen -= sizeof(int32_t);
		if (p[plen - 1] != '\0') {
			*why = "abort message not NUL-terminated";
			return SK_ERR_MALFORMED;
		}
		req->u.abort.msg = p;
		break;
	case SK_HMSG_OPEN:
		NEED(sizeof(struct sk_hreq_open));
		memcpy(&req->u.open.o, p, sizeof(struct sk_hreq_open));
		req->u.open.path = sk_hmsg_path(
			p + sizeof(struct sk_hreq_open),
			plen - sizeof(struct sk_hreq_open), why);
		if (req->u.open.path == NULL)
			return SK_ERR_MALFORMED;
		break;
	case SK_HMSG_CLOSE:
	case SK_HMSG_FSTAT:
	case SK_HMSG_READDIR:
		EXACT(sizeof(struct sk_hreq_fd));
		memcpy(&req->u.fd, p, sizeof(struct sk_hreq_fd));
		break;
	case SK_HMSG_READ:
	case SK_HMSG_WRITE:
		NEED(sizeof(struct sk_hreq_io));
		memcpy(&req->io, p, sizeof(struct sk_hreq_io));
		p += sizeof(struct sk_hreq_io);
		plen -= sizeof(struct sk_hreq_io);
		if (req->io.offset < -1) {
			*why = "negative file offset";
			return SK_ERR_MALFORMED;
		}
		if ((req->hdr.flags &
		     ~(SK_HIO_HOSTBUF | SK_HIO_WHOLE | SK_HIO_GROW)) ||
		    (req->hdr.type == SK_HMSG_READ &&
		     (req->hdr.flags & (SK_HIO_WHOLE | SK_HIO_GROW))) ||
		    ((req->hdr.flags & SK_HIO_GROW) &&
		     (~req->hdr.flags & (SK_HIO_HOSTBUF | SK_HIO_WHOLE)))) {
			*why = "unknown read/write flags";
			return SK_ERR_MALFORMED;
		}
		if (req->hdr.flags & SK_HIO_HOSTBUF) {
			if (plen != 0 || req->io.len > SK_HMSG_BULK_MAX ||
			    req->io.raddr > SK_HMSG_AREA_MAX - req->io.len) {
				*why = "host-buffer transfer with bytes, or "
				       "past any bulk area";
				return SK_ERR_MALFORMED;
			}
			req->u.bytes.data = p;
			req->u.bytes.len = 0;
		} else if (req->io.raddr == 0) {
			size_t inl = req->hdr.type == SK_HMSG_WRITE ?
					     plen : 0;

			/* Inline: a write carries exactly its bytes, a read
			 * asks for what fits in a reply. */
			if (req->hdr.type == SK_HMSG_WRITE ?
				    req->io.len != inl :
				    (plen != 0 ||
				     req->io.len > SK_HMSG_PAYLOAD_MAX)) {
				*why = "inline length disagrees with the "
				       "message";
				return SK_ERR_MALFORMED;
			}
			req->u.bytes.data = p;
			req->u.bytes.len = inl;
		} else if (plen > SK_BLOB_MAX ||
			   req->io.len > SK_HMSG_BULK_MAX) {
			*why = "bulk request over SK_HMSG_BULK_MAX or with a "
			       "key over SK_BLOB_MAX";
			return SK_ERR_MALFORMED;
		} else {
			/* The key of the node's memory at @raddr, when
			 * it is not the bounce region's. */
			req->u.bytes.data = p;
			req->u.bytes.len = plen;
		}
		break;
	case SK_HMSG_LSEEK:
		EXACT(sizeof(struct sk_hreq_lseek));
		memcpy(&req->u.lseek, p, sizeof(struct sk_hreq_lseek));
		break;
	case SK_HMSG_UNLINK:
	case SK_HMSG_STAT:
		req->u.path = sk_hmsg_path(p, plen, why);
		if (req->u.path == NULL)
			return SK_ERR_MALFORMED;
		break;
	case SK_HMSG_FSYNC:
		EXACT(sizeof(struct sk_hreq_fd));
		memcpy(&req->u.fd, p, sizeof(struct sk_hreq_fd));
		if ((req->hdr.flags & ~SK_HFSYNC_DATA) != 0 ||
		    req->u.fd.reserved != 0) {
			*why = "unknown fsync flags";
			return SK_ERR_MALFORMED;
		}
		break;
	case SK_HMSG_FTRUNCATE:
		EXACT(sizeof(struct sk_hreq_trunc));
		memcpy(&req->u.trunc, p, sizeof(struct sk_hreq_trunc));
		if (req->u.trunc.length < 0 || req->u.trunc.reserved != 0) {
			*why = "negative length";
			return SK_ERR_MALFORMED;
		}
		break;
	case SK_HMSG_RENAME: {
		/* Two paths, each NUL-terminated, and nothing after. */
		const char *nul = plen ? memchr(p, '\0', plen) : NULL;
		size_t l1;

		if (nul == NULL) {
			*why = "rename without two paths";
			return SK_ERR_MALFORMED;
		}
		l1 = (size_t)(nul - p) + 1;
		req->u.rename.from = sk_hmsg_path(p, l1, why);
		if (req->u.rename.from == NULL)
			return SK_ERR_MALFORMED;
		req->u.rename.to = sk_hmsg_path(p + l1, plen - l1, why);
		if (req->u.rename.to == NULL)
			return SK_ERR_MALFORMED;
		break;
	}
	case SK_HMSG_MKDIR:
		NEED(sizeof(struct sk_hreq_mkdir));
		memcpy(&req->u.mkdir.m, p, sizeof(struct sk_hreq_mkdir));
		req->u.mkdir.path = sk_hmsg_path(
			p + sizeof(struct sk_hreq_mkdir),
			plen - sizeof(struct sk_hreq_mkdir), why);
		if (req->u.mkdir.path == NULL)
			return SK_ERR_MALFORMED;
		break;
	case SK_HMSG_CONNECT:
	case SK_HMSG_ACCEPT: {
		struct sk_hreq_peer *hp = &req->u.peer.p;
		bool refused;

		NEED(sizeof(*hp));
		memcpy(hp, p, sizeof(*hp));
		req->u.peer.blob = p + sizeof(*hp);
		req->u.peer.len = plen - sizeof(*hp);
		if (hp->service >= SK_HSERVICE_MAX) {
			*why = "service number out of range";
			return SK_ERR_MALFORMED;
		}
		if (req->hdr.type == SK_HMSG_CONNECT ?
			    hp->flags != 0 :
			    (hp->flags & ~(SK_HACCEPT_MERGED |
					   SK_HACCEPT_REFUSED)) != 0 ||
				    hp->flags == (SK_HACCEPT_MERGED |
						  SK_HACCEPT_REFUSED)) {
			*why = "unknown connection flags";
			return SK_ERR_MALFORMED;
		}
		refused = req->hdr.type == SK_HMSG_ACCEPT &&
			  (hp->flags & SK_HACCEPT_REFUSED);
		if (refused ? req->u.peer.len != 0 :
			      req->u.peer.len == 0 ||
				      req->u.peer.len > SK_BLOB_MAX) {
			*why = "endpoint address missing or over SK_BLOB_MAX";
			return SK_ERR_MALFORMED;
		}
		break;
	}
	case SK_HMSG_CONNECTED:
		EXACT(sizeof(struct sk_hreq_peer));
		memcpy(&req->u.peer.p, p, sizeof(struct sk_hreq_peer));
		if (req->u.peer.p.service >= SK_HSERVICE_MAX ||
		    req->u.peer.p.flags != 0) {
			*why = "service number or flags out of range";
			return SK_ERR_MALFORMED;
		}
		break;
	case SK_HMSG_LISTEN:
	case SK_HMSG_BARRIER:
		EXACT(0);
		break;
	default:
		*why = "unknown request type";
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}
