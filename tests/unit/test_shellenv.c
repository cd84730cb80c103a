/*
 * shellenv: the exact snippets for sh, csh and fish; refusal of what
 * cannot be quoted; and then the real shells (dash, bash, tcsh, fish)
 * reading the snippets back, byte for byte, for a set of nasty values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sserr.h"
#include "runproc.h"
#include "shellenv.h"
#include "unit.h"
#include "wire.h"

/* Appends with fn and compares the whole buffer with want. */
static int
out_is(struct wire *w, const char *want)
{
	size_t n = strlen(want);

	if (wire_avail(w) == n && memcmp(wire_ptr(w), want, n) == 0)
		return 1;
	fprintf(stderr, "  got  [%.*s]\n  want [%s]\n", (int)wire_avail(w),
	    (const char *)wire_ptr(w), want);
	return 0;
}

static void
check_set(enum shell_kind kind, const char *name, const char *value,
    const char *want)
{
	struct wire w;

	wire_init(&w, 4096);
	CHECK_EQ(shellenv_set(&w, kind, name, value), 0);
	CHECK(out_is(&w, want));
	wire_free(&w);
}

static void
test_guess(void)
{
	CHECK_EQ(shellenv_guess("/bin/bash"), SHELL_SH);
	CHECK_EQ(shellenv_guess("/bin/sh"), SHELL_SH);
	CHECK_EQ(shellenv_guess("/usr/bin/dash"), SHELL_SH);
	CHECK_EQ(shellenv_guess("/usr/bin/zsh"), SHELL_SH);
	CHECK_EQ(shellenv_guess("/usr/bin/tcsh"), SHELL_CSH);
	CHECK_EQ(shellenv_guess("/bin/csh"), SHELL_CSH);
	CHECK_EQ(shellenv_guess("csh"), SHELL_CSH);
	CHECK_EQ(shellenv_guess("tcsh"), SHELL_CSH);
	CHECK_EQ(shellenv_guess("fish"), SHELL_FISH);
	CHECK_EQ(shellenv_guess("/usr/bin/fish"), SHELL_FISH);
	CHECK_EQ(shellenv_guess("/usr/local/bin/fish"), SHELL_FISH);
	CHECK_EQ(shellenv_guess(NULL), SHELL_SH);
	CHECK_EQ(shellenv_guess(""), SHELL_SH);
	CHECK_EQ(shellenv_guess("/"), SHELL_SH);
	/* The last path component decides, not a directory name. */
	CHECK_EQ(shellenv_guess("/opt/fish/bin/bash"), SHELL_SH);
	CHECK_EQ(shellenv_guess("/opt/tcsh/bin/sh"), SHELL_SH);
}

static void
test_sh_exact(void)
{
	check_set(SHELL_SH, "FOO", "bar", "FOO=bar; export FOO;\n");
	check_set(SHELL_SH, "SSH_AUTH_SOCK", "/run/user/1000/sshenv/agent.1",
	    "SSH_AUTH_SOCK=/run/user/1000/sshenv/agent.1; "
	    "export SSH_AUTH_SOCK;\n");
	check_set(SHELL_SH, "_x1", "a b", "_x1='a b'; export _x1;\n");
	check_set(SHELL_SH, "V", "it's", "V='it'\\''s'; export V;\n");
	check_set(SHELL_SH, "V", "'", "V=''\\'''; export V;\n");
	check_set(SHELL_SH, "V", "a\\b", "V='a\\b'; export V;\n");
	check_set(SHELL_SH, "V", "$HOME", "V='$HOME'; export V;\n");
	check_set(SHELL_SH, "V", "`id`", "V='`id`'; export V;\n");
	check_set(SHELL_SH, "V", "a!b", "V='a!b'; export V;\n");
	check_set(SHELL_SH, "V", "*", "V='*'; export V;\n");
	check_set(SHELL_SH, "V", "\"", "V='\"'; export V;\n");
	check_set(SHELL_SH, "V", "", "V=''; export V;\n");
}

static void
test_csh_exact(void)
{
	check_set(SHELL_CSH, "FOO", "bar", "setenv FOO bar;\n");
	check_set(SHELL_CSH, "V", "a b", "setenv V 'a b';\n");
	check_set(SHELL_CSH, "V", "it's", "setenv V 'it'\\''s';\n");
	check_set(SHELL_CSH, "V", "a\\b", "setenv V 'a\\b';\n");
	check_set(SHELL_CSH, "V", "$HOME", "setenv V '$HOME';\n");
	check_set(SHELL_CSH, "V", "`id`", "setenv V '`id`';\n");
	/* History expansion happens even inside single quotes. */
	check_set(SHELL_CSH, "V", "a!b", "setenv V 'a'\\!'b';\n");
	check_set(SHELL_CSH, "V", "!", "setenv V ''\\!'';\n");
	check_set(SHELL_CSH, "V", "", "setenv V '';\n");
}

