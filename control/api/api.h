/* api.h - the management socket: a Unix stream socket where any client (ipopctl,
 * a script with socat) writes one request line and reads the answer until EOF.
 * Requests: "show" (text), "show json", "macs json", "ping". Thread: control.
 */
#ifndef IPOP_CONTROL_API_H
#define IPOP_CONTROL_API_H

#include "control/node.h"

int ipop_api_open(struct ipop_node *n, char *err, size_t errlen);
void ipop_api_close(struct ipop_node *n);
/* Serve one pending connection (called when the listening fd is readable). */
void ipop_api_serve(struct ipop_node *n);

#endif
