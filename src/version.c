#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtpaths.h"
#include "version.h"

#ifndef SSHENV_BUILD_ID
#error "the Makefile sets SSHENV_BUILD_ID"
#endif

const char version_build_id[] = SSHENV_BUILD_ID;

void
version_print(const char *prog)
{
	printf("%s %s (build %s)\n", prog, SSHENV_VERSION, version_build_id);
}

int
version_check_parent(const char *prog)
{
	const char *want = getenv(VERSION_ENV);
	int r = 0;

	if (want != NULL && strcmp(want, version_build_id) != 0) {
		fprintf(stderr,
		    "%s: this helper is build %s but was started "
		    "by build %.40s: install sshenv and its helpers from one "
		    "build ('make install'), then run 'sshenv stop'\n",
		    prog, version_build_id, want);
		r = -1;
	}
	unsetenv(VERSION_ENV);
	return r;
}

void
version_export(void)
{
	setenv(VERSION_ENV, version_build_id, 1);
}

int
version_helper_main(const char *prog, int argc, char **argv,
    int (*fn)(int argc, char **argv))
{
	rtpaths_progname = argv[0];
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		version_print(prog);
		return 0;
	}
	if (version_check_parent(prog) != 0)
		return 3; /* EXIT_ERROR */
	return fn(argc, argv);
}
