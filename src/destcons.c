/*
 * Destination constraints, checked as OpenSSH's ssh-agent checks them
 * (PROTOCOL.agent section 2; its identity_permitted), so that a key
 * added with `ssh-add -h` behaves the same whichever agent holds it.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "destcons.h"
#include "sserr.h"
#include "wire.h"

struct keyspec {
	uint8_t *blob;
	size_t len;
	int is_ca;
};

struct hop {
	char *user;	/* a pattern; NULL: any */
	char *hostname; /* NULL: this host (a from-hop only) */
	struct keyspec *keys;
	size_t nkeys;
};

struct constraint {
	struct hop from, to;
};

struct destcons {
	struct constraint *c;
	size_t n;
};

static void
hop_free(struct hop *h)
{
	size_t i;

	for (i = 0; i < h->nkeys; i++)
		free(h->keys[i].blob);
	free(h->keys);
	free(h->user);
	free(h->hostname);
	memset(h, 0, sizeof(*h));
}

void
destcons_free(struct destcons *dc)
{
	size_t i;

	if (dc == NULL)
		return;
	for (i = 0; i < dc->n; i++) {
		hop_free(&dc->c[i].from);
		hop_free(&dc->c[i].to);
	}
	free(dc->c);
	free(dc);
}

size_t
destcons_count(const struct destcons *dc)
{
	return dc == NULL ? 0 : dc->n;
}

/* A string without NULs as a C string; NULL for an empty one. */
static int
get_name(struct wire *w, char **out, size_t max)
{
	const uint8_t *p;
	size_t n;
	int r;

	*out = NULL;
	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	if (memchr(p, '\0', n) != NULL || n > max)
		return ERR_FORMAT;
	if (n == 0)
		return 0;
	if ((*out = malloc(n + 1)) == NULL)
		return ERR_ALLOC;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	return 0;
}

/* A reserved field: present, and empty (nothing defines its contents). */
static int
get_reserved(struct wire *w)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = wire_get_string(w, &p, &n)) != 0)
		return r;
	return n == 0 ? 0 : ERR_FORMAT;
}

/* A public key blob: its first field, the type name, must be there. */
static int
check_keyblob(const uint8_t *blob, size_t len)
{
	struct wire w;
	const uint8_t *name;
	size_t n;
	int r;

	wire_view(&w, blob, len);
	if ((r = wire_get_string(&w, &name, &n)) != 0)
		return r;
	return n > 0 && wire_avail(&w) > 0 ? 0 : ERR_FORMAT;
}

static int
parse_hop(struct wire *w, struct hop *h)
{
	struct keyspec *ks;
	const uint8_t *blob;
	size_t len;
	uint8_t ca;
	int r;

	memset(h, 0, sizeof(*h));
	if ((r = get_name(w, &h->user, DESTCONS_MAX_USER)) != 0 ||
	    (r = get_name(w, &h->hostname, DESTCONS_MAX_HOST)) != 0 ||
	    (r = get_reserved(w)) != 0)
		return r;
	while (wire_avail(w) > 0) {
		if ((r = wire_get_string(w, &blob, &len)) != 0 ||
		    (r = wire_get_u8(w, &ca)) != 0)
			return r;
		if ((r = check_keyblob(blob, len)) != 0)
			return r;
		if (ca > 1)
			return ERR_FORMAT;
		ks = realloc(h->keys, (h->nkeys + 1) * sizeof(*ks));
		if (ks == NULL)
			return ERR_ALLOC;
		h->keys = ks;
		ks += h->nkeys;
		if ((ks->blob = malloc(len)) == NULL)
			return ERR_ALLOC;
		memcpy(ks->blob, blob, len);
		ks->len = len;
		ks->is_ca = ca;
		h->nkeys++;
	}
	return 0;
}

static int
parse_constraint(struct wire *w, struct constraint *c)
{
	struct wire body, from, to;
	int r;

	if ((r = wire_get_string_wire(w, &body)) != 0 ||
	    (r = wire_get_string_wire(&body, &from)) != 0 ||
	    (r = wire_get_string_wire(&body, &to)) != 0 ||
	    (r = get_reserved(&body)) != 0 || (r = wire_end(&body)) != 0 ||
	    (r = parse_hop(&from, &c->from)) != 0 ||
	    (r = parse_hop(&to, &c->to)) != 0)
		return r;
	/* The first hop starts here (no host, no keys); any other names
	 * both.  No user on a from-hop; a to-hop always names its host. */
	if ((c->from.hostname == NULL) != (c->from.nkeys == 0) ||
	    c->from.user != NULL || c->to.hostname == NULL || c->to.nkeys == 0)
		return ERR_FORMAT;
	return 0;
}

