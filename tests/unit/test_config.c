/*
 * config: the example file parses and names exactly the keys the program
 * knows; values, errors (first one, with file and line) and load order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "sserr.h"
#include "keyfile.h"
#include "unit.h"

static char errbuf[PATHS_MAX + 256];

/* Parses text as a file named "t.conf" into c (defaults first). */
static int
parse(struct config *c, const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int r;

	config_defaults(c);
	if (f == NULL)
		return ERR_SYSTEM;
	r = config_load_stream(c, f, "t.conf", errbuf, sizeof(errbuf));
	fclose(f);
	return r;
}

/* The example is tests/data/../../conf/sshenv.conf. */
static const char *
example_path(void)
{
	static char path[KF_PATHLEN + 32];

	snprintf(path, sizeof(path), "%s/../../conf/sshenv.conf", kf_datadir());
	return path;
}

struct seen {
	char keys[64][64];
	int n;
};

static void
collect(const char *section, const char *key, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64)
		snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s.%s", section,
		    key);
}

static void
test_example_parses(void)
{
	struct config c;
	int r;

	config_defaults(&c);
	r = config_load(&c, example_path(), errbuf, sizeof(errbuf));
	if (r != 0)
		fprintf(stderr, "  %s\n", errbuf);
	CHECK_EQ(r, 0);
}

/*
 * The example (installed as /etc/sshenv.conf by the Debian package) sets
 * nothing: each key is a commented-out "#key = default" line.  Every key
 * the program knows is there, the example names no other key (config
 * loading refuses unknown ones), and with the '#' of every such line
 * removed it still changes nothing: each is shown at its default.
 */
static void
test_example_has_every_key(void)
{
	struct config defaults, c;
	struct seen seen;
	char line[512], *eq, sec[64] = "", name[160], *text = NULL;
	size_t textlen = 0;
	FILE *f, *out, *in;
	int i, found, settings = 0;

	memset(&seen, 0, sizeof(seen));
	config_each_key(collect, &seen);
	CHECK(seen.n >= 10);
	CHECK((f = fopen(example_path(), "r")) != NULL);
	if (f == NULL)
		return;
	/* Nothing set as shipped.  Zeroed first: config_defaults leaves the
	 * bytes past each string as they were, and they are compared. */
	memset(&defaults, 0, sizeof(defaults));
	config_defaults(&defaults);
	config_defaults(&c);
	CHECK_EQ(config_load(&c, example_path(), errbuf, sizeof(errbuf)), 0);
	for (i = 0; i < CONFIG_NOPTIONS; i++)
		CHECK_EQ(c.origin[i].file, 0);
	/* The settings uncommented. */
	CHECK((out = open_memstream(&text, &textlen)) != NULL);
	while (out != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " =") != NULL) {
			fputs(line + 1, out);
			settings++;
		} else
			fputs(line, out);
	}
	fclose(f);
	if (out == NULL)
		return;
	fclose(out);
	CHECK_EQ(settings, seen.n);
	for (i = 0; i < seen.n; i++) {
		CHECK((in = fmemopen(text, textlen, "r")) != NULL);
		if (in == NULL)
			break;
		found = 0;
		sec[0] = '\0';
		while (fgets(line, sizeof(line), in) != NULL) {
			if (line[0] == '[') {
				snprintf(sec, sizeof(sec), "%.*s",
				    (int)strcspn(line + 1, "]"), line + 1);
				continue;
			}
			if (line[0] == '#' || (eq = strchr(line, '=')) == NULL)
				continue;
			snprintf(name, sizeof(name), "%s.%.*s", sec,
			    (int)strcspn(line, " ="), line);
			if (strcmp(name, seen.keys[i]) == 0)
				found = 1;
		}
		fclose(in);
		if (!found)
			fprintf(stderr, "  %s missing from the example\n",
			    seen.keys[i]);
		CHECK(found);
	}
	/* ... at its default: uncommented, the example changes nothing. */
	memset(&c, 0, sizeof(c));
	config_defaults(&c);
	CHECK((in = fmemopen(text, textlen, "r")) != NULL);
	if (in != NULL) {
		CHECK_EQ(config_load_stream(&c, in, "example", errbuf,
			     sizeof(errbuf)),
		    0);
		fclose(in);
	}
	for (i = 0; i < CONFIG_NOPTIONS; i++)
		CHECK(c.origin[i].file != 0); /* each key was read */
	memset(defaults.origin, 0, sizeof(defaults.origin));
	memset(c.origin, 0, sizeof(c.origin));
	memset(defaults.files, 0, sizeof(defaults.files));
	memset(c.files, 0, sizeof(c.files));
	CHECK(memcmp(&defaults, &c, sizeof(c)) == 0);
	free(text);
}

