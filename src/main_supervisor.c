/*
 * sshenv-supervisor: the per-user supervisor, exec'd by `sshenv daemon`,
 * by the client's autostart and by the systemd unit.  Links libuv and
 * inih, never libcrypto.
 */
#include "supervisor.h"
#include "version.h"

int
main(int argc, char **argv)
{
	return version_helper_main("sshenv-supervisor", argc, argv,
	    supervisor_main);
}
