/*
 * tokens: the providers allowlist (ssh-agent's -P), whose patterns are
 * shell patterns where '*' spans '/', anchored at both ends, and where a
 * pattern after '!' refuses what it matches whatever else does.
 */
#include <string.h>

#include "tokens.h"
#include "unit.h"

static void
test_default_allowlist(void)
{
	static const char *const yes[] = {
		"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
		"/usr/lib/x.so",
		"/usr/lib64/pkcs11/opensc-pkcs11.so",
		"/usr/local/lib/x.so",
		"/usr/local/lib64/a/b/c.so",
	};
	static const char *const no[] = {
		"/tmp/x.so",
		"/home/u/usr/lib/x.so",
		"usr/lib/x.so",
		"/usr/lib",
		"/usr/libexec", /* "lib*" then "/": libexec has no '/' after */
		"/usr/share/lib/x.so",
		"/opt/usr/local/lib/x.so",
		"",
	};
	size_t i;

	CHECK(
	    strcmp(TOKENS_DEFAULT_ALLOW, "/usr/lib*/*,/usr/local/lib*/*") == 0);
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!tokens_allowed(TOKENS_DEFAULT_ALLOW, yes[i]))
			fprintf(stderr, "  refused %s\n", yes[i]);
		CHECK_EQ(tokens_allowed(TOKENS_DEFAULT_ALLOW, yes[i]), 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		if (tokens_allowed(TOKENS_DEFAULT_ALLOW, no[i]))
			fprintf(stderr, "  allowed %s\n", no[i]);
		CHECK_EQ(tokens_allowed(TOKENS_DEFAULT_ALLOW, no[i]), 0);
	}
}

static void
test_negation(void)
{
	static const char *const pat = "/usr/lib*/*,!/usr/lib/evil.so";

	CHECK_EQ(tokens_allowed(pat, "/usr/lib/good.so"), 1);
	CHECK_EQ(tokens_allowed(pat, "/usr/lib/evil.so"), 0);
	/* First or last, the refusal wins. */
	CHECK_EQ(tokens_allowed("!/usr/lib/evil.so,/usr/lib*/*",
		     "/usr/lib/evil.so"),
	    0);
	CHECK_EQ(tokens_allowed("!/usr/lib/evil.so,/usr/lib*/*",
		     "/usr/lib/good.so"),
	    1);
	/* A refusal alone allows nothing, not even what it does not name. */
	CHECK_EQ(tokens_allowed("!/usr/lib/evil.so", "/usr/lib/good.so"), 0);
	/* A pattern refusing a whole tree. */
	CHECK_EQ(tokens_allowed("/usr/*,!/usr/local/*", "/usr/local/lib/x.so"),
	    0);
	CHECK_EQ(tokens_allowed("/usr/*,!/usr/local/*", "/usr/lib/x.so"), 1);
}

static void
test_empty_lists_and_items(void)
{
	CHECK_EQ(tokens_allowed("", "/usr/lib/x.so"), 0);
	CHECK_EQ(tokens_allowed("", ""), 0);
	CHECK_EQ(tokens_allowed(",", "/usr/lib/x.so"), 0);
	CHECK_EQ(tokens_allowed("!", "/usr/lib/x.so"), 0);
	CHECK_EQ(tokens_allowed(",,/usr/lib/x.so,,", "/usr/lib/x.so"), 1);
	CHECK_EQ(tokens_allowed("/usr/lib/x.so,", "/usr/lib/x.so"), 1);
	CHECK_EQ(tokens_allowed(",/usr/lib/x.so", "/usr/lib/x.so"), 1);
	/* An empty item, or a bare "!", is no pattern matching "". */
	CHECK_EQ(tokens_allowed(",,", ""), 0);
	CHECK_EQ(tokens_allowed("!,/usr/lib/x.so", "/usr/lib/x.so"), 1);
	/* Exact names, and no prefix match. */
	CHECK_EQ(tokens_allowed("/usr/lib/x.so", "/usr/lib/x.so"), 1);
	CHECK_EQ(tokens_allowed("/usr/lib/x.so", "/usr/lib/x.so.1"), 0);
	CHECK_EQ(tokens_allowed("/usr/lib/x.so", "/usr/lib/x.s"), 0);
	CHECK_EQ(tokens_allowed("/usr/lib/?.so", "/usr/lib/y.so"), 1);
}

int
main(void)
{
	RUN(test_default_allowlist);
	RUN(test_negation);
	RUN(test_empty_lists_and_items);
	UNIT_DONE();
}