static void
test_fish_exact(void)
{
	check_set(SHELL_FISH, "FOO", "bar", "set -gx FOO bar;\n");
	check_set(SHELL_FISH, "V", "a b", "set -gx V 'a b';\n");
	check_set(SHELL_FISH, "V", "it's", "set -gx V 'it\\'s';\n");
	check_set(SHELL_FISH, "V", "a\\b", "set -gx V 'a\\\\b';\n");
	check_set(SHELL_FISH, "V", "\\'", "set -gx V '\\\\\\'';\n");
	check_set(SHELL_FISH, "V", "$HOME", "set -gx V '$HOME';\n");
	check_set(SHELL_FISH, "V", "`id`", "set -gx V '`id`';\n");
	check_set(SHELL_FISH, "V", "a!b", "set -gx V 'a!b';\n");
	check_set(SHELL_FISH, "V", "", "set -gx V '';\n");
}

static void
test_unset_and_echo_exact(void)
{
	struct wire w;

	wire_init(&w, 4096);
	CHECK_EQ(shellenv_unset(&w, SHELL_SH, "SSH_AGENT_PID"), 0);
	CHECK(out_is(&w, "unset SSH_AGENT_PID;\n"));
	wire_reset(&w);
	CHECK_EQ(shellenv_unset(&w, SHELL_CSH, "SSH_AGENT_PID"), 0);
	CHECK(out_is(&w, "unsetenv SSH_AGENT_PID;\n"));
	wire_reset(&w);
	CHECK_EQ(shellenv_unset(&w, SHELL_FISH, "SSH_AGENT_PID"), 0);
	CHECK(out_is(&w, "set -e SSH_AGENT_PID;\n"));
	wire_reset(&w);

	CHECK_EQ(shellenv_echo(&w, SHELL_SH, "Agent pid 42"), 0);
	CHECK(out_is(&w, "printf '%s\\n' 'Agent pid 42';\n"));
	wire_reset(&w);
	CHECK_EQ(shellenv_echo(&w, SHELL_CSH, "it's"), 0);
	CHECK(out_is(&w, "printf '%s\\n' 'it'\\''s';\n"));
	wire_reset(&w);
	CHECK_EQ(shellenv_echo(&w, SHELL_FISH, "done"), 0);
	CHECK(out_is(&w, "printf '%s\\n' done;\n"));
	wire_reset(&w);

	/* Statements accumulate, in order. */
	CHECK_EQ(shellenv_set(&w, SHELL_SH, "A", "1"), 0);
	CHECK_EQ(shellenv_unset(&w, SHELL_SH, "B"), 0);
	CHECK_EQ(shellenv_echo(&w, SHELL_SH, "ok"), 0);
	CHECK(out_is(&w, "A=1; export A;\nunset B;\nprintf '%s\\n' ok;\n"));
	wire_free(&w);
}

static const enum shell_kind kinds[] = { SHELL_SH, SHELL_CSH, SHELL_FISH };

/* A newline or any control byte cannot be quoted for every shell. */
static void
test_refuse_control(void)
{
	static const char *const bad[] = {
		"\n",
		"a\nb",
		"/tmp/x\n",
		"\r",
		"a\tb",
		"\x01",
		"\x1b[31m",
		"\x7f",
		"ok\x1f",
	};
	struct wire w;
	size_t i, k;

	wire_init(&w, 4096);
	CHECK_EQ(wire_put(&w, "PREFIX", 6), 0);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK_EQ(shellenv_set(&w, kinds[k], "V", bad[i]),
			    ERR_UNSAFE_VALUE);
			CHECK_EQ(shellenv_echo(&w, kinds[k], bad[i]),
			    ERR_UNSAFE_VALUE);
		}
	}
	CHECK(out_is(&w, "PREFIX"));
	wire_free(&w);
}

