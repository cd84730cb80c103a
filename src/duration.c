#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "duration.h"
#include "sserr.h"

static uint64_t
unit_of(char c)
{
	switch (c) {
	case '\0':
	case 's':
	case 'S': return 1;
	case 'm':
	case 'M': return 60;
	case 'h':
	case 'H': return 3600;
	case 'd':
	case 'D': return 86400;
	case 'w':
	case 'W': return 604800;
	default: return 0;
	}
}

int
duration_parse(const char *s, uint32_t *out)
{
	unsigned long long n;
	uint64_t total = 0, unit;
	char *end;

	*out = 0;
	if (*s == '\0')
		return ERR_FORMAT;
	while (*s != '\0') {
		if (*s < '0' || *s > '9')
			return ERR_FORMAT;
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno != 0 || (unit = unit_of(*end)) == 0)
			return ERR_FORMAT;
		/* Bounded before multiplying: a huge count must not wrap. */
		if (n > UINT32_MAX / unit)
			return ERR_FORMAT;
		total += n * unit;
		if (total > UINT32_MAX)
			return ERR_FORMAT;
		s = *end == '\0' ? end : end + 1;
	}
	*out = (uint32_t)total;
	return 0;
}
