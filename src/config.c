#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "duration.h"
#include "keyname.h"
#include "sserr.h"

enum opt_type { OPT_BOOL, OPT_SECONDS, OPT_STRING, OPT_PATH, OPT_CHOICE };

struct option {
	const char *section, *key;
	enum opt_type type;
	size_t offset, size;
	const char *const *choices; /* for OPT_CHOICE: index is value */
	const char *def;	    /* as written in the example file */
};

static const char *const forwarded_choices[] = { "ignore", "keep", "follow",
	NULL };
static const char *const policy_choices[] = { "stop", "lock", "keep", NULL };
static const char *const level_choices[] = { "error", "info", "debug", NULL };
static const char *const use_choices[] = { "allow", "confirm", "deny", NULL };
static const char *const load_choices[] = { "login", "first-use", NULL };
static const char *const event_choices[] = { "none", "forget", "lock", NULL };

#define F(field) \
	offsetof(struct config, field), sizeof(((struct config *)0)->field)

static const struct option options[] = {
	{ "agent", "lifetime", OPT_SECONDS, F(lifetime), NULL, "0" },
	{ "agent", "confirm", OPT_BOOL, F(confirm), NULL, "no" },
	{ "agent", "confirm_timeout", OPT_SECONDS, F(confirm_timeout), NULL,
	    "60" },
	{ "agent", "idle_timeout", OPT_SECONDS, F(idle_timeout), NULL, "0" },
	{ "agent", "forwarded", OPT_CHOICE, F(forwarded), forwarded_choices,
	    "follow" },
	{ "agent", "keys", OPT_STRING, F(keys), NULL, "" },
	{ "agent", "load", OPT_CHOICE, F(load), load_choices, "login" },
	{ "agent", "upstream", OPT_STRING, F(upstream), NULL, "" },
	{ "agent", "providers", OPT_STRING, F(providers), NULL, "" },
	{ "agent", "allow_remote_providers", OPT_BOOL, F(remote_providers),
	    NULL, "no" },
	{ "session", "linger", OPT_SECONDS, F(linger), NULL, "10" },
	{ "session", "on_last_logout", OPT_CHOICE, F(policy), policy_choices,
	    "stop" },
	{ "session", "on_suspend", OPT_CHOICE, F(on_suspend), event_choices,
	    "none" },
	{ "session", "on_screen_lock", OPT_CHOICE, F(on_screen_lock),
	    event_choices, "none" },
	{ "files", "environment", OPT_PATH, F(envfile), NULL, "" },
	{ "files", "write_environment", OPT_BOOL, F(write_env), NULL, "yes" },
	{ "files", "runtime_dir", OPT_PATH, F(rundir), NULL, "" },
	{ "log", "level", OPT_CHOICE, F(log_level), level_choices, "info" },
	{ "forwarding", "use", OPT_CHOICE, F(fwd_use), use_choices, "allow" },
	{ "login", "all_users", OPT_BOOL, F(all_users), NULL, "no" },
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

#define KF(field) \
	offsetof(struct config_key, field), \
	    sizeof(((struct config_key *)0)->field)

/* The keys of a [key NAME] section; fields of its struct config_key. */
static const struct option key_options[] = {
	{ "key", "forwarding", OPT_CHOICE, KF(forwarding), use_choices, "" },
	{ "key", "confirm", OPT_BOOL, KF(confirm), NULL, "" },
	{ "key", "lifetime", OPT_SECONDS, KF(lifetime), NULL, "" },
	{ "key", "destinations", OPT_STRING, KF(destinations), NULL, "" },
};
#define NKEYOPTIONS (sizeof(key_options) / sizeof(key_options[0]))
_Static_assert(NOPTIONS == CONFIG_NOPTIONS,
    "CONFIG_NOPTIONS is the table's size");

struct parse_state {
	struct config *c;
	const char *file;
	uint8_t fileno; /* in c->files, from 1 */
	FILE *f;
	int line;
	char *err;
	size_t errlen;
};

/* Expands a leading ~/ to $HOME. */
static int
expand_path(const char *v, char *out, size_t size)
{
	const char *home = getenv("HOME");
	int n;

	if (v[0] == '~' && v[1] == '/') {
		if (home == NULL || *home != '/')
			return ERR_FORMAT;
		n = snprintf(out, size, "%s%s", home, v + 1);
	} else if (v[0] == '/' || v[0] == '\0') {
		n = snprintf(out, size, "%s", v);
	} else {
		return ERR_FORMAT; /* relative to what? refuse */
	}
	return n < 0 || (size_t)n >= size ? ERR_TOO_LONG : 0;
}

/* Sets o's field in base (a struct config, or a struct config_key). */
static int
set_value(void *base, const struct option *o, const char *v)
{
	char *field = (char *)base + o->offset;
	uint32_t secs;
	int i;

	switch (o->type) {
	case OPT_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
			*(int *)field = 1;
		else if (!strcmp(v, "no") || !strcmp(v, "false") ||
		    !strcmp(v, "0"))
			*(int *)field = 0;
		else
			return ERR_FORMAT;
		return 0;
	case OPT_SECONDS:
		if (duration_parse(v, &secs) != 0)
			return ERR_FORMAT;
		*(uint32_t *)field = secs;
		return 0;
	case OPT_STRING:
		if (strlen(v) >= o->size)
			return ERR_TOO_LONG;
		memcpy(field, v, strlen(v) + 1);
		return 0;
	case OPT_PATH: {
		/* Into a copy first: a refused value leaves the field be. */
		char buf[PATHS_MAX];
		int r;

		if ((r = expand_path(v, buf, sizeof(buf))) != 0)
			return r;
		if (strlen(buf) >= o->size)
			return ERR_TOO_LONG;
		memcpy(field, buf, strlen(buf) + 1);
		return 0;
	}
	case OPT_CHOICE:
		for (i = 0; o->choices[i] != NULL; i++) {
			if (strcmp(v, o->choices[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		return ERR_FORMAT;
	}
	return ERR_INTERNAL;
}

void
config_defaults(struct config *c)
{
	size_t i;

	/* The buffers stay untouched past their first byte (config.h). */
	memset(c, 0, offsetof(struct config, keys));
	c->keys[0] = c->upstream[0] = c->providers[0] = '\0';
	c->envfile[0] = c->rundir[0] = '\0';
	for (i = 0; i < CONFIG_MAXFILES; i++)
		c->files[i][0] = '\0';
	for (i = 0; i < NOPTIONS; i++)
		set_value(c, &options[i], options[i].def);
}

/* What a value of this option must look like, for error messages. */
static void
expected(const struct option *o, int r, char *buf, size_t size)
{
	size_t i, n;

	if (r == ERR_TOO_LONG) {
		snprintf(buf, size, "too long");
		return;
	}
	switch (o->type) {
	case OPT_BOOL: snprintf(buf, size, "use yes or no"); break;
	case OPT_SECONDS:
		snprintf(buf, size,
		    "use seconds, or a time like 90s, 10m, "
		    "1h30m, 2d");
		break;
	case OPT_PATH:
		snprintf(buf, size,
		    "give an absolute path, or one that "
		    "starts with ~/");
		break;
	case OPT_CHOICE:
		n = (size_t)snprintf(buf, size, "use one of");
		for (i = 0; o->choices[i] != NULL && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, "%s %s",
			    i ? "," : "", o->choices[i]);
		break;
	default: snprintf(buf, size, "not a value it takes"); break;
	}
}

/* Edit distance of two short strings (a typo's distance), capped. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[33], prev, cur;

	if (la > 32 || lb > 32)
		return 99;
	for (j = 0; j <= lb; j++)
		d[j] = j;
	for (i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (j = 1; j <= lb; j++) {
			cur = d[j];
			d[j] = prev + (a[i - 1] != b[j - 1]);
			if (d[j] > d[j - 1] + 1)
				d[j] = d[j - 1] + 1;
			if (d[j] > cur + 1)
				d[j] = cur + 1;
			prev = cur;
		}
	}
	return d[lb];
}

/* The known key nearest to name (a likely typo of it), or NULL. */
static const struct option *
nearest(const char *name)
{
	const struct option *best = NULL;
	size_t i, d, bestd = 3;

	for (i = 0; i < NOPTIONS; i++) {
		d = distance(name, options[i].key);
		if (d < bestd) {
			bestd = d;
			best = &options[i];
		}
	}
	return best;
}

/*
 * A value as users write it: "10   # ten seconds" is 10.  (inih cuts
 * inline comments only at ';'.)
 */
static void
strip_comment(const char *v, char *out, size_t size)
{
	const char *hash = v;
	size_t n;

	while ((hash = strchr(hash, '#')) != NULL) {
		if (hash > v && (hash[-1] == ' ' || hash[-1] == '\t'))
			break;
		hash++;
	}
	n = hash != NULL ? (size_t)(hash - v) : strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(out, v, n);
	out[n] = '\0';
}

/*
 * destinations: words as `ssh-add -h` takes them ([user@]host, or
 * host>[user@]host), CONFIG_MAXDEST at most; none may look like an
 * option.
 */
static int
check_destinations(const char *v)
{
	size_t n = 0, len;

	for (;;) {
		v += strspn(v, " \t");
		if (*v == '\0')
			return 0;
		len = strcspn(v, " \t");
		if (*v == '-' || *v == '>' || ++n > CONFIG_MAXDEST)
			return ERR_FORMAT;
		v += len;
	}
}

static int
on_key_entry(struct parse_state *st, const char *keyname, const char *name,
    const char *value)
{
	struct config_key *k = NULL;
	size_t i;
	int j, r;

	if (st->err[0] != '\0')
		return 0;
	keyname += strspn(keyname, " \t");
	for (j = 0; j < st->c->nkeyopts; j++)
		if (strcmp(st->c->keyopts[j].name, keyname) == 0)
			k = &st->c->keyopts[j];
	if (k == NULL &&
	    (*keyname == '\0' || strlen(keyname) >= sizeof(k->name))) {
		snprintf(st->err, st->errlen,
		    "%s:%d: [key NAME] needs the name of a key, as in [agent] "
		    "keys",
		    st->file, st->line);
		return 0;
	}
	if (k == NULL && st->c->nkeyopts >= CONFIG_MAXKEYS) {
		snprintf(st->err, st->errlen,
		    "%s:%d: [key %s]: %d [key] sections at most", st->file,
		    st->line, keyname, CONFIG_MAXKEYS);
		return 0;
	}
	if (k == NULL) {
		k = &st->c->keyopts[st->c->nkeyopts++];
		memset(k, 0, sizeof(*k));
		snprintf(k->name, sizeof(k->name), "%s", keyname);
		k->forwarding = k->confirm = -1;
		k->file = st->fileno;
		k->line = (uint32_t)st->line;
	}
	for (i = 0; i < NKEYOPTIONS; i++) {
		if (strcmp(name, key_options[i].key) != 0)
			continue;
		r = set_value(k, &key_options[i], value);
		if (r == 0 && i == 3)
			r = check_destinations(k->destinations);
		if (r != 0) {
			if (i == 3)
				k->destinations[0] = '\0';
			snprintf(st->err, st->errlen,
			    "%s:%d: bad value '%s' for %s in [key %s]: %s",
			    st->file, st->line, value, name, keyname,
			    i == 0 ? "use one of allow, confirm, deny" :
				i == 1 ?
				     "use yes or no" :
				i == 2 ?
				     "a time such as 3600, 90m or 8h" :
				     "up to 16 words as ssh-add -h takes them");
			return 0;
		}
		return 1;
	}
	snprintf(st->err, st->errlen,
	    "%s:%d: unknown key '%s' in section [key %s] (its keys are "
	    "forwarding, confirm, lifetime and destinations)",
	    st->file, st->line, name, keyname);
	return 0;
}

static int
on_entry(void *user, const char *section, const char *name, const char *raw)
{
	struct parse_state *st = user;
	const struct option *near;
	char value[PATHS_MAX], why[128];
	size_t i;
	int known_section = 0, r;

	strip_comment(raw, value, sizeof(value));
	if (strncmp(section, "key ", 4) == 0)
		return on_key_entry(st, section + 4, name, value);
	for (i = 0; i < NOPTIONS; i++) {
		if (strcmp(section, options[i].section) != 0)
			continue;
		known_section = 1;
		if (strcmp(name, options[i].key) != 0)
			continue;
		if ((r = set_value(st->c, &options[i], value)) != 0) {
			expected(&options[i], r, why, sizeof(why));
			if (st->err[0] == '\0')
				snprintf(st->err, st->errlen,
				    "%s:%d: bad value '%s' for %s.%s: %s",
				    st->file, st->line, value, section, name,
				    why);
			return 0;
		}
		st->c->origin[i].file = st->fileno;
		st->c->origin[i].line = (uint32_t)st->line;
		return 1;
	}
	/* inih goes on after an error: report the first. */
	if (st->err[0] != '\0')
		return 0;
	near = nearest(name);
	if (*section == '\0')
		snprintf(st->err, st->errlen,
		    "%s:%d: '%s' comes before any section: put it under "
		    "[%s]",
		    st->file, st->line, name,
		    near != NULL ? near->section :
				   "agent], [session], "
				   "[files], [log], [forwarding] or [login");
	else if (!known_section)
		snprintf(st->err, st->errlen,
		    "%s:%d: unknown section [%s] (the sections are [agent], "
		    "[session], [files], [log], [forwarding], [login] and "
		    "[key NAME])",
		    st->file, st->line, section);
	else if (near != NULL)
		snprintf(st->err, st->errlen,
		    "%s:%d: unknown key '%s' in section [%s]: did you mean "
		    "%s.%s?",
		    st->file, st->line, name, section, near->section,
		    near->key);
	else
		snprintf(st->err, st->errlen,
		    "%s:%d: unknown key '%s' in section [%s]", st->file,
		    st->line, name, section);
	return 0;
}

/* Counts lines as inih reads them, so errors and origins can name one. */
static char *
read_line(char *buf, int size, void *stream)
{
	struct parse_state *st = stream;
	char *r = fgets(buf, size, st->f);

	if (r != NULL)
		st->line++;
	return r;
}

int
config_load_stream(struct config *c, FILE *f, const char *name, char *err,
    size_t errlen)
{
	struct parse_state st;
	size_t i;
	int r;

	memset(&st, 0, sizeof(st));
	st.c = c;
	st.file = name;
	/* A slot for the name, for origins: its own, a free one, or the last. */
	for (i = 0; i < CONFIG_MAXFILES - 1; i++)
		if (c->files[i][0] == '\0' || strcmp(c->files[i], name) == 0)
			break;
	snprintf(c->files[i], sizeof(c->files[i]), "%s", name);
	st.fileno = (uint8_t)(i + 1);
	st.f = f;
	st.err = err;
	st.errlen = errlen;
	err[0] = '\0';
	r = ini_parse_stream(read_line, &st, on_entry, &st);
	if (r == 0)
		return 0;
	if (err[0] == '\0')
		snprintf(err, errlen, "%s:%d: syntax error", name,
		    r > 0 ? r : st.line);
	return ERR_CONFIG;
}

static int
load_file(struct config *c, const char *file, int must_exist, char *err,
    size_t errlen)
{
	FILE *f;
	int r;

	if ((f = fopen(file, "re")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return ERR_SYSTEM;
	}
	r = config_load_stream(c, f, file, err, errlen);
	fclose(f);
	return r;
}

int
config_load(struct config *c, const char *file, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char user[PATHS_MAX], scratch[PATHS_MAX + 256];
	int r, n;

	err[0] = '\0';
	if (file != NULL)
		return load_file(c, file, 1, err, errlen);
	/* Both files, whatever the first held: the first error is told. */
	r = load_file(c, "/etc/sshenv.conf", 0, err, errlen);
	if (xdg != NULL && *xdg == '/')
		n = snprintf(user, sizeof(user), "%s/sshenv/config", xdg);
	else if (home != NULL && *home == '/')
		n = snprintf(user, sizeof(user), "%s/.config/sshenv/config",
		    home);
	else
		return r;
	if (n < 0 || (size_t)n >= sizeof(user))
		return r;
	if (r == 0)
		return load_file(c, user, 0, err, errlen);
	(void)load_file(c, user, 0, scratch, sizeof(scratch));
	return r;
}

const char *
config_policy_name(enum logout_policy p)
{
	return policy_choices[p];
}

const char *
config_fwd_use_name(int use)
{
	return use >= FWD_USE_ALLOW && use <= FWD_USE_DENY ? use_choices[use] :
							     "allow";
}

/* A [key NAME] section's settings, those set only. */
static void
print_key(const struct config *c, const struct config_key *k, FILE *f)
{
	const char *where = k->file >= 1 && k->file <= CONFIG_MAXFILES ?
	    c->files[k->file - 1] :
	    "?";

	if (k->forwarding >= 0)
		fprintf(f, "key %s.forwarding = %s\t# %s:%u\n", k->name,
		    use_choices[k->forwarding], where, k->line);
	if (k->confirm >= 0)
		fprintf(f, "key %s.confirm = %s\t# %s:%u\n", k->name,
		    k->confirm ? "yes" : "no", where, k->line);
	if (k->lifetime != 0)
		fprintf(f, "key %s.lifetime = %u\t# %s:%u\n", k->name,
		    k->lifetime, where, k->line);
	if (k->destinations[0] != '\0')
		fprintf(f, "key %s.destinations = %s\t# %s:%u\n", k->name,
		    k->destinations, where, k->line);
}

void
config_print(const struct config *c, FILE *f)
{
	const char *field;
	size_t i;

	for (i = 0; i < NOPTIONS; i++) {
		field = (const char *)c + options[i].offset;
		fprintf(f, "%s.%s = ", options[i].section, options[i].key);
		switch (options[i].type) {
		case OPT_BOOL:
			fputs(*(const int *)field ? "yes" : "no", f);
			break;
		case OPT_SECONDS:
			fprintf(f, "%u", *(const uint32_t *)field);
			break;
		case OPT_STRING:
		case OPT_PATH: fputs(field, f); break;
		case OPT_CHOICE:
			fputs(options[i].choices[*(const int *)field], f);
			break;
		}
		if ((c->origin[i].file == 0 ||
			c->origin[i].file > CONFIG_MAXFILES) &&
		    options[i].type == OPT_PATH && options[i].def[0] == '\0' &&
		    field[0] != '\0')
			/* Empty in the file; the path in use is shown. */
			fprintf(f, "\t# default (empty: this path computed)\n");
		else if (c->origin[i].file == 0 ||
		    c->origin[i].file > CONFIG_MAXFILES)
			fprintf(f, "\t# default\n");
		else
			fprintf(f, "\t# %s:%u\n",
			    c->files[c->origin[i].file - 1], c->origin[i].line);
	}
	for (i = 0; i < (size_t)c->nkeyopts; i++)
		print_key(c, &c->keyopts[i], f);
}

const struct config_key *
config_key_for(const struct config *c, const char *path)
{
	char p[PATHS_MAX];
	int i;

	for (i = 0; i < c->nkeyopts; i++)
		if (keyname_path(c->keyopts[i].name, p, sizeof(p)) == 0 &&
		    strcmp(p, path) == 0)
			return &c->keyopts[i];
	return NULL;
}

void
config_each_key(void (*fn)(const char *, const char *, void *), void *arg)
{
	size_t i;

	for (i = 0; i < NOPTIONS; i++)
		fn(options[i].section, options[i].key, arg);
}
