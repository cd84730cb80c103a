/*
 * relay -a SOCKET -U UPSTREAM: the least a process in the path can do.
 *
 * bench/follow.sh puts this beside the stable socket: for each client it
 * opens one connection to UPSTREAM and copies bytes both ways, parsing
 * nothing, on one epoll loop (what sshenv's agent does per request, less
 * the protocol).  What it costs over direct is the floor for any design
 * that puts one more process between ssh and the agent on this machine;
 * the stable socket's own cost is read against it.
 *
 * Benchmark tool only: no limits, no peer checks, exits on any error of
 * its own socket; a connection whose peer fails is closed with its pair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAXFD 4096

static int peer[MAXFD]; /* fd -> the fd it is paired with, -1 if none */

static int
unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static void
drop(int ep, int fd)
{
	int p = peer[fd];

	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	peer[fd] = -1;
	if (p >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, p, NULL);
		close(p);
		peer[p] = -1;
	}
}

/* Writes all of buf: the sockets block on write (agent messages are
 * small), and are read only when epoll says so. */
static int
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = NULL, *up = NULL;
	struct sockaddr_un la, ua;
	struct epoll_event ev, evs[64];
	static char buf[65536];
	int c, ls, ep;

	while ((c = getopt(argc, argv, "a:U:")) != -1) {
		if (c == 'a')
			path = optarg;
		else if (c == 'U')
			up = optarg;
		else
			return 64;
	}
	if (path == NULL || up == NULL || unix_addr(&la, path) < 0 ||
	    unix_addr(&ua, up) < 0) {
		fprintf(stderr, "usage: relay -a SOCKET -U UPSTREAM\n");
		return 64;
	}
	for (int i = 0; i < MAXFD; i++)
		peer[i] = -1;
	unlink(path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&la, sizeof(la)) < 0 ||
	    listen(ls, 128) < 0 || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("relay");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				int cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
				int us = socket(AF_UNIX,
				    SOCK_STREAM | SOCK_CLOEXEC, 0);
				if (cs < 0 || us < 0 || cs >= MAXFD ||
				    us >= MAXFD ||
				    connect(us, (struct sockaddr *)&ua,
					sizeof(ua)) < 0) {
					if (cs >= 0)
						close(cs);
					if (us >= 0)
						close(us);
					continue;
				}
				peer[cs] = us;
				peer[us] = cs;
				ev.data.fd = cs;
				epoll_ctl(ep, EPOLL_CTL_ADD, cs, &ev);
				ev.data.fd = us;
				epoll_ctl(ep, EPOLL_CTL_ADD, us, &ev);
				continue;
			}
			if (peer[fd] < 0)
				continue; /* closed with its pair this round */
			ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0 || send_all(peer[fd], buf, (size_t)r) < 0)
				drop(ep, fd);
		}
	}
}