/* What users write, and what they are told (issue: config messages). */
static void
test_messages_users_can_act_on(void)
{
	struct config c;

	/* A key before any section names the section it belongs in. */
	CHECK_EQ(parse(&c, "linger = 5\n[session]\n"), ERR_CONFIG);
	CHECK(strstr(errbuf,
		  "t.conf:1: 'linger' comes before any section: "
		  "put it under [session]") == errbuf);
	/* A typo gets the nearest key. */
	CHECK_EQ(parse(&c, "[agent]\nforwarderd = keep\n"), ERR_CONFIG);
	CHECK(strstr(errbuf, "did you mean agent.forwarded?") != NULL);
	CHECK_EQ(parse(&c, "[agent]\nzzzzzzzzzz = 1\n"), ERR_CONFIG);
	CHECK(strstr(errbuf, "did you mean") == NULL);
	/* A relative path says why it is refused. */
	CHECK_EQ(parse(&c, "[files]\nenvironment = .ssh/env2\n"), ERR_CONFIG);
	CHECK(strstr(errbuf, "absolute path, or one that starts with ~/") !=
	    NULL);
	/* A choice lists the choices. */
	CHECK_EQ(parse(&c, "[session]\non_last_logout = maybe\n"), ERR_CONFIG);
	CHECK(strstr(errbuf, "use one of stop, lock, keep") != NULL);
	/* Comments after values, as people write them. */
	CHECK_EQ(parse(&c,
		     "[session]\nlinger = 10 # ten seconds\n"
		     "on_last_logout = keep\t# for now\n"),
	    0);
	CHECK_EQ(c.linger, 10);
	CHECK_EQ(c.policy, POLICY_KEEP);
	/* ... but a # inside a value is the value's. */
	CHECK_EQ(parse(&c, "[agent]\nkeys = id#1 id_b\n"), 0);
	CHECK(strcmp(c.keys, "id#1 id_b") == 0);
	/* A bad line costs only its own key: the others still apply. */
	CHECK_EQ(parse(&c, "[session]\nlinger = 5x\non_last_logout = keep\n"),
	    ERR_CONFIG);
	CHECK_EQ(c.linger, 10);
	CHECK_EQ(c.policy, POLICY_KEEP);
}

static void
test_values(void)
{
	struct config c;

	CHECK_EQ(parse(&c,
		     "[agent]\nlifetime = 1h30m\nconfirm = yes\n"
		     "forwarded = ignore\nkeys = id_ed25519 id_rsa\n"
		     "[session]\nlinger = 0\non_last_logout = lock\n"
		     "[files]\nwrite_environment = no\nruntime_dir = /run/x\n"
		     "[log]\nlevel = debug\n"),
	    0);
	CHECK_EQ(c.lifetime, 5400);
	CHECK_EQ(c.confirm, 1);
	CHECK_EQ(c.forwarded, FWD_IGNORE);
	CHECK(strcmp(c.keys, "id_ed25519 id_rsa") == 0);
	CHECK_EQ(c.linger, 0);
	CHECK_EQ(c.policy, POLICY_LOCK);
	CHECK_EQ(c.write_env, 0);
	CHECK(strcmp(c.rundir, "/run/x") == 0);
	CHECK_EQ(c.log_level, 2);
}

static void
test_home_expansion(void)
{
	struct config c;
	char want[PATHS_MAX];
	const char *old = getenv("HOME");
	char *saved = old != NULL ? strdup(old) : NULL;

	setenv("HOME", "/home/someone", 1);
	CHECK_EQ(parse(&c, "[files]\nenvironment = ~/env\n"), 0);
	snprintf(want, sizeof(want), "/home/someone/env");
	CHECK(strcmp(c.envfile, want) == 0);
	/* A relative path has nothing to be relative to. */
	CHECK_EQ(parse(&c, "[files]\nenvironment = env\n"), ERR_CONFIG);
	if (saved != NULL) {
		setenv("HOME", saved, 1);
		free(saved);
	} else {
		unsetenv("HOME");
	}
}

