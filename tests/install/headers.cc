// Every installed Skiff header in one C++ program, built by
// tests/install/out-of-tree.sh with the installed skiffc++ (and with g++
// and pkg-config) and run under the installed skrun.
//
// It takes the address of one function of each header: a header without
// extern "C" gives C++-mangled names, and the link fails on that header.
#include <skiff/arena.h>
#include <skiff/config.h>
#include <skiff/file.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/rpc.h>
#include <skiff/status.h>
#include <skiff/verbs.h>
#include <skiff/version.h>

#include <cstdio>
#include <cstring>

static_assert(SKIFF_VERSION_NUMBER ==
		      SKIFF_VERSION_ENCODE(SKIFF_VERSION_MAJOR,
					   SKIFF_VERSION_MINOR,
					   SKIFF_VERSION_PATCH),
	      "SKIFF_VERSION_NUMBER");

typedef void (*any_func)(void);

static const struct {
	const char *header;
	any_func    func;
} used[] = {
	{"status.h", reinterpret_cast<any_func>(&sk_status_str)},
	{"config.h", reinterpret_cast<any_func>(&sk_config_str)},
	{"verbs.h", reinterpret_cast<any_func>(&sk_dev_open)},
	{"arena.h", reinterpret_cast<any_func>(&sk_arena_alloc)},
	{"loop.h", reinterpret_cast<any_func>(&sk_loop_run_once)},
	{"file.h", reinterpret_cast<any_func>(&sk_fopen)},
	{"os.h", reinterpret_cast<any_func>(&sk_os_rank)},
	{"rpc.h", reinterpret_cast<any_func>(&sk_rpc_destroy)},
};

int main(void)
{
	const size_t n = sizeof(used) / sizeof(used[0]);

	for (size_t i = 0; i < n; i++) {
		if (used[i].func == nullptr) {
			std::printf("%s: no function\n", used[i].header);
			return 1;
		}
	}
	std::printf("c++ rank %u of %u: skiff %s, %zu headers linked, "
		    "SK_OK is '%s', provider '%s'\n",
		    sk_os_rank(), sk_os_size(), SKIFF_VERSION, n,
		    sk_status_str(SK_OK), sk_config_str("SKIFF_PROVIDER"));
	return 0;
}
