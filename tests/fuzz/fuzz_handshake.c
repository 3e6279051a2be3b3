/* fuzz_handshake.c - libFuzzer target: the responder's and the initiator's
 * parsing of handshake messages (control/session/noise.c: ipop_noise_init_consume,
 * ipop_noise_resp_consume) and the initiator's opening of cookie replies
 * (control/session/cookie.c: ipop_cookie_reply_open) with fixed keys
 * (hs_fixture.h).
 *
 * Input: one mode byte, then the message (cut or zero-padded to 152 bytes for
 * an initiation, 108 for a response, 64 for a cookie reply).
 *   mode bit 2: a cookie reply to the fixture's initiation (bits 0-1 unused);
 *               it may open only if it is the responder's, and a failure
 *               leaves no cookie behind;
 *   mode bit 0: 0 = initiation to the responder, 1 = response to the waiting
 *               initiator;
 *   mode bit 1: recompute mac1 before parsing, so that the Noise layer behind
 *               the cheap mac1 check is reached (most inputs stop at mac1
 *               otherwise).
 * Checks noise.h's contracts: init_consume wipes the state on failure and
 * reports the initiator's key on success; resp_consume leaves the waiting
 * state untouched on failure and wipes it on success. Thread: one. */
#include "control/session/cookie.h"
#include "control/session/noise.h"
#include "tests/fuzz/hs_fixture.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hs_fixture fx;
static int fx_ok;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fx_ok = hs_fixture_rng_install() == 0 && hs_fixture_setup(&fx) == 0;
	return 0;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void fuzz_init(const uint8_t *data, size_t size, int fix_mac1)
{
	struct ipop_hs_init msg;
	struct ipop_noise_hs hs;
	struct ipop_hs_payload pl;
	uint8_t remote[32];

	memset(&msg, 0, sizeof(msg));
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	if (fix_mac1)
		ipop_noise_mac1(fx.mac1_key_resp, (const uint8_t *)&msg,
				offsetof(struct ipop_hs_init, mac1), msg.mac1);
	memset(&hs, 0xa5, sizeof(hs));
	int rc = ipop_noise_init_consume(&hs, &fx.resp, (const uint8_t *)HS_FIXTURE_PROLOGUE,
					 sizeof(HS_FIXTURE_PROLOGUE) - 1, &msg, remote, &pl);
	if (rc > 0)
		abort();
	if (rc < 0) {
		if (!all_zero(&hs, sizeof(hs)))
			abort();                       /* failure must wipe */
		return;
	}
	/* Only the fixture's initiator can make an initiation that opens. */
	if (memcmp(remote, fx.ini.pub, 32) != 0 || hs.stage != IPOP_NOISE_R_RECEIVED)
		abort();
	ipop_noise_hs_wipe(&hs);
}

static void fuzz_resp(const uint8_t *data, size_t size, int fix_mac1)
{
	struct ipop_hs_resp msg;
	struct ipop_noise_hs work = fx.ini_hs;
	struct ipop_hs_payload pl;
	struct ipop_noise_session keys;

	memset(&msg, 0, sizeof(msg));
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	if (fix_mac1)
		ipop_noise_mac1(fx.mac1_key_ini, (const uint8_t *)&msg,
				offsetof(struct ipop_hs_resp, mac1), msg.mac1);
	int rc = ipop_noise_resp_consume(&work, &msg, &pl, &keys);
	if (rc > 0)
		abort();
	if (rc < 0 && memcmp(&work, &fx.ini_hs, sizeof(work)) != 0)
		abort();                               /* failure must leave hs as it was */
	if (rc == 0 && !all_zero(&work, sizeof(work)))
		abort();                               /* success wipes hs */
}

static void fuzz_cookie(const uint8_t *data, size_t size)
{
	struct ipop_cookie_reply msg;
	uint8_t key[32], cookie[IPOP_COOKIE_LEN];

	memset(&msg, 0, sizeof(msg));
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	if (ipop_cookie_reply_key(fx.resp.pub, key) != 0)
		abort();
	memset(cookie, 0xa5, sizeof(cookie));
	int rc = ipop_cookie_reply_open(key, fx.msg1.mac1, &msg, cookie);
	if (rc > 0 || (rc != 0 && rc != -EBADMSG))
		abort();
	if (rc != 0 && !all_zero(cookie, sizeof(cookie)) &&
	    memcmp(cookie, "\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5\xa5", 16) != 0)
		abort();                               /* a failure leaves no cookie */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fx_ok)
		abort();
	if (size < 1)
		return 0;
	if (data[0] & 4)
		fuzz_cookie(data + 1, size - 1);
	else if (data[0] & 1)
		fuzz_resp(data + 1, size - 1, data[0] & 2);
	else
		fuzz_init(data + 1, size - 1, data[0] & 2);
	return 0;
}
