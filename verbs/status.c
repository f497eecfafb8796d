/*
 * Status and opcode codes to text, and the one place errno becomes a
 * status. Providers call these too, so they live below verbs.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <skiff/status.h>

#include "provider.h"

const char *sk_status_str(sk_status_t status)
{
	switch (status) {
	case SK_OK:                 return "success";
	case SK_INPROGRESS:         return "operation in progress";
	case SK_ERR_NOMEM:          return "out of memory";
	case SK_ERR_INVAL:          return "invalid argument";
	case SK_ERR_UNSUPPORTED:    return "not supported by this provider";
	case SK_ERR_NODEV:          return "no such provider or device";
	case SK_ERR_IO:             return "input/output error";
	case SK_ERR_AGAIN:          return "queue full, try again";
	case SK_ERR_BUSY:           return "events pending";
	case SK_ERR_TIMEOUT:        return "timed out";
	case SK_ERR_NOT_CONNECTED:  return "endpoint not connected";
	case SK_ERR_CONFIG:         return "bad configuration value";
	case SK_ERR_UNREACHABLE:    return "peer unreachable";
	case SK_ERR_MALFORMED:      return "malformed input";
	case SK_ERR_VERSION:        return "unsupported wire version";
	case SK_ERR_WRONG_PROVIDER: return "made by another provider";
	case SK_ERR_REMOTE_ACCESS:  return "remote access error";
	case SK_ERR_RETRY_EXCEEDED: return "transport retry counter exceeded";
	case SK_ERR_FLUSHED:        return "flushed: endpoint in error state";
	case SK_ERR_REMOTE_OP:      return "remote operation error";
	case SK_ERR_LOCAL_LENGTH:   return "local length error";
	case SK_ERR_LOCAL_ACCESS:   return "local protection error";
	}
	return "unknown status";
}

sk_status_t sk_status_from_errno(int err)
{
	switch (err) {
	case 0:         return SK_OK;
	case ENOMEM:    return SK_ERR_NOMEM;
	case EINVAL:    return SK_ERR_INVAL;
	case EOPNOTSUPP: return SK_ERR_UNSUPPORTED;
	case ENODEV:
	case ENOENT:    return SK_ERR_NODEV;
	case EAGAIN:    return SK_ERR_AGAIN;
	case ETIMEDOUT: return SK_ERR_TIMEOUT;
	default:        return SK_ERR_IO;
	}
}

void sk_log_error(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One write, so lines from many processes do not interleave. */
	fprintf(stderr, "skiff: %s\n", line);
}

const char *sk_opcode_str(unsigned opcode)
{
	static const char *const names[] = {
		[SK_OP_WRITE] = "write",   [SK_OP_WRITE_IMM] = "write_imm",
		[SK_OP_READ] = "read",     [SK_OP_CAS] = "cas",
		[SK_OP_FADD] = "fadd",     [SK_OP_SEND] = "send",
		[SK_OP_FLUSH] = "flush",   [SK_OP_RECV] = "recv",
		[SK_OP_RECV_IMM] = "recv_imm",
	};

	if (opcode < SK_ARRAY_SIZE(names) && names[opcode])
		return names[opcode];
	return "unknown";
}
