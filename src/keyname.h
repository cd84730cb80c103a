/*
 * keyname: where a key named in the configuration or on the init line
 * lives, and the public key blob of its .pub file: what the client needs
 * to load it, and the supervisor to name it to the agent.
 */
#ifndef SSHENV_KEYNAME_H
#define SSHENV_KEYNAME_H

#include <stddef.h>

struct wire;

/* A name without a slash lives in ~/.ssh, as keychain has it: the path
 * into out.  0, ERR_NOT_FOUND (no HOME), ERR_TOO_LONG. */
int keyname_path(const char *name, char *out, size_t size);

/* The decoded blob of the public key file at path, appended to out.
 * 0, ERR_NOT_FOUND, ERR_FORMAT, or a wire error. */
int keyname_read_pub(const char *path, struct wire *out);
/* The same, and the comment that follows the key on its line (empty if
 * none) into comment, cut to size. */
int keyname_read_pub_comment(const char *path, struct wire *out, char *comment,
    size_t size);

#endif
