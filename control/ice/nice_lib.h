/* nice_lib.h - libnice, opened at run time. A gateway without ice { } never
 * loads it: linked in, libnice brought some 40 libraries along (gio, gnutls,
 * gupnp, libsoup, libxml2, ICU, krb5, ...) and about 5 MiB of resident memory
 * to every gateway, over the light-mode budget (docs/benchmarks.md §14). Only
 * control/ice/ice.c calls libnice, through the table below.
 *
 * Thread: control. ipop_nice is written once, by the first successful
 * ipop_nice_load (start-up, or the first agent), before any call through it;
 * it is never written again, so readers need no protection.
 */
#ifndef IPOP_CONTROL_ICE_NICE_LIB_H
#define IPOP_CONTROL_ICE_NICE_LIB_H

#include <stddef.h>
#include <nice/agent.h>

/* The libnice functions ipop uses, with their own prototypes' types. */
struct ipop_nice_lib {
	__typeof__(nice_address_init) *address_init;
	__typeof__(nice_address_set_from_string) *address_set_from_string;
	__typeof__(nice_address_get_port) *address_get_port;
	__typeof__(nice_address_ip_version) *address_ip_version;
	__typeof__(nice_candidate_free) *candidate_free;
	__typeof__(nice_agent_new_full) *agent_new_full;
	__typeof__(nice_agent_add_stream) *agent_add_stream;
	__typeof__(nice_agent_add_local_address) *agent_add_local_address;
	__typeof__(nice_agent_set_port_range) *agent_set_port_range;
	__typeof__(nice_agent_set_relay_info) *agent_set_relay_info;
	__typeof__(nice_agent_attach_recv) *agent_attach_recv;
	__typeof__(nice_agent_gather_candidates) *agent_gather_candidates;
	__typeof__(nice_agent_get_local_credentials) *agent_get_local_credentials;
	__typeof__(nice_agent_set_remote_credentials) *agent_set_remote_credentials;
	__typeof__(nice_agent_generate_local_candidate_sdp) *agent_generate_local_candidate_sdp;
	__typeof__(nice_agent_parse_remote_candidate_sdp) *agent_parse_remote_candidate_sdp;
	__typeof__(nice_agent_set_remote_candidates) *agent_set_remote_candidates;
	__typeof__(nice_agent_peer_candidate_gathering_done) *agent_peer_candidate_gathering_done;
	__typeof__(nice_agent_close_async) *agent_close_async;
};

extern struct ipop_nice_lib ipop_nice;

/* Open libnice and fill ipop_nice, once; later calls return the first
 * outcome. 0, or -ELIBACC with the reason (the loader's message, or the
 * missing symbol) in err. */
int ipop_nice_load(char *err, size_t errlen);

#endif
