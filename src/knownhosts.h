/*
 * knownhosts: the name a user knows a host by, looked up by its host key
 * in OpenSSH known_hosts files, so that a prompt or a log entry can say
 * "hostb" rather than a fingerprint.  Only names stored in plain text
 * are found (hashed entries, HashKnownHosts, give nothing back by
 * design); @revoked lines never name a host.
 */
#ifndef SSHENV_KNOWNHOSTS_H
#define SSHENV_KNOWNHOSTS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Looks for the host key blob in the known_hosts file at path: a line
 * listing that very key, or, for a host certificate, an @cert-authority
 * line listing its CA (ca, calen; NULL if not a certificate).  Copies
 * the line's first plain host name (a pattern or [host]:port as written)
 * into name.  0 if found, ERR_NOT_FOUND if not (or the file cannot be
 * read), ERR_TOO_LONG if the name does not fit.
 */
int knownhosts_name(const char *path, const uint8_t *key, size_t keylen,
    const uint8_t *ca, size_t calen, char *name, size_t size);

#endif
