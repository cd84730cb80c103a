/*
 * envfile: ~/.ssh/environment as the classic profile recipes use it: the
 * sh statements `ssh-agent -s` prints, under a header that marks the file
 * as ours and names the host that wrote it.  Writes are atomic (temp file,
 * fsync, rename) so a failure leaves the old file as it was; a file that
 * is not ours is never overwritten or removed.
 */
#ifndef SSHENV_ENVFILE_H
#define SSHENV_ENVFILE_H

#include "rtpaths.h"

struct envfile_data {
	char host[256];
	char sock[PATHS_MAX];
	long pid;
};

/*
 * Writes the file for host with the agent's socket and pid, creating its
 * directory (0700) if missing.  ERR_NOT_OURS, ERR_SYMLINK, ERR_BAD_OWNER
 * for a file we must not replace; ERR_SYSTEM (errno) if writing failed.
 */
int
envfile_write(const char *path, const char *host, const char *sock, long pid);

/*
 * Reads a file of ours into *out.  ERR_NOT_FOUND if there is none,
 * ERR_NOT_OURS if it lacks our header, ERR_FORMAT if it is damaged (a
 * line not ours, a NUL byte, over 16 KiB, a bad pid): out->host then
 * still names the host of the header if that line could be read.
 */
int envfile_read(const char *path, struct envfile_data *out);

/*
 * Removes the file if it is ours and was written by host (damaged or
 * not); 0 also when there was nothing to remove.  ERR_NOT_OURS otherwise,
 * also for a damaged file whose host cannot be read.
 */
int envfile_remove(const char *path, const char *host);

#endif
