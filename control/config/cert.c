/* cert.c - see cert.h. Thread: either.
 *
 * The signature covers a context string before the bytes, so a certificate
 * can never be mistaken for any other message signed with the same key.
 * Decoding is strict (exact length, flags zero, printable overlay name) since
 * certificates arrive from members in their presences.
 */
#include "control/config/cert.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sodium.h>

#define CONTEXT "ipop member certificate v1"

#define X(id, name, doc) [IPOP_CERT_REJ_##id] = #name,
static const char *const reject_names[IPOP_CERT_REJ_MAX] = {
	[IPOP_CERT_OK] = "ok",
	IPOP_CERT_REJECTS(X)
};
#undef X

const char *ipop_cert_reject_name(enum ipop_cert_reject r)
{
	return (unsigned)r < IPOP_CERT_REJ_MAX ? reject_names[r] : "?";
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static bool overlay_ok(const char *s, size_t len)
{
	if (len == 0 || len > IPOP_CERT_OVERLAY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* The signed part: bytes 0 .. 75+L-1. Returns its length or -EINVAL. */
static int encode_body(const struct ipop_cert *c, uint8_t *out, size_t cap)
{
	size_t l = strnlen(c->overlay, sizeof(c->overlay));

	if (!overlay_ok(c->overlay, l) || cap < IPOP_CERT_FIXED + l)
		return -EINVAL;
	out[0] = IPOP_CERT_VERSION;
	out[1] = 0;
	put64(out + 2, c->serial);
	put64(out + 10, c->not_before);
	put64(out + 18, c->not_after);
	ipop_node_id_to_bytes(c->node, out + 26);
	memcpy(out + 42, c->key, 32);
	out[74] = (uint8_t)l;
	memcpy(out + IPOP_CERT_FIXED, c->overlay, l);
	return (int)(IPOP_CERT_FIXED + l);
}

int ipop_cert_encode(const struct ipop_cert *c, uint8_t *out, size_t cap)
{
	int n = encode_body(c, out, cap);

	if (n < 0 || cap < (size_t)n + IPOP_CERT_SIG)
		return -EINVAL;
	memcpy(out + n, c->sig, IPOP_CERT_SIG);
	return n + IPOP_CERT_SIG;
}

int ipop_cert_decode(const uint8_t *in, size_t len, struct ipop_cert *c)
{
	memset(c, 0, sizeof(*c));
	if (len < IPOP_CERT_FIXED + 1 + IPOP_CERT_SIG || len > IPOP_CERT_MAX)
		return -EINVAL;
	size_t l = in[74];
	if (in[0] != IPOP_CERT_VERSION || in[1] != 0 || len != IPOP_CERT_FIXED + l + IPOP_CERT_SIG ||
	    !overlay_ok((const char *)in + IPOP_CERT_FIXED, l))
		return -EINVAL;
	c->serial = get64(in + 2);
	c->not_before = get64(in + 10);
	c->not_after = get64(in + 18);
	c->node = ipop_node_id_from_bytes(in + 26);
	memcpy(c->key, in + 42, 32);
	memcpy(c->overlay, in + IPOP_CERT_FIXED, l);
	memcpy(c->sig, in + IPOP_CERT_FIXED + l, IPOP_CERT_SIG);
	return 0;
}

/* The context string (with its NUL) and the body: what the CA signs. */
static int signed_message(const struct ipop_cert *c, uint8_t *out, size_t cap)
{
	size_t ctx = sizeof(CONTEXT);
	int n;

	if (cap < ctx)
		return -EINVAL;
	memcpy(out, CONTEXT, ctx);
	n = encode_body(c, out + ctx, cap - ctx);
	return n < 0 ? n : (int)ctx + n;
}

int ipop_cert_sign(struct ipop_cert *c, const uint8_t ca_sk[64])
{
	uint8_t msg[sizeof(CONTEXT) + IPOP_CERT_MAX];
	int n = signed_message(c, msg, sizeof(msg));

	if (n < 0)
		return n;
	return crypto_sign_detached(c->sig, NULL, msg, (unsigned long long)n, ca_sk) == 0 ? 0 : -EINVAL;
}

int ipop_cert_to_base64(const struct ipop_cert *c, char out[IPOP_CERT_B64_MAX])
{
	uint8_t bin[IPOP_CERT_MAX];
	int n = ipop_cert_encode(c, bin, sizeof(bin));

	if (n < 0)
		return n;
	sodium_bin2base64(out, IPOP_CERT_B64_MAX, bin, (size_t)n, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int ipop_cert_from_base64(const char *s, struct ipop_cert *c)
{
	uint8_t bin[IPOP_CERT_MAX];
	size_t n = 0, len = strnlen(s, IPOP_CERT_B64_MAX);
	const char *end = NULL;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len >= IPOP_CERT_B64_MAX ||
	    sodium_base642bin(bin, sizeof(bin), s, len, NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len)
		return -EINVAL;
	return ipop_cert_decode(bin, n, c);
}

enum ipop_cert_reject ipop_cert_check(const struct ipop_cert *c, const uint8_t ca_pub[32],
				      const uint8_t key[32], const char *overlay, uint64_t now_s)
{
	uint8_t msg[sizeof(CONTEXT) + IPOP_CERT_MAX], h[IPOP_NODE_ID_BYTES], node[IPOP_NODE_ID_BYTES];
	int n = signed_message(c, msg, sizeof(msg));

	if (n < 0)
		return IPOP_CERT_REJ_BAD_ENCODING;
	if (crypto_sign_verify_detached(c->sig, msg, (unsigned long long)n, ca_pub) != 0)
		return IPOP_CERT_REJ_BAD_SIGNATURE;
	if (strcmp(c->overlay, overlay) != 0)
		return IPOP_CERT_REJ_WRONG_OVERLAY;
	crypto_generichash(h, sizeof(h), c->key, 32, NULL, 0);
	ipop_node_id_to_bytes(c->node, node);
	/* A CA could sign a node ID that is not its key's hash: refused too. */
	if (sodium_memcmp(c->key, key, 32) != 0 || sodium_memcmp(h, node, sizeof(h)) != 0)
		return IPOP_CERT_REJ_WRONG_KEY;
	if (now_s < c->not_before)
		return IPOP_CERT_REJ_NOT_YET_VALID;
	if (now_s >= c->not_after)
		return IPOP_CERT_REJ_EXPIRED;
	return IPOP_CERT_OK;
}

int ipop_cert_load(const char *path, struct ipop_cert *c, char *err, size_t errlen)
{
	char line[IPOP_CERT_B64_MAX + 4];
	FILE *f = fopen(path, "re");

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	bool got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!got) {
		snprintf(err, errlen, "%s: empty: expected one line of base64 (a member certificate)", path);
		return -EINVAL;
	}
	line[strcspn(line, "\r\n")] = '\0';
	if (ipop_cert_from_base64(line, c) != 0) {
		snprintf(err, errlen, "%s: not a member certificate (one line of base64 of a "
			 "version-%d certificate: ipopctl ca-sign)", path, IPOP_CERT_VERSION);
		return -EINVAL;
	}
	return 0;
}

void ipop_ca_keypair(const uint8_t seed[32], uint8_t pk[32], uint8_t sk[64])
{
	crypto_sign_seed_keypair(pk, sk, seed);
}
