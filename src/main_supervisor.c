/*
 * sshenv-supervisor: the per-user supervisor, exec'd by `sshenv daemon`,
 * by the client's autostart and by the systemd unit.  Links libuv and
 * inih, never libcrypto.
 */
#include <string.h>

#include "cli.h"
#include "rtpaths.h"
#include "supervisor.h"
#include "version.h"

int
main(int argc, char **argv)
{
	rtpaths_progname = argv[0];
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		version_print("sshenv-supervisor");
		return EXIT_OK;
	}
	if (version_check_parent("sshenv-supervisor") != 0)
		return EXIT_ERROR;
	return supervisor_main(argc, argv);
}
