/*
 * known_hosts lines (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): an optional
 * marker, comma-separated host names or patterns (or one hashed
 * "|1|salt|hash"), the key type, the base64 key, an optional comment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "knownhosts.h"
#include "sserr.h"
#include "wire.h"

/* A line is at most this long; longer ones are skipped whole. */
#define LINE_MAX_LEN 16384

/* The next field of *p (blank-separated), NUL-terminated in place. */
static char *
field(char **p)
{
	char *s = *p, *e;

	s += strspn(s, " \t");
	if (*s == '\0')
		return NULL;
	e = s + strcspn(s, " \t\r\n");
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return s;
}

/* The first host name of a comma list that is not hashed or negated. */
static int
first_name(char *hosts, char *name, size_t size)
{
	char *h, *save = NULL;

	for (h = strtok_r(hosts, ",", &save); h != NULL;
	     h = strtok_r(NULL, ",", &save)) {
		if (*h == '|' || *h == '!' || *h == '\0')
			continue;
		if (strlen(h) >= size)
			return ERR_TOO_LONG;
		strcpy(name, h);
		return 0;
	}
	return ERR_NOT_FOUND;
}

int
knownhosts_name(const char *path, const uint8_t *key, size_t keylen,
    const uint8_t *ca, size_t calen, char *name, size_t size)
{
	char *line, *p, *marker, *hosts, *type, *b64;
	uint8_t *blob;
	const uint8_t *want;
	size_t wantlen;
	int n, isca, r = ERR_NOT_FOUND;
	FILE *f;

	if (size > 0)
		name[0] = '\0';
	if ((f = fopen(path, "re")) == NULL)
		return ERR_NOT_FOUND;
	line = malloc(LINE_MAX_LEN);
	blob = malloc(LINE_MAX_LEN);
	while (line != NULL && blob != NULL && r == ERR_NOT_FOUND &&
	    fgets(line, LINE_MAX_LEN, f) != NULL) {
		if (strchr(line, '\n') == NULL && !feof(f)) {
			/* Too long to be ours: skip the rest of it. */
			while (fgets(line, LINE_MAX_LEN, f) != NULL &&
			    strchr(line, '\n') == NULL)
				;
			continue;
		}
		p = line;
		if ((marker = field(&p)) == NULL || *marker == '#')
			continue;
		isca = 0;
		if (*marker == '@') {
			if (strcmp(marker, "@cert-authority") != 0)
				continue; /* @revoked, or unknown */
			isca = 1;
			hosts = field(&p);
		} else {
			hosts = marker;
		}
		if (hosts == NULL || (type = field(&p)) == NULL ||
		    (b64 = field(&p)) == NULL)
			continue;
		want = isca ? ca : key;
		wantlen = isca ? calen : keylen;
		if (want == NULL)
			continue;
		n = wire_base64_decode(b64, blob, LINE_MAX_LEN);
		if (n < 0 || (size_t)n != wantlen ||
		    memcmp(blob, want, wantlen) != 0)
			continue;
		r = first_name(hosts, name, size);
		if (r == ERR_NOT_FOUND)
			continue; /* all hashed: maybe another line names it */
	}
	free(line);
	free(blob);
	fclose(f);
	return r;
}
