/*
 * compat: the few system facilities that differ between Linux, the BSDs and
 * Cygwin, behind one name each.
 */
#ifndef SSHENV_COMPAT_H
#define SSHENV_COMPAT_H

#include <stddef.h>
#include <sys/types.h>

/* Zeroes n bytes at p in a way the compiler may not elide. */
void compat_wipe(void *p, size_t n);

/*
 * The effective uid of the process at the other end of a connected unix
 * socket.  Returns 0 or ERR_SYSTEM (errno set).
 */
int compat_peer_uid(int fd, uid_t *uid);

/*
 * The pid, as this process sees pids, of the process at the other end of
 * a connected unix socket (when it connected): 0 and *pid (0 for a peer
 * whose pid namespace hides it from us), ERR_SYSTEM, or ERR_UNSUPPORTED
 * where the system cannot tell (the BSDs, Cygwin, a PORTABLE build).
 */
int compat_peer_pid(int fd, long *pid);

/*
 * 0 if the peer of a connected unix socket may use us: our own uid, or
 * root (who could read our memory anyway); ERR_DENIED otherwise.
 */
int compat_peer_uid_ok(int fd);

/*
 * Makes this process refuse core dumps and, where the system allows,
 * ptrace attach and /proc/PID/mem reads by same-uid processes.
 * Returns 0 or ERR_SYSTEM.
 */
int compat_harden_process(void);

/*
 * Asks for signo when our parent exits, where the system can (Linux, not
 * the portable build): 0, or ERR_UNSUPPORTED (poll getppid() instead).
 */
int compat_parent_death_signal(int signo);

/*
 * Tells the service manager about our state ("READY=1") when
 * $NOTIFY_SOCKET names one, as sd_notify(3) does; a no-op otherwise.
 */
void compat_sd_notify(const char *state);

/*
 * Milliseconds on a clock that counts through suspend (CLOCK_BOOTTIME
 * where there is one, as OpenSSH uses for key lifetimes; else the
 * monotonic clock).
 */
long compat_boottime_ms(void);

/* Milliseconds on a monotonic clock, and a sleep of that many. */
long compat_now_ms(void);
void compat_sleep_ms(long ms);

/* Fills buf with n bytes from the kernel's random generator: 0, or
 * ERR_SYSTEM (buf is then not to be used). */
int compat_random(void *buf, size_t n);

/*
 * Points stdin, stdout and (with_stderr) stderr at /dev/null, as a daemon
 * must: a login's terminal or pipe is never held open by it.
 */
void compat_stdio_to_null(int with_stderr);

/*
 * Closes every descriptor above stderr but the n in keep: a daemon must
 * not hold what the login shell that started it had open (a terminal, a
 * pipe a caller waits on to end, a file).
 */
void compat_close_inherited(const int *keep, int n);

/* Lowers the calling thread's (not the process's) scheduling priority,
 * where the system can; best effort. */
void compat_lower_thread_priority(void);

#endif
