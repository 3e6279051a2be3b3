/* hslimit.c - see hslimit.h. Thread: control. */
#include "control/session/hslimit.h"

#include <errno.h>
#include <string.h>
#include <sodium.h>

static struct ipop_srclim_entry *bucket(struct ipop_srclim *l, uint32_t ip, uint64_t now_ms)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	if (!l->keyed) {
		randombytes_buf(l->key, sizeof(l->key));
		l->keyed = true;
	}
	crypto_shorthash(h, (const uint8_t *)&ip, sizeof(ip), l->key);
	memcpy(&v, h, sizeof(v));
	struct ipop_srclim_entry *set = &l->e[(v % (IPOP_SRCLIM_SLOTS / IPOP_SRCLIM_WAYS)) *
					     IPOP_SRCLIM_WAYS];
	struct ipop_srclim_entry *victim = &set[0];
	l->clock++;
	for (unsigned i = 0; i < IPOP_SRCLIM_WAYS; i++) {
		if (set[i].last_ms != 0 && set[i].ip == ip) {
			set[i].seen = l->clock;
			return &set[i];
		}
		if (set[i].seen < victim->seen)
			victim = &set[i];
	}
	/* Forgetting a sender costs nothing but its limit: it starts anew. A
	 * sender that keeps sending stays the most recent of its set. */
	victim->ip = ip;
	victim->milli_tokens = IPOP_SRCLIM_BURST * 1000;
	victim->last_ms = now_ms ? now_ms : 1;
	victim->seen = l->clock;
	return victim;
}

bool ipop_srclim_allow(struct ipop_srclim *l, uint32_t ip, uint64_t now_ms)
{
	struct ipop_srclim_entry *e = bucket(l, ip, now_ms);
	uint64_t t = e->milli_tokens;

	if (now_ms > e->last_ms)
		t += (now_ms - e->last_ms) * IPOP_SRCLIM_RATE;   /* RATE per s = RATE milli per ms */
	if (t > IPOP_SRCLIM_BURST * 1000)
		t = IPOP_SRCLIM_BURST * 1000;
	if (now_ms > e->last_ms)
		e->last_ms = now_ms;
	if (t < 1000) {
		e->milli_tokens = (uint32_t)t;
		return false;
	}
	e->milli_tokens = (uint32_t)(t - 1000);
	return true;
}

bool ipop_ratelog_ok(struct ipop_ratelog *rl, uint64_t now_ms, uint64_t *suppressed)
{
	if (rl->last_ms != 0 && now_ms - rl->last_ms < IPOP_HS_LOG_MS) {
		rl->suppressed++;
		return false;
	}
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	rl->last_ms = now_ms ? now_ms : 1;
	return true;
}

static uint32_t known_slot(const struct ipop_known_src *k, uint32_t ip)
{
	return (ip * k->mult) >> (32 - 11);
}
_Static_assert(IPOP_KNOWN_SRC_SLOTS == 1u << 11, "known_slot takes the top 11 bits");

void ipop_known_src_reset(struct ipop_known_src *k)
{
	uint32_t mult = k->mult;

	if (mult == 0)
		randombytes_buf(&mult, sizeof(mult));
	memset(k, 0, sizeof(*k));
	k->mult = mult | 1;
}

int ipop_known_src_add(struct ipop_known_src *k, uint32_t ip)
{
	if (ip == 0)
		return 0;
	for (uint32_t i = 0, s = known_slot(k, ip); i < IPOP_KNOWN_SRC_SLOTS;
	     i++, s = (s + 1) % IPOP_KNOWN_SRC_SLOTS) {
		if (k->ip[s] == ip)
			return 0;
		if (k->ip[s] == 0) {
			k->ip[s] = ip;
			return 0;
		}
	}
	return -ENOSPC;
}

bool ipop_known_src_has(const struct ipop_known_src *k, uint32_t ip)
{
	if (ip == 0 || k->mult == 0)
		return false;
	for (uint32_t i = 0, s = known_slot(k, ip); i < IPOP_KNOWN_SRC_SLOTS;
	     i++, s = (s + 1) % IPOP_KNOWN_SRC_SLOTS) {
		if (k->ip[s] == ip)
			return true;
		if (k->ip[s] == 0)
			return false;
	}
	return false;
}
