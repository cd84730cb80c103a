#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "sshenv";
static int log_stderr = 1;
static enum log_level log_max = LOG_LEVEL_INFO;

void
log_init(const char *ident, int to_stderr, enum log_level level)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_max = level;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_AUTH);
}

void
log_set_level(enum log_level level)
{
	log_max = level;
}

/*
 * One write a line: lines of processes sharing a log file do not
 * interleave, and a busy agent pays one system call, not three.  A line
 * too long for the buffer is cut, and says so.
 */
static void
stderr_line(const char *fmt, va_list ap)
{
	char line[1024];
	size_t len;
	int n;

	n = snprintf(line, sizeof(line), "%s: ", log_ident);
	len = n < 0 ? 0 : (size_t)n;
	if (len < sizeof(line)) {
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		len = n < 0 ? len : len + (size_t)n;
	}
	if (len > sizeof(line) - 2) {
		memcpy(line + sizeof(line) - 5, "...", 3);
		len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	if (log_stderr) {
		stderr_line(fmt, ap);
	} else {
		vsyslog(prio[level], fmt, ap);
	}
	va_end(ap);
}
