/*
 * Private to libos: connections between nodes and finalize hooks
 * (peer.c), as boot.c drives them. Their state is peer.c's own.
 */
#ifndef SKIFF_LIBOS_PEER_H
#define SKIFF_LIBOS_PEER_H

/* Room for libos's endpoint to every rank, made on first use. 0 or
 * -ENOMEM. */
int sk_node_peers_init(void);
/* Post the LISTEN for nodes that connect to this one (and take the host's
 * PEERs from now on). */
void sk_node_listen_start(void);
/* Sealed mode: libos's endpoint to every node, then a barrier. 0 or a
 * negated errno. */
int sk_node_peers_connect_all(void);
/* Finalize: refuse nodes that connect from now on, then run the hooks of
 * sk_os_at_finalize (last registered first). */
void sk_node_run_fini(void);
/* Wait at most @ms milliseconds for what libos's endpoints still send. */
void sk_node_peers_flush(unsigned ms);
/* Destroy libos's endpoints and those parked for a service, and the
 * room of sk_node_peers_init. */
void sk_node_peers_close(void);

#endif /* SKIFF_LIBOS_PEER_H */
