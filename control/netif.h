/* netif.h - configuring the kernel side of ipopd's TAP interfaces (address,
 * MTU, link up, default route) with classic ioctls. Thread: control, start-up.
 */
#ifndef IPOP_CONTROL_NETIF_H
#define IPOP_CONTROL_NETIF_H

#include <stdint.h>
#include <stddef.h>
#include <netinet/in.h>

int ipop_netif_up(const char *ifname, unsigned mtu, char *err, size_t errlen);
int ipop_netif_set_addr(const char *ifname, struct in_addr addr, uint8_t prefix,
			char *err, size_t errlen);
int ipop_netif_default_route(const char *ifname, struct in_addr gw, char *err, size_t errlen);

#endif
