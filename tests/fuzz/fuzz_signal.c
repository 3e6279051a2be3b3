/* fuzz_signal.c - libFuzzer target: the signalling codecs that read what
 * other members send through the XMPP server, ipop_linkmsg_parse (the link
 * stanza, control/signal/linkmsg.c) and ipop_presence_parse (the ring
 * identity in a presence, control/signal/presence.c).
 *
 * Input: a mode byte, then tokens separated by NUL bytes that build the
 * stanza the way libstrophe's parser would hand it over (building it directly
 * keeps the XML parser, which is libstrophe's and not ours, out of the loop:
 * ~100 times more executions a second). Mode bit 0: a <presence>, else a
 * <message type='normal'>. Tokens, in order:
 *   "<NAME" then NS   a new child element of the stanza (the current one)
 *   ">NAME"           a child element of the current one
 *   "#" then TEXT     a text child of the current one
 *   NAME then VALUE   an attribute of the current one
 * Contract checked: a return of 0 comes with fields the codec itself builds
 * again into a stanza that parses back to the same fields; -EBADMSG comes
 * with a reason in range (and a refused candidate kept for the link only
 * for bad_candidate, printable); -ENOENT only; nothing else. Thread: one. */
#include "control/signal/linkmsg.h"
#include "control/signal/presence.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OVERLAY "testnet"

static xmpp_ctx_t *ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	xmpp_initialize();
	ctx = xmpp_ctx_new(NULL, NULL);
	if (ctx == NULL)
		abort();
	return 0;
}

/* A candidate the codec refused but keeps for the link's last_error: only
 * for that reason, of the candidate op, with the sender's ufrag, the value
 * printable ASCII and terminated. */
static void check_refused(const struct ipop_link_msg *m, enum ipop_linkmsg_reject why)
{
	size_t n = strnlen(m->cand, sizeof(m->cand));

	if (why != IPOP_REJ_BAD_CANDIDATE || m->op != IPOP_LINK_CANDIDATE || m->ufrag[0] == '\0' ||
	    n == sizeof(m->cand))
		abort();
	for (size_t i = 0; i < n; i++)
		if (m->cand[i] < 0x20 || m->cand[i] > 0x7e)
			abort();
}

static void check_link(xmpp_stanza_t *st)
{
	struct ipop_link_msg m, again;
	enum ipop_linkmsg_reject why = IPOP_REJ_NONE;
	int rc = ipop_linkmsg_parse(st, OVERLAY, &m, &why);

	if (rc == -EBADMSG) {
		if (why <= IPOP_REJ_NONE || why >= IPOP_REJ_MAX)
			abort();
		if (m.cand_refused)
			check_refused(&m, why);
		return;
	}
	if (m.cand_refused)
		abort();   /* only with a refusal */
	if (rc == -ENOENT)
		return;
	if (rc != 0)
		abort();
	xmpp_stanza_t *built = ipop_linkmsg_build(ctx, "gw@example.org/r", OVERLAY, &m);
	if (built == NULL)
		abort();
	memset(&again, 0x5a, sizeof(again));
	if (ipop_linkmsg_parse(built, OVERLAY, &again, &why) != 0 || again.op != m.op ||
	    !ipop_node_id_eq(again.node, m.node))
		abort();
	if (m.op == IPOP_LINK_REQUEST || m.op == IPOP_LINK_REPLY) {
		if (memcmp(again.key, m.key, 32) != 0 || again.ip != m.ip || again.port != m.port ||
		    again.type != m.type || again.ice_restart != m.ice_restart ||
		    strcmp(again.ufrag, m.ufrag) != 0 || strcmp(again.pwd, m.pwd) != 0 ||
		    strcmp(again.cert, m.cert) != 0)
			abort();
		/* The certificate is bounded by the codec (bad_cert): it must fit
		 * the field with its NUL, whatever the stanza carried. */
		if (strnlen(m.cert, sizeof(m.cert)) >= sizeof(m.cert))
			abort();
	}
	if (m.op == IPOP_LINK_REFUSE && strcmp(again.reason, m.reason) != 0)
		abort();
	if (m.op == IPOP_LINK_CANDIDATE &&
	    (strcmp(again.ufrag, m.ufrag) != 0 || strcmp(again.cand, m.cand) != 0))
		abort();
	xmpp_stanza_release(built);
}

static void check_presence(xmpp_stanza_t *st)
{
	struct ipop_member_ident id, again;
	enum ipop_presence_reject why = IPOP_PRES_REJ_NONE;
	int rc = ipop_presence_parse(st, &id, &why);

	if (rc == -EBADMSG) {
		if (why <= IPOP_PRES_REJ_NONE || why >= IPOP_PRES_REJ_MAX)
			abort();
		return;
	}
	if (rc == -ENOENT)
		return;
	if (rc != 0 || !id.known)
		abort();
	xmpp_stanza_t *built = ipop_presence_build(ctx, id.node, id.key, NULL);
	if (built == NULL)
		abort();
	if (ipop_presence_parse(built, &again, &why) != 0 || !ipop_node_id_eq(again.node, id.node) ||
	    memcmp(again.key, id.key, 32) != 0)
		abort();
	xmpp_stanza_release(built);
}

#define MAX_TOKENS 64

/* The stanza the tokens describe (see the header); NULL on allocation failure. */
static xmpp_stanza_t *build(bool presence, char **tok, int n)
{
	xmpp_stanza_t *st = xmpp_stanza_new(ctx), *cur = st;

	if (st == NULL)
		return NULL;
	xmpp_stanza_set_name(st, presence ? "presence" : "message");
	if (!presence)
		xmpp_stanza_set_type(st, "normal");
	for (int i = 0; i < n; i++) {
		const char *t = tok[i];
		if ((t[0] == '<' || t[0] == '>') && t[1] != '\0') {
			xmpp_stanza_t *e = xmpp_stanza_new(ctx);
			xmpp_stanza_set_name(e, t + 1);
			if (t[0] == '<' && i + 1 < n)
				xmpp_stanza_set_ns(e, tok[++i]);
			xmpp_stanza_add_child(t[0] == '<' ? st : cur, e);
			xmpp_stanza_release(e);
			if (t[0] == '<')
				cur = e;
		} else if (t[0] == '#' && i + 1 < n) {
			xmpp_stanza_t *e = xmpp_stanza_new(ctx);
			xmpp_stanza_set_text(e, tok[++i]);
			xmpp_stanza_add_child(cur, e);
			xmpp_stanza_release(e);
		} else if (t[0] != '\0' && i + 1 < n) {
			xmpp_stanza_set_attribute(cur, t, tok[++i]);
		}
	}
	return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok[MAX_TOKENS];
	int n = 0;

	if (size < 1)
		return 0;
	char *text = malloc(size);   /* the tokens, NUL-terminated, exactly sized */
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (char *p = text; p < text + size - 1 && n < MAX_TOKENS; p += strlen(p) + 1)
		tok[n++] = p;
	xmpp_stanza_t *st = build(data[0] & 1, tok, n);
	if (st != NULL) {
		if (data[0] & 1)
			check_presence(st);
		else
			check_link(st);
		xmpp_stanza_release(st);
	}
	free(text);
	return 0;
}
