/*
 * knownhosts: a host key found by its plain name, the first one of its
 * line that is neither hashed nor negated; a certificate by its CA on an
 * @cert-authority line; never by @revoked; lines too long or broken
 * skipped, a missing file nothing found.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "knownhosts.h"
#include "sserr.h"
#include "unit.h"

/* Short fake key blobs, and the same in base64 below. */
static const uint8_t key_b[] = { 0, 0, 0, 3, 'k', 'e', 'y', 0, 0, 0, 1, 'B' };
static const uint8_t key_c[] = { 0, 0, 0, 3, 'k', 'e', 'y', 0, 0, 0, 1, 'C' };
static const uint8_t key_x[] = { 0, 0, 0, 3, 'k', 'e', 'y', 0, 0, 0, 1, 'X' };
#define B64_B "AAAAA2tleQAAAAFC"
#define B64_C "AAAAA2tleQAAAAFD"
#define B64_X "AAAAA2tleQAAAAFY"

static char path[64];

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static const char *
lookup(const uint8_t *key, size_t len, const uint8_t *ca, size_t calen, int *r)
{
	static char name[64];

	*r = knownhosts_name(path, key, len, ca, calen, name, sizeof(name));
	return name;
}

static void
test_names(void)
{
	char *longline;
	const char *n;
	int r;

	longline = malloc(40000);
	CHECK(longline != NULL);
	if (longline == NULL)
		return;
	memset(longline, 'z', 39998);
	longline[39998] = '\n';
	longline[39999] = '\0';
	write_file("# comment\n"
		   "\n"
		   "|1|c2FsdA==|aGFzaA== key " B64_B "\n"
		   "!evil,hostb,10.0.0.2 key " B64_B " a comment\n"
		   "@revoked hostx key " B64_X "\n"
		   "[hostc]:2222 key " B64_C "\n"
		   "@cert-authority *.example.org key " B64_X "\n");
	n = lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, 0);
	CHECK(strcmp(n, "hostb") == 0);
	n = lookup(key_c, sizeof(key_c), NULL, 0, &r);
	CHECK_EQ(r, 0);
	CHECK(strcmp(n, "[hostc]:2222") == 0);
	/* Revoked names nothing; as a CA of a certificate it does. */
	lookup(key_x, sizeof(key_x), NULL, 0, &r);
	CHECK_EQ(r, ERR_NOT_FOUND);
	n = lookup(key_c, sizeof(key_c) - 1, key_x, sizeof(key_x), &r);
	CHECK_EQ(r, 0);
	CHECK(strcmp(n, "*.example.org") == 0);
	/* Only hashed: nothing to say. */
	write_file("|1|c2FsdA==|aGFzaA== key " B64_B "\n");
	lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, ERR_NOT_FOUND);
	/* A line too long is skipped whole; the next one still counts. */
	write_file(longline);
	{
		FILE *f = fopen(path, "a");

		CHECK(f != NULL);
		if (f != NULL) {
			fputs("hostb key " B64_B "\n", f);
			fclose(f);
		}
	}
	n = lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, 0);
	CHECK(strcmp(n, "hostb") == 0);
	/* Broken lines, a name that does not fit. */
	write_file("hostb\nhostb key\nhostb key !!!\n");
	lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, ERR_NOT_FOUND);
	memset(longline, 'n', 100);
	strcpy(longline + 100, " key " B64_B "\n");
	write_file(longline);
	lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, ERR_TOO_LONG);
	unlink(path);
	lookup(key_b, sizeof(key_b), NULL, 0, &r);
	CHECK_EQ(r, ERR_NOT_FOUND);
	free(longline);
}

int
main(void)
{
	snprintf(path, sizeof(path), "/tmp/sshenv-kh-test.%ld", (long)getpid());
	RUN(test_names);
	unlink(path);
	UNIT_DONE();
}
