/*
 * log: where the daemons' messages go.  Foreground processes write to
 * stderr, daemons to syslog.  Never pass a secret: messages name keys by
 * fingerprint only.
 */
#ifndef SSHENV_LOG_H
#define SSHENV_LOG_H

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* ident prefixes every line; to_stderr picks stderr over syslog. */
void log_init(const char *ident, int to_stderr, enum log_level level);
void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