static void
test_refuse_names(void)
{
	static const char *const bad[] = {
		"",
		"1FOO",
		"FOO-BAR",
		"FOO BAR",
		"FOO=1",
		"FOO;rm",
		"$FOO",
		"FOO\n",
		"F.O",
		"\xc3\xa9",
		"`x`",
		"-e",
		"FOO*",
	};
	struct wire w;
	size_t i, k;

	wire_init(&w, 4096);
	CHECK_EQ(wire_put(&w, "PREFIX", 6), 0);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK_EQ(shellenv_set(&w, kinds[k], bad[i], "v"),
			    ERR_UNSAFE_VALUE);
			CHECK_EQ(shellenv_unset(&w, kinds[k], bad[i]),
			    ERR_UNSAFE_VALUE);
		}
		CHECK_EQ(shellenv_set(&w, kinds[k], "_", "v"), 0);
		CHECK_EQ(shellenv_set(&w, kinds[k], "a_B_9", "v"), 0);
		wire_reset(&w);
		CHECK_EQ(wire_put(&w, "PREFIX", 6), 0);
	}
	CHECK(out_is(&w, "PREFIX"));
	wire_free(&w);
}

/*
 * Out of room: each call fails as a whole, leaving what was there.  Every
 * limit between "nothing fits" and "all of it fits" is tried.
 */
static void
test_no_half_statement(void)
{
	static const char *const call[] = { "set", "unset", "echo" };
	struct wire w;
	size_t max, left;
	int k, what, r, bad;

	for (k = 0; k < 3; k++) {
		for (what = 0; what < 3; what++) {
			bad = 0;
			for (max = 2, r = -1; r != 0 && max < 200; max++) {
				wire_init(&w, max);
				CHECK_EQ(wire_put(&w, "P;", 2), 0);
				if (what == 0)
					r = shellenv_set(&w, kinds[k],
					    "SSH_AUTH_SOCK", "/tmp/a b/it's");
				else if (what == 1)
					r = shellenv_unset(&w, kinds[k],
					    "SSH_AUTH_SOCK");
				else
					r = shellenv_echo(&w, kinds[k],
					    "Agent pid 1!");
				left = wire_avail(&w);
				wire_free(&w);
				if (r == 0)
					break;
				CHECK_EQ(r, ERR_TOO_LONG);
				if (left != 2 && bad++ == 0)
					fprintf(stderr,
					    "  kind %d: %s with "
					    "room for %zu bytes left %zu\n",
					    k, call[what], max - 2, left - 2);
			}
			CHECK_EQ(r, 0);
			CHECK_EQ(bad, 0);
		}
	}
}

/* The nasty values every shell must read back unchanged. */
static const char *const nasty[] = {
	"plain",
	"/run/user/1000/sshenv/agent.sock",
	"with space",
	"two  spaces",
	" lead",
	"trail ",
	"it's",
	"''",
	"\"",
	"'\"",
	"\"'",
	"$HOME",
	"${HOME}",
	"$(id)",
	"`id`",
	"!",
	"a!b",
	"!!",
	"!$",
	"\\!",
	"*",
	"?",
	"[a]",
	"~",
	"~root",
	"a=b",
	"\\",
	"a\\b",
	"\\\\",
	"\\'",
	"\\n",
	";",
	"&",
	"|",
	"<>",
	"#x",
	"(x)",
	"{a,b}",
	"%",
	"%self",
	"-x",
	"--",
	"-e",
	"=0",
	"=-",
	"@",
	"^",
	"x;y",
	"\xc3\xa9t\xc3\xa9",
	"",
};
#define NNASTY (sizeof(nasty) / sizeof(nasty[0]))

/*
 * Feeds snippet to the shell and returns what printenv says of SSHENV_T,
 * which also proves the variable was exported.  Returns -1 if the shell
 * did not run or printenv failed.
 */
static int
shell_readback(struct rp_tmp *t, const char *shell, enum shell_kind kind,
    const char *snippet, char **value)
{
	char *script = NULL, *out = NULL;
	size_t outlen, n;
	int status, r = -1;

	*value = NULL;
	n = strlen(snippet);
	if ((script = malloc(n + 64)) == NULL)
		return -1;
	if (kind == SHELL_SH) {
		/* As a user does it: eval "$(sshenv ...)". */
		char *argv[] = { (char *)shell, "-c",
			"eval \"$1\" && exec printenv SSHENV_T", "sh",
			(char *)snippet, NULL };

		if (rp_run(argv, t->envp, NULL, &out, &outlen, &status) != 0)
			goto out;
	} else if (kind == SHELL_CSH) {
		char *argv[] = { (char *)shell, "-f", "-c", script, NULL };

		snprintf(script, n + 64, "%sprintenv SSHENV_T", snippet);
		if (rp_run(argv, t->envp, NULL, &out, &outlen, &status) != 0)
			goto out;
	} else {
		char *argv[] = { (char *)shell, "--no-config", "-c", script,
			NULL };

		snprintf(script, n + 64, "%sprintenv SSHENV_T", snippet);
		if (rp_run(argv, t->envp, NULL, &out, &outlen, &status) != 0)
			goto out;
	}
	/* printenv adds one newline. */
	if (status != 0 || outlen == 0 || out[outlen - 1] != '\n')
		goto out;
	out[outlen - 1] = '\0';
	*value = out;
	out = NULL;
	r = 0;
out:
	free(out);
	free(script);
	return r;
}