static void
test_errors_name_file_and_line(void)
{
	struct config c;

	CHECK_EQ(parse(&c, "[agent]\nlifetime = 1\nbogus = 1\n"), ERR_CONFIG);
	CHECK(strcmp(errbuf,
		  "t.conf:3: unknown key 'bogus' in section "
		  "[agent]") == 0);
	CHECK_EQ(parse(&c, "\n[nope]\nx = 1\n"), ERR_CONFIG);
	CHECK(strncmp(errbuf,
		  "t.conf:3: unknown section [nope] (the "
		  "sections are",
		  38) == 0);
	CHECK_EQ(parse(&c, "[session]\nlinger = soon\n"), ERR_CONFIG);
	CHECK(strncmp(errbuf,
		  "t.conf:2: bad value 'soon' for "
		  "session.linger: use seconds",
		  47) == 0);
	CHECK_EQ(parse(&c, "[session]\non_last_logout = maybe\n"), ERR_CONFIG);
	CHECK_EQ(parse(&c, "[agent]\nconfirm = perhaps\n"), ERR_CONFIG);
	CHECK_EQ(parse(&c, "[agent]\nlifetime = 5x\n"), ERR_CONFIG);
	CHECK_EQ(parse(&c, "[agent]\nlifetime = 99999999999\n"), ERR_CONFIG);
	/* Bounded before multiplying: this once wrapped to 579584 s. */
	CHECK_EQ(parse(&c, "[agent]\nlifetime = 30500568904944w\n"),
	    ERR_CONFIG);
	CHECK_EQ(c.lifetime, 0);
	CHECK_EQ(parse(&c, "[agent]\nlifetime = 7102w\n"), ERR_CONFIG);
	CHECK_EQ(parse(&c, "[agent]\nlifetime = 7101w\n"), 0);
	CHECK_EQ(c.lifetime, 7101u * 604800u);
	CHECK_EQ(parse(&c, "[agent\n"), ERR_CONFIG);
	CHECK(strncmp(errbuf, "t.conf:1:", 9) == 0);
	/* Several errors: the first is the one reported. */
	CHECK_EQ(parse(&c, "[agent]\nbogus = 1\nlifetime = x\n"), ERR_CONFIG);
	CHECK(strncmp(errbuf, "t.conf:2:", 9) == 0);
}

static void
test_origins_and_print(void)
{
	struct config c;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	CHECK_EQ(parse(&c, "[session]\n\nlinger = 3\n"), 0);
	CHECK((f = open_memstream(&buf, &len)) != NULL);
	if (f == NULL)
		return;
	config_print(&c, f);
	fclose(f);
	CHECK(strstr(buf, "session.linger = 3\t# t.conf:3\n") != NULL);
	CHECK(strstr(buf, "agent.lifetime = 0\t# default\n") != NULL);
	CHECK(
	    strstr(buf, "session.on_last_logout = stop\t# default\n") != NULL);
	free(buf);
}

static void
test_missing_files(void)
{
	struct config c;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *saved = xdg != NULL ? strdup(xdg) : NULL;

	config_defaults(&c);
	/* A named file must exist ... */
	CHECK_EQ(config_load(&c, "/nonexistent/sshenv.conf", errbuf,
		     sizeof(errbuf)),
	    ERR_SYSTEM);
	CHECK(strstr(errbuf, "/nonexistent/sshenv.conf") != NULL);
	/* ... the usual ones need not. */
	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	CHECK_EQ(config_load(&c, NULL, errbuf, sizeof(errbuf)), 0);
	if (saved != NULL) {
		setenv("XDG_CONFIG_HOME", saved, 1);
		free(saved);
	} else {
		unsetenv("XDG_CONFIG_HOME");
	}
}

/* [key NAME] sections: their four keys, merged by name, and refused
 * with file, line and what to write instead. */
