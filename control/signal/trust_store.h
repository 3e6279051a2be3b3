/* trust_store.h - the file that keeps trust-on-first-use bindings across
 * restarts (signal.bindings_file): which member holds which key, written
 * when a binding is proven by a handshake or accepted by an operator, read
 * at start. Without it a restarted ipopd bound each member again to the
 * first key it saw, so a member's key could be taken over by whoever
 * announced it first after a restart. Thread: control (file I/O at start and
 * at the rare moments a binding changes; never on the fast path).
 *
 * Format (docs/signalling.md, "Trust"): text, one binding a line,
 *   <bare JID> <public key, base64> proven|accepted
 * '#' starts a comment. Written whole to PATH.tmp, fsync'd, renamed over
 * PATH: a crash leaves the old file or the new one, never a mix.
 */
#ifndef IPOP_CONTROL_TRUST_STORE_H
#define IPOP_CONTROL_TRUST_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/tasks.h"

#define IPOP_TRUST_STORE_MAX 4096   /* bindings a file may hold */

struct ipop_trust_rec {
	char jid[IPOP_JID_LEN];
	uint8_t key[32];
	bool proven;                  /* false: accepted by an operator, not proven yet */
};

/* Read PATH, calling add(ctx, rec) for each binding (add returns 0 or a
 * negative errno, which stops the read with its line named in err). A file
 * that does not exist holds no binding (0). Otherwise 0, or a negative errno
 * with err saying path:line and what is wrong. */
int ipop_trust_store_read(const char *path, int (*add)(void *ctx, const struct ipop_trust_rec *r),
			  void *ctx, char *err, size_t errlen);

/* Replace PATH with these n bindings. 0, or a negative errno with err. */
int ipop_trust_store_write(const char *path, const struct ipop_trust_rec *recs, size_t n,
			   char *err, size_t errlen);

#endif
