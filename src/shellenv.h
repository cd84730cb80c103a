/*
 * shellenv: environment snippets for the shell that will eval them, each
 * value quoted for that shell.  A value no quoting makes safe (a newline,
 * which csh cannot hold in a word, or a control byte) is refused with
 * ERR_UNSAFE_VALUE rather than emitted.
 */
#ifndef SSHENV_SHELLENV_H
#define SSHENV_SHELLENV_H

struct wire;

enum shell_kind { SHELL_SH, SHELL_CSH, SHELL_FISH };

/* The kind to use for a $SHELL value (NULL or unknown means sh). */
enum shell_kind shellenv_guess(const char *shell);

/* Appends a statement that sets and exports name=value. */
int shellenv_set(struct wire *out, enum shell_kind kind, const char *name,
    const char *value);
/* Appends a statement that removes name from the environment. */
int shellenv_unset(struct wire *out, enum shell_kind kind, const char *name);
/* Appends a statement that prints text on standard output. */
int shellenv_echo(struct wire *out, enum shell_kind kind, const char *text);

#endif
