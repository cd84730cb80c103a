/*
 * config: sshenv's settings, read with inih from /etc/sshenv.conf and then
 * ${XDG_CONFIG_HOME:-~/.config}/sshenv/config (later wins), or from one
 * named file.  Every key is in one table; an unknown section or key, or a
 * bad value, is an error that names the file and line.
 */
#ifndef SSHENV_CONFIG_H
#define SSHENV_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "rtpaths.h"

enum logout_policy { POLICY_STOP, POLICY_LOCK, POLICY_KEEP };
/* [agent] forwarded: what init does with an agent sshd forwarded. */
enum fwd_mode { FWD_IGNORE, FWD_KEEP, FWD_FOLLOW };
/* [forwarding] use: what requests from other hosts may do. */
enum fwd_use { FWD_USE_ALLOW, FWD_USE_CONFIRM, FWD_USE_DENY };
/* [agent] load: keys loaded at login, or listed and loaded on first use. */
enum key_load { LOAD_LOGIN, LOAD_FIRST_USE };
/* [session] on_suspend, on_screen_lock: what logind's signal does. */
enum key_event { EVENT_NONE, EVENT_FORGET, EVENT_LOCK };

#define CONFIG_NOPTIONS 20 /* the keys in config.c's table */
#define CONFIG_MAXFILES 2  /* /etc/sshenv.conf and the user's */
#define CONFIG_MAXKEYS 16  /* [key NAME] sections */
#define CONFIG_MAXDEST 16  /* destinations of one key */

/*
 * [key NAME]: settings for one key that `sshenv init` loads (NAME as in
 * [agent] keys or on the init line).  Unset values follow the general
 * ones.
 */
struct config_key {
	char name[128];
	int forwarding;		/* enum fwd_use, or -1: [forwarding] use */
	int confirm;		/* 1, 0, or -1: [agent] confirm */
	uint32_t lifetime;	/* seconds; 0: [agent] lifetime */
	char destinations[384]; /* what `ssh-add -h` takes, space separated */
	uint8_t file;		/* where its first setting is */
	uint32_t line;
};

/*
 * The scalars first, the buffers after them, the largest last: a config
 * is set up by writing what is read (config_defaults), so that a page of
 * one that holds only unused buffer space is never touched, and stays
 * out of a daemon's private memory.
 */
struct config {
	uint32_t lifetime;	   /* [agent] lifetime, seconds, 0 none */
	int confirm;		   /* [agent] confirm */
	uint32_t confirm_timeout;  /* [agent] confirm_timeout, seconds */
	uint32_t idle_timeout;	   /* [agent] idle_timeout, seconds, 0 none */
	int forwarded;		   /* [agent] forwarded, enum fwd_mode */
	int load;		   /* [agent] load, enum key_load */
	int remote_providers;	   /* [agent] allow_remote_providers */
	uint32_t linger;	   /* [session] linger, seconds */
	enum logout_policy policy; /* [session] on_last_logout */
	int on_suspend;		   /* [session] on_suspend, enum key_event */
	int on_screen_lock;	   /* [session] on_screen_lock, ditto */
	int write_env;		   /* [files] write_environment */
	int log_level;		   /* [log] level, a log.h level */
	int fwd_use;		   /* [forwarding] use, enum fwd_use */
	int all_users;		   /* [login] all_users */
	int nkeyopts;		   /* in keyopts */
	/*
	 * Where each value came from: line `line` of files[file - 1], or the
	 * default (file 0).  Compact on purpose: every process of sshenv
	 * holds a config, and a string per key cost 64 KiB of each one's
	 * private memory.
	 */
	struct {
		uint8_t file;
		uint32_t line;
	} origin[CONFIG_NOPTIONS];
	char keys[1024];	 /* [agent] keys, space separated */
	char upstream[1024];	 /* [agent] upstream: agents to merge */
	char providers[1024];	 /* [agent] providers: their allowlist */
	char envfile[PATHS_MAX]; /* [files] environment */
	char rundir[PATHS_MAX];	 /* [files] runtime_dir */
	char files[CONFIG_MAXFILES][PATHS_MAX];
	struct config_key keyopts[CONFIG_MAXKEYS];
};

/*
 * Fills c with the built-in defaults.  Only what is read is written: the
 * bytes past each string's terminator, and the keyopts past nkeyopts,
 * are left as they were (compare configs by their fields, not memcmp).
 */
void config_defaults(struct config *c);

/*
 * Loads file if non-NULL (it must exist), else the system then the user
 * file (each only if present).  On error returns ERR_CONFIG (or
 * ERR_SYSTEM for an unreadable file) with a "FILE:LINE: what" message in
 * err; c then holds the defaults overlaid with what was read before.
 */
int config_load(struct config *c, const char *file, char *err, size_t errlen);

/*
 * Loads settings from an open stream named name (for messages), as
 * config_load does with a file.  For tests and fuzzing.
 */
int config_load_stream(struct config *c, FILE *f, const char *name, char *err,
    size_t errlen);

/* The [key NAME] section for a key file path (NAME resolved as init
 * resolves it), or NULL. */
const struct config_key *
config_key_for(const struct config *c, const char *path);

/* Prints the effective settings, one "section.key = value  # origin". */
void config_print(const struct config *c, FILE *f);

/* The name of a policy value ("stop", "lock", "keep"). */
const char *config_policy_name(enum logout_policy p);
/* The name of a forwarding use value ("allow", "confirm", "deny"). */
const char *config_fwd_use_name(int use);

/* Calls fn for each known "section.key" (for tests and the example). */
void
config_each_key(void (*fn)(const char *section, const char *key, void *arg),
    void *arg);

#endif