int
destcons_parse(const uint8_t *p, size_t n, struct destcons **out)
{
	struct destcons *dc;
	struct constraint *c;
	struct wire all;
	int r;

	*out = NULL;
	wire_view(&all, p, n);
	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return ERR_ALLOC;
	r = 0;
	while (r == 0 && wire_avail(&all) > 0) {
		if (dc->n >= DESTCONS_MAX) {
			r = ERR_TOO_LONG;
			break;
		}
		if ((c = realloc(dc->c, (dc->n + 1) * sizeof(*c))) == NULL) {
			r = ERR_ALLOC;
			break;
		}
		dc->c = c;
		memset(&c[dc->n], 0, sizeof(*c));
		/* Counted first: a half-parsed one is freed with the rest. */
		r = parse_constraint(&all, &c[dc->n++]);
	}
	/* An empty list would constrain nothing while claiming to. */
	if (r == 0 && dc->n == 0)
		r = ERR_FORMAT;
	if (r != 0) {
		destcons_free(dc);
		return r;
	}
	*out = dc;
	return 0;
}

/*
 * Greedy, with one place to come back to: the last '*' seen.  A later
 * star supersedes an earlier one (whatever the earlier matched could
 * have matched, the later can too), so the work is at most the product
 * of the two lengths, never the exponential of plain backtracking.
 */
int
destcons_match(const char *s, const char *p)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Whether name is one of a certificate's principals (patterns). */
static int
principal_matches(const struct crypto_cert *ci, const char *name)
{
	struct wire w;
	const uint8_t *p;
	size_t n;
	char buf[DESTCONS_MAX_HOST + 1];

	wire_view(&w, ci->principals, ci->principalslen);
	while (wire_get_string(&w, &p, &n) == 0) {
		if (n >= sizeof(buf) || memchr(p, '\0', n) != NULL)
			continue;
		memcpy(buf, p, n);
		buf[n] = '\0';
		if (destcons_match(name, buf))
			return 1;
	}
	return 0;
}

/*
 * A host key matches a hop if the hop lists it as a plain key, or, for
 * a host certificate, if the hop lists its CA and the certificate is
 * valid now for the hop's host name with no critical option.
 */
static int
hop_matches(const struct hop *h, const struct destcons_bind *b, uint64_t now)
{
	const struct crypto_cert *ci = b->cert;
	size_t i;

	for (i = 0; i < h->nkeys; i++) {
		if (ci == NULL) {
			if (!h->keys[i].is_ca &&
			    h->keys[i].len == b->hostkeylen &&
			    memcmp(h->keys[i].blob, b->hostkey,
				b->hostkeylen) == 0)
				return 1;
			continue;
		}
		if (!h->keys[i].is_ca || h->keys[i].len != ci->calen ||
		    memcmp(h->keys[i].blob, ci->ca, ci->calen) != 0)
			continue;
		/* As OpenSSH: a host certificate, valid now, no critical
		 * option, not signed with SHA-1, for the hop's name. */
		if (ci->type == 2 && now >= ci->valid_after &&
		    now < ci->valid_before && ci->criticallen == 0 &&
		    !ci->sha1 && ci->principalslen > 0 && h->hostname != NULL &&
		    principal_matches(ci, h->hostname))
			return 1;
	}
	return 0;
}

/*
 * Some constraint permits the hop from the host with key `from` (NULL:
 * this host) to the host with key `to` (NULL: anywhere), for user
 * (NULL: not checked).
 */
static int
hop_permitted(const struct destcons *dc, const struct destcons_bind *from,
    const struct destcons_bind *to, const char *user, uint64_t now)
{
	const struct constraint *c;
	size_t i;

	for (i = 0; i < dc->n; i++) {
		c = &dc->c[i];
		if (from == NULL) {
			if (c->from.hostname != NULL || c->from.nkeys != 0)
				continue;
		} else if (!hop_matches(&c->from, from, now))
			continue;
		if (to != NULL && !hop_matches(&c->to, to, now))
			continue;
		if (c->to.user != NULL && user != NULL &&
		    !destcons_match(user, c->to.user))
			continue;
		return 1;
	}
	return 0;
}

int
destcons_permitted(const struct destcons *dc, const struct destcons_bind *binds,
    size_t n, int bind_failed, const char *user, uint64_t now)
{
	const struct destcons_bind *from = NULL, *last;
	size_t i;

	if (dc == NULL || dc->n == 0)
		return 0;
	/* A binding was refused: where this connection leads is unknown. */
	if (bind_failed && n == 0)
		return ERR_DENIED;
	if (n == 0)
		return 0; /* local use */
	for (i = 0; i < n; i++) {
		if (i == n - 1) {
			/* A signature is made at the end of the path, on a
			 * hop bound for authentication. */
			if (binds[i].forwarding && user != NULL)
				return ERR_DENIED;
		} else if (!binds[i].forwarding) {
			/* Nothing goes on through an authentication. */
			return ERR_DENIED;
		}
		if (!hop_permitted(dc, from, &binds[i],
			i == n - 1 ? user : NULL, now))
			return ERR_DENIED;
		from = &binds[i];
	}
	/*
	 * Listed on a forwarded connection only if it may be used beyond
	 * it: a key for logging in to this host is of no use from there.
	 */
	last = &binds[n - 1];
	if (last->forwarding && user == NULL &&
	    !hop_permitted(dc, last, NULL, NULL, now))
		return ERR_DENIED;
	return 0;
}
