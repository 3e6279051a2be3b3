/* nice_lib.c - see nice_lib.h. Thread: control. */
#include "control/ice/nice_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The soname of the libnice ipop is built against (Debian 12: libnice10). */
#define IPOP_LIBNICE_SONAME "libnice.so.10"

struct ipop_nice_lib ipop_nice;

static const struct {
	const char *name;
	size_t off;
} syms[] = {
#define SYM(f) { "nice_" #f, offsetof(struct ipop_nice_lib, f) }
	SYM(address_init), SYM(address_set_from_string), SYM(address_get_port),
	SYM(address_ip_version), SYM(candidate_free), SYM(agent_new_full),
	SYM(agent_add_stream), SYM(agent_add_local_address), SYM(agent_set_port_range),
	SYM(agent_set_relay_info), SYM(agent_attach_recv), SYM(agent_gather_candidates),
	SYM(agent_get_local_credentials), SYM(agent_set_remote_credentials),
	SYM(agent_generate_local_candidate_sdp), SYM(agent_parse_remote_candidate_sdp),
	SYM(agent_set_remote_candidates), SYM(agent_peer_candidate_gathering_done),
	SYM(agent_close_async),
#undef SYM
};

static int state;              /* 0: not tried; 1: loaded; -ELIBACC: failed */
static char failure[256];

static int load(void)
{
	struct ipop_nice_lib lib;
	void *h = dlopen(IPOP_LIBNICE_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		snprintf(failure, sizeof(failure), "cannot load %s (ice { } needs it: apt install "
			 "libnice10): %s", IPOP_LIBNICE_SONAME, dlerror());
		return -ELIBACC;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);
		if (f == NULL) {
			snprintf(failure, sizeof(failure), "%s has no %s", IPOP_LIBNICE_SONAME,
				 syms[i].name);
			dlclose(h);
			return -ELIBACC;
		}
		memcpy((char *)&lib + syms[i].off, &f, sizeof(f));
	}
	ipop_nice = lib;   /* the handle stays open for the process's life */
	return 1;
}

int ipop_nice_load(char *err, size_t errlen)
{
	if (state == 0)
		state = load();
	if (state == 1)
		return 0;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", failure);
	return state;
}
