/*
 * Skiff status codes: one type for every layer.
 *
 * 0 is success, a positive value means "in progress", a negative value is a
 * named error. errno and provider codes (ibv_wc_status, ucs_status_t) are
 * converted once, at the provider boundary, and never leak above it.
 */
#ifndef SKIFF_STATUS_H
#define SKIFF_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_status {
	SK_OK                 = 0,
	SK_INPROGRESS         = 1,   /* started; a completion will follow */

	/* Local, synchronous errors */
	SK_ERR_NOMEM          = -1,  /* out of memory or registered memory */
	SK_ERR_INVAL          = -2,  /* invalid argument from the caller */
	SK_ERR_UNSUPPORTED    = -3,  /* the provider cannot do this */
	SK_ERR_NODEV          = -4,  /* no such provider or device */
	SK_ERR_IO             = -5,  /* a system or provider call failed */
	SK_ERR_AGAIN          = -6,  /* queue full: poll completions, retry */
	SK_ERR_BUSY           = -7,  /* events pending: poll before sleeping */
	SK_ERR_TIMEOUT        = -8,  /* a bounded wait ran out */
	SK_ERR_NOT_CONNECTED  = -9,  /* endpoint not connected yet */
	SK_ERR_CONFIG         = -10, /* a SKIFF_* variable has a bad value */
	SK_ERR_UNREACHABLE    = -11, /* no such peer, or it finished or
	                              * refused */

	/* Bytes from outside (a peer, a file, the network) were rejected */
	SK_ERR_MALFORMED      = -20, /* truncated, wrong length or bad field */
	SK_ERR_VERSION        = -21, /* wire version we do not speak */
	SK_ERR_WRONG_PROVIDER = -22, /* made by another provider */

	/* Completion statuses of posted operations */
	SK_ERR_REMOTE_ACCESS  = -30, /* bad key, rights or range at target */
	SK_ERR_RETRY_EXCEEDED = -31, /* the peer stopped answering */
	SK_ERR_FLUSHED        = -32, /* endpoint in error; not executed */
	SK_ERR_REMOTE_OP      = -33, /* target failed it (no receive posted) */
	SK_ERR_LOCAL_LENGTH   = -34, /* message larger than the receive */
	SK_ERR_LOCAL_ACCESS   = -35, /* local buffer not covered by its MR */
} sk_status_t;

/* Human-readable text for a status; never NULL, valid forever. */
const char *sk_status_str(sk_status_t status);

/* Convert an errno value into a status (done once, at the boundary). */
sk_status_t sk_status_from_errno(int err);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_STATUS_H */
