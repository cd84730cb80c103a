#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "paths.h"
#include "plugin.h"

/* Beside the binary (a build tree), or in ../lib/sshenv (installed). */
static void *
load(char *tried, size_t size)
{
	static const char *const where[] = { "", "/../lib/sshenv" };
	char exe[PATHS_MAX], path[PATHS_MAX + 64], *slash;
	size_t i;
	void *h;

	tried[0] = '\0';
	if (paths_self_exe(paths_progname, exe, sizeof(exe)) != 0 ||
	    (slash = strrchr(exe, '/')) == NULL)
		return NULL;
	*slash = '\0';
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(path, sizeof(path), "%s%s/%s", exe, where[i],
		    PLUGIN_FILE);
		if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) != NULL)
			return h;
		snprintf(tried, size, "%s", dlerror());
	}
	return NULL;
}

int
plugin_run(int argc, char **argv)
{
	char why[PATHS_MAX * 2];
	plugin_entry_fn run;
	void *h;

	if ((h = load(why, sizeof(why))) == NULL) {
		fprintf(stderr, "sshenv %s: cannot load %s: %s\n", argv[0],
		    PLUGIN_FILE, why[0] != '\0' ? why : "binary not found");
		return EXIT_ERROR;
	}
	/* A function pointer out of a void *: POSIX's sanctioned way. */
	*(void **)&run = dlsym(h, PLUGIN_ENTRY);
	if (run == NULL) {
		fprintf(stderr, "sshenv %s: %s: no %s\n", argv[0], PLUGIN_FILE,
		    PLUGIN_ENTRY);
		return EXIT_ERROR;
	}
	/* The daemons run to their end inside; the plugin stays loaded. */
	return run(paths_progname, argc, argv);
}
