/* Key files as OpenSSH names them: NAME, and NAME.pub beside it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyname.h"
#include "sserr.h"
#include "wire.h"

/* The base64 blob of a .pub file, decoded into out. */
int
keyname_read_pub(const char *path, struct wire *out)
{
	return keyname_read_pub_comment(path, out, NULL, 0);
}

int
keyname_read_pub_comment(const char *path, struct wire *out, char *comment,
    size_t size)
{
	char line[16384], *b64, *end, *c;
	unsigned char bin[12288];
	FILE *f;
	int n;

	if ((f = fopen(path, "re")) == NULL)
		return ERR_NOT_FOUND;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return ERR_FORMAT;
	}
	fclose(f);
	if ((b64 = strchr(line, ' ')) == NULL)
		return ERR_FORMAT;
	b64++;
	end = b64 + strcspn(b64, " \n");
	c = *end == ' ' ? end + 1 : end;
	*end = '\0';
	if (comment != NULL && size > 0) {
		c[strcspn(c, "\r\n")] = '\0';
		snprintf(comment, size, "%s", c);
	}
	if ((n = wire_base64_decode(b64, bin, sizeof(bin))) < 0)
		return ERR_FORMAT;
	return wire_put(out, bin, (size_t)n);
}

/* A key named without a slash lives in ~/.ssh, as keychain has it. */
int
keyname_path(const char *name, char *out, size_t size)
{
	const char *home = getenv("HOME");
	int n;

	if (strchr(name, '/') != NULL)
		n = snprintf(out, size, "%s", name);
	else if (home != NULL)
		n = snprintf(out, size, "%s/.ssh/%s", home, name);
	else
		return ERR_NOT_FOUND;
	return n < 0 || (size_t)n >= size ? ERR_TOO_LONG : 0;
}
