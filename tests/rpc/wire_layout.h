/*
 * rpc's message header as the tests read it, byte by byte: test_rpc_wire
 * and fuzz_rpc's model both decode with these offsets. Written from the
 * layout rpc/wire.h documents, and kept apart from its own defines on
 * purpose, so that a field that moves there shows up here as a failure.
 */
#ifndef SKIFF_TESTS_RPC_WIRE_LAYOUT_H
#define SKIFF_TESTS_RPC_WIRE_LAYOUT_H

#define OFF_MAGIC     0
#define OFF_TYPE      2
#define OFF_FLAGS     3
#define OFF_HANDLER   4
#define OFF_CALL      6
#define OFF_LEN       8
#define OFF_RESP_CAP  12
#define OFF_GEN       16
#define OFF_STATUS    20
#define OFF_REQ_ADDR  24
#define OFF_RESP_ADDR 32
#define HDR           40

#endif /* SKIFF_TESTS_RPC_WIRE_LAYOUT_H */
