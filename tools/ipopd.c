/* ipopd.c - the gateway daemon. Everything lives in control/daemon.c. */
#include "control/daemon.h"

int main(int argc, char **argv)
{
	return ipop_daemon_main(argc, argv);
}
