/* The value of one hex digit, or -1: shared by the test tools. */
#ifndef SSHENV_TOOLS_HEX_H
#define SSHENV_TOOLS_HEX_H

static inline int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
