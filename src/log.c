#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

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

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	if (log_stderr) {
		fprintf(stderr, "%s: ", log_ident);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio[level], fmt, ap);
	}
	va_end(ap);
}