static void
check_shell(const char *shell, enum shell_kind kind)
{
	struct rp_tmp t;
	struct wire w;
	char *got;
	size_t i;
	int bad = 0;

	CHECK(rp_which(shell) != NULL);
	if (rp_tmp_make(&t) != 0) {
		CHECK(0);
		return;
	}
	for (i = 0; i < NNASTY; i++) {
		wire_init(&w, 4096);
		CHECK_EQ(shellenv_set(&w, kind, "SSHENV_T", nasty[i]), 0);
		CHECK_EQ(wire_put_u8(&w, '\0'), 0);
		if (shell_readback(&t, shell, kind, (const char *)wire_ptr(&w),
			&got) != 0) {
			fprintf(stderr, "  %s: [%s] did not run: %s", shell,
			    nasty[i], (const char *)wire_ptr(&w));
			bad++;
		} else if (strcmp(got, nasty[i]) != 0) {
			fprintf(stderr,
			    "  %s: [%s] came back as [%s] from "
			    "%s",
			    shell, nasty[i], got, (const char *)wire_ptr(&w));
			bad++;
		}
		free(got);
		wire_free(&w);
	}
	CHECK_EQ(bad, 0);
	rp_tmp_remove(&t);
}

static void
test_real_dash(void)
{
	check_shell("dash", SHELL_SH);
}

static void
test_real_sh(void)
{
	check_shell("/bin/sh", SHELL_SH);
}

static void
test_real_bash(void)
{
	check_shell("bash", SHELL_SH);
}

static void
test_real_tcsh(void)
{
	check_shell("tcsh", SHELL_CSH);
}

static void
test_real_fish(void)
{
	check_shell("fish", SHELL_FISH);
}

/*
 * shellenv_echo "prints text on standard output": the shell's own echo
 * must not take the text for an option or expand escapes in it.
 */
static void
check_echo(const char *shell, enum shell_kind kind)
{
	static const char *const texts[] = {
		"Agent pid 4242;",
		"it's $HOME `id` !",
		"-n",
		"-e",
		"a\\nb",
		"c:\\temp\\x",
		"\\c",
	};
	struct rp_tmp t;
	struct wire w;
	char *argv[6], *out;
	size_t i, outlen, n;
	int status, bad = 0;

	if (rp_tmp_make(&t) != 0) {
		CHECK(0);
		return;
	}
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		wire_init(&w, 4096);
		CHECK_EQ(shellenv_echo(&w, kind, texts[i]), 0);
		CHECK_EQ(wire_put_u8(&w, '\0'), 0);
		n = 0;
		argv[n++] = (char *)shell;
		if (kind == SHELL_CSH)
			argv[n++] = "-f";
		if (kind == SHELL_FISH)
			argv[n++] = "--no-config";
		argv[n++] = "-c";
		argv[n++] = (char *)wire_ptr(&w);
		argv[n] = NULL;
		if (rp_run(argv, t.envp, NULL, &out, &outlen, &status) != 0) {
			bad++;
		} else if (status != 0 || outlen != strlen(texts[i]) + 1 ||
		    memcmp(out, texts[i], outlen - 1) != 0 ||
		    out[outlen - 1] != '\n') {
			fprintf(stderr, "  %s: echo [%s] printed [%s]\n", shell,
			    texts[i], out);
			bad++;
		}
		free(out);
		wire_free(&w);
	}
	CHECK_EQ(bad, 0);
	rp_tmp_remove(&t);
}

static void
test_echo_real_shells(void)
{
	check_echo("dash", SHELL_SH);
	check_echo("bash", SHELL_SH);
	check_echo("tcsh", SHELL_CSH);
	check_echo("fish", SHELL_FISH);
}

int
main(void)
{
	RUN(test_guess);
	RUN(test_sh_exact);
	RUN(test_csh_exact);
	RUN(test_fish_exact);
	RUN(test_unset_and_echo_exact);
	RUN(test_refuse_control);
	RUN(test_refuse_names);
	RUN(test_no_half_statement);
	RUN(test_real_dash);
	RUN(test_real_sh);
	RUN(test_real_bash);
	RUN(test_real_tcsh);
	RUN(test_real_fish);
	RUN(test_echo_real_shells);
	UNIT_DONE();
}
