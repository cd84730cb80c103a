/*
 * libFuzzer harness: the configuration parser on arbitrary file contents.
 */
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "rtpaths.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[PATHS_MAX + 256];
	FILE *f;

	if (size == 0 || (f = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	config_defaults(&c);
	config_load_stream(&c, f, "fuzz", err, sizeof(err));
	fclose(f);
	return 0;
}
