# tests/faults: the workloads of the fault walk (tests/faults/walk.sh),
# built in every build; they mean something in the FAULTS=1 build.

TEST_PROGS += $(BUILD)/tests/fault_rpc
$(BUILD)/tests/faults/fault_rpc.o: CPPFLAGS += -Irpc/include -Ilibos/include
$(BUILD)/tests/fault_rpc: $(BUILD)/tests/faults/fault_rpc.o $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
