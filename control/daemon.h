/* daemon.h - ipopd's entry point (the main lcore; becomes the control thread). */
#ifndef IPOP_CONTROL_DAEMON_H
#define IPOP_CONTROL_DAEMON_H

int ipop_daemon_main(int argc, char **argv);

#endif
