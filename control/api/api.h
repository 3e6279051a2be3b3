/* api.h - the management socket: a Unix stream socket where any client (ipopctl,
 * a script with socat) writes one request line and reads the answer until EOF.
 * Requests: "show" (text), "show json", "macs json", "ping". Thread: control.
 *
 * A client has IPOP_API_DEADLINE_MS from connecting to send its line and read
 * the whole answer; at most IPOP_API_MAX_CONNS are served at once (a newcomer
 * closes the oldest).
 */
#ifndef IPOP_CONTROL_API_H
#define IPOP_CONTROL_API_H

#include "control/node.h"

int ipop_api_open(struct ipop_node *n, char *err, size_t errlen);
void ipop_api_close(struct ipop_node *n);
/* Accept the pending connections (called when the listening fd is readable);
 * each is then served by sources of the thread's default GLib context. */
void ipop_api_serve(struct ipop_node *n);

#endif
