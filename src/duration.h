/*
 * duration: ssh-agent's time format, shared by the configuration and
 * `sshenv agent -t` (which must not load inih to read it).
 */
#ifndef SSHENV_DURATION_H
#define SSHENV_DURATION_H

#include <stdint.h>

/*
 * "90", "90s", "10m", "1h30m", "2d", "1w" into seconds.  0, or
 * ERR_FORMAT (for an empty string, a bad unit, or a total over
 * UINT32_MAX seconds); *out is 0 on error.
 */
int duration_parse(const char *s, uint32_t *out);

#endif
