/* hs_fixture.h - fixed keys and an initiator waiting for its response, shared by
 * the handshake fuzz target and the seed generator, so that generated seeds are
 * valid messages for the target.
 *
 * Thread: one (the fuzzer's). Determinism: libsodium's random source is
 * replaced by a counter-based stream (hs_fixture_rng_install, to be called
 * before anything else uses libsodium), so the initiator's ephemeral key, and
 * with it the only response it accepts, is the same in every process. Test
 * code only: never link this into ipopd.
 */
#ifndef IPOP_TESTS_FUZZ_HS_FIXTURE_H
#define IPOP_TESTS_FUZZ_HS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "control/session/noise.h"

#define HS_FIXTURE_PROLOGUE "ipop fuzz prologue"
#define HS_FIXTURE_INIT_INDEX 0x11223344u   /* the initiator's sender_index */

struct hs_fixture {
	struct ipop_noise_keypair ini, resp;   /* static keys of both sides */
	struct ipop_noise_hs ini_hs;           /* initiator after message 1: I_SENT */
	struct ipop_hs_init msg1;              /* the message it sent */
	uint8_t mac1_key_ini[32];              /* mac1 key of messages to ini */
	uint8_t mac1_key_resp[32];             /* mac1 key of messages to resp */
};

/* Replace libsodium's random source by a deterministic stream (restarted at
 * its first value) and initialise libsodium. Returns 0 or -EIO. */
int hs_fixture_rng_install(void);

/* Fill f: both key pairs from fixed scalars, and message 1 from ini to resp. */
int hs_fixture_setup(struct hs_fixture *f);

/* As the responder, accept f->msg1 and write the response it answers with. */
int hs_fixture_response(struct hs_fixture *f, struct ipop_hs_resp *out);

#endif
