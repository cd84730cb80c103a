#include <string.h>

#include "sserr.h"
#include "shellenv.h"
#include "wire.h"

enum shell_kind
shellenv_guess(const char *shell)
{
	const char *base;
	size_t n;

	if (shell == NULL)
		return SHELL_SH;
	base = strrchr(shell, '/');
	base = base != NULL ? base + 1 : shell;
	n = strlen(base);
	if (n >= 3 && strcmp(base + n - 3, "csh") == 0)
		return SHELL_CSH;
	if (strcmp(base, "fish") == 0)
		return SHELL_FISH;
	return SHELL_SH;
}

static int
plain(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			(*s >= '0' && *s <= '9') || strchr("_-./:@+,", *s)))
			return 0;
	}
	return 1;
}

static int
safe_name(const char *name)
{
	const char *p;

	if (!((*name >= 'A' && *name <= 'Z') ||
		(*name >= 'a' && *name <= 'z') || *name == '_'))
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	}
	return 1;
}

/*
 * Quotes a value: sh inside '...' with ' as '\''; csh the same plus \!
 * for history expansion; fish inside '...' with \\ and \'.
 */
static int
put_quoted(struct wire *out, enum shell_kind kind, const char *v)
{
	const unsigned char *p;
	int r;

	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return ERR_UNSAFE_VALUE;
	}
	if (plain(v))
		return wire_put(out, v, strlen(v));
	if ((r = wire_put_u8(out, '\'')) != 0)
		return r;
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '\'' && kind == SHELL_FISH)
			r = wire_put(out, "\\'", 2);
		else if (*p == '\'')
			r = wire_put(out, "'\\''", 4);
		else if (*p == '\\' && kind == SHELL_FISH)
			r = wire_put(out, "\\\\", 2);
		else if (*p == '!' && kind == SHELL_CSH)
			r = wire_put(out, "'\\!'", 4);
		else
			r = wire_put_u8(out, *p);
		if (r != 0)
			return r;
	}
	return wire_put_u8(out, '\'');
}

static int
puts_(struct wire *out, const char *s)
{
	return wire_put(out, s, strlen(s));
}

int
shellenv_set(struct wire *out, enum shell_kind kind, const char *name,
    const char *value)
{
	size_t mark = wire_mark(out);
	int r;

	if (!safe_name(name))
		return ERR_UNSAFE_VALUE;
	switch (kind) {
	case SHELL_CSH:
		if ((r = puts_(out, "setenv ")) || (r = puts_(out, name)) ||
		    (r = puts_(out, " ")) ||
		    (r = put_quoted(out, kind, value)) ||
		    (r = puts_(out, ";\n")))
			goto fail;
		break;
	case SHELL_FISH:
		if ((r = puts_(out, "set -gx ")) || (r = puts_(out, name)) ||
		    (r = puts_(out, " ")) ||
		    (r = put_quoted(out, kind, value)) ||
		    (r = puts_(out, ";\n")))
			goto fail;
		break;
	default:
		if ((r = puts_(out, name)) || (r = puts_(out, "=")) ||
		    (r = put_quoted(out, kind, value)) ||
		    (r = puts_(out, "; export ")) || (r = puts_(out, name)) ||
		    (r = puts_(out, ";\n")))
			goto fail;
		break;
	}
	return 0;
fail:
	/* Leave no half statement behind. */
	wire_rollback(out, mark);
	return r;
}

int
shellenv_unset(struct wire *out, enum shell_kind kind, const char *name)
{
	static const char *const verbs[] = { [SHELL_SH] = "unset ",
		[SHELL_CSH] = "unsetenv ",
		[SHELL_FISH] = "set -e " };

	size_t mark = wire_mark(out);
	int r;

	if (!safe_name(name))
		return ERR_UNSAFE_VALUE;
	if ((r = puts_(out, verbs[kind])) != 0 || (r = puts_(out, name)) ||
	    (r = puts_(out, ";\n")) != 0)
		wire_rollback(out, mark);
	return r;
}

int
shellenv_echo(struct wire *out, enum shell_kind kind, const char *text)
{
	size_t mark = wire_mark(out);
	int r;

	/* printf, not echo: echo takes -n and backslashes as its own. */
	if ((r = puts_(out, "printf '%s\\n' ")) != 0 ||
	    (r = put_quoted(out, kind, text)) != 0 ||
	    (r = puts_(out, ";\n")) != 0)
		wire_rollback(out, mark);
	return r;
}
