/*
 * askids: what `ssh-add -l` asks of the agent at SSH_AUTH_SOCK, without
 * ssh-add's own start (libcrypto and its configuration: about 8 ms here).
 * Sends one REQUEST_IDENTITIES and exits 0 once an IDENTITIES_ANSWER has
 * come, 1 otherwise.  bench/session.sh times cold starts with it beside
 * the ones with ssh-add, so that sshenv's part of a cold start shows.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(void)
{
	static const unsigned char req[5] = { 0, 0, 0, 1, 11 };
	const char *path = getenv("SSH_AUTH_SOCK");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char hdr[5];
	size_t got = 0;
	int fd;

	if (path == NULL || strlen(path) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))
		return 1;
	while (got < sizeof(hdr)) {
		ssize_t n = read(fd, hdr + got, sizeof(hdr) - got);
		if (n <= 0)
			return 1;
		got += (size_t)n;
	}
	return hdr[4] == 12 ? 0 : 1; /* SSH_AGENT_IDENTITIES_ANSWER */
}