static void
test_key_sections(void)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[key a]\nforwarding = maybe\n",
		    "t.conf:2: bad value 'maybe' for forwarding in [key a]: "
		    "use one of allow, confirm, deny" },
		{ "[key a]\nconfrim = yes\n",
		    "t.conf:2: unknown key 'confrim' in section [key a] (its "
		    "keys are forwarding, confirm, lifetime and "
		    "destinations)" },
		{ "[key a]\ndestinations = -H /etc/passwd\n",
		    "t.conf:2: bad value '-H /etc/passwd' for destinations in "
		    "[key a]: up to 16 words as ssh-add -h takes them" },
		{ "[key a]\nlifetime = soon\n",
		    "t.conf:2: bad value 'soon' for lifetime in [key a]: a "
		    "time such as 3600, 90m or 8h" },
		{ "[key ]\nconfirm = yes\n",
		    "t.conf:2: [key NAME] needs the name of a key, as in "
		    "[agent] keys" },
	};
	struct config c;
	const struct config_key *k;
	char text[4096], path[PATHS_MAX];
	size_t i, n;
	char *home = getenv("HOME");

	CHECK_EQ(parse(&c,
		     "[forwarding]\nuse = confirm\n"
		     "[key id_work]\nforwarding = deny\n"
		     "destinations = hostb hostb>alice@hostc\n"
		     "[key /k/other]\nconfirm = yes\nlifetime = 8h\n"
		     "[key id_work]\nconfirm = no\n"),
	    0);
	CHECK_EQ(c.fwd_use, FWD_USE_CONFIRM);
	CHECK_EQ(c.nkeyopts, 2);
	CHECK(strcmp(c.keyopts[0].name, "id_work") == 0);
	CHECK_EQ(c.keyopts[0].forwarding, FWD_USE_DENY);
	CHECK_EQ(c.keyopts[0].confirm, 0);
	CHECK_EQ(c.keyopts[0].lifetime, 0);
	CHECK(
	    strcmp(c.keyopts[0].destinations, "hostb hostb>alice@hostc") == 0);
	CHECK_EQ(c.keyopts[0].line, 4); /* its first setting */
	CHECK_EQ(c.keyopts[1].forwarding, -1);
	CHECK_EQ(c.keyopts[1].confirm, 1);
	CHECK_EQ(c.keyopts[1].lifetime, 8 * 3600);
	/* Found by the path init resolves the name to. */
	CHECK(config_key_for(&c, "/k/other") == &c.keyopts[1]);
	CHECK(config_key_for(&c, "/k/none") == NULL);
	if (home != NULL && *home == '/') {
		snprintf(path, sizeof(path), "%s/.ssh/id_work", home);
		k = config_key_for(&c, path);
		CHECK(k == &c.keyopts[0]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(parse(&c, bad[i].text), ERR_CONFIG);
		if (strcmp(errbuf, bad[i].msg) != 0)
			fprintf(stderr, "  got: %s\n", errbuf);
		CHECK(strcmp(errbuf, bad[i].msg) == 0);
	}
	/* Sixteen sections at most. */
	for (i = 0, n = 0; i <= CONFIG_MAXKEYS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "[key k%zu]\nconfirm = yes\n", i);
	CHECK_EQ(parse(&c, text), ERR_CONFIG);
	CHECK(strstr(errbuf,
		  "t.conf:34: [key k16]: 16 [key] sections at "
		  "most") != NULL);
	CHECK_EQ(c.nkeyopts, CONFIG_MAXKEYS);
}

/*
 * config_defaults writes what is read and no more (config.h): each
 * daemon holds a config, and a page of it never written stays out of its
 * private memory.  Filled with garbage first, the buffers keep it past
 * their terminators, and so do the unused [key] entries.
 */
static void
test_defaults_write_only_what_is_read(void)
{
	static struct config c;

	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	CHECK_EQ(c.nkeyopts, 0);
	CHECK_EQ(c.keys[0], '\0');
	CHECK_EQ(c.rundir[0], '\0');
	CHECK_EQ(c.files[1][0], '\0');
	CHECK_EQ((unsigned char)c.keys[1], 0xa5);
	CHECK_EQ((unsigned char)c.rundir[PATHS_MAX - 1], 0xa5);
	CHECK_EQ((unsigned char)c.files[1][1], 0xa5);
	CHECK_EQ((unsigned char)c.keyopts[0].name[0], 0xa5);
	CHECK_EQ((unsigned char)c.keyopts[CONFIG_MAXKEYS - 1].line, 0xa5);
}

int
main(void)
{
	RUN(test_example_parses);
	RUN(test_example_has_every_key);
	RUN(test_values);
	RUN(test_home_expansion);
	RUN(test_errors_name_file_and_line);
	RUN(test_messages_users_can_act_on);
	RUN(test_origins_and_print);
	RUN(test_missing_files);
	RUN(test_key_sections);
	RUN(test_defaults_write_only_what_is_read);
	UNIT_DONE();
}
