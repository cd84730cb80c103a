/*
 * uselog: the agent's record of what its keys were used for: every
 * signature made and every one refused, with the key, whether the
 * request came from another host, its route and what was to be signed.
 * A bounded ring in memory (the oldest entries go), read with
 * `sshenv log`; never a secret.  Also the wire form of entries, shared
 * by the agent (which encodes) and the client (which decodes).
 */
#ifndef SSHENV_USELOG_H
#define SSHENV_USELOG_H

#include <stddef.h>
#include <stdint.h>

struct wire;
struct uselog;

/* Entries kept; the oldest go first. */
#define USELOG_CAP 512

enum uselog_verdict {
	USE_ALLOWED,	/* signed */
	USE_CONFIRMED,	/* signed, once the user said yes */
	USE_DENIED,	/* refused by the forwarding policy */
	USE_CONSTRAINT, /* refused by a destination constraint */
	USE_REFUSED,	/* refused by the user (or no one could be asked) */
	USE_FAILED,	/* the key went, or the signature failed */
	USE_NVERDICTS
};

struct uselog_entry {
	uint64_t seq;	 /* from 1, set by uselog_add */
	int64_t time;	 /* seconds since the epoch */
	uint8_t verdict; /* enum uselog_verdict */
	uint8_t forwarded;
	char key[128];	 /* the key's comment */
	char fp[64];	 /* SHA256:... */
	char what[128];	 /* "ssh login as root", "sshsig (file)", "other" */
	char route[256]; /* "hostb > hostc", or "" when local and unbound */
};

int uselog_new(struct uselog **out);
void uselog_free(struct uselog *ul);

/* Records e (its seq is assigned and returned). */
uint64_t uselog_add(struct uselog *ul, const struct uselog_entry *e);

/*
 * Appends the entries newer than seq since, oldest first, at most max of
 * the newest such: u32 count, then each entry (u64 seq, u64 time, u8
 * verdict, u8 forwarded, strings key, fp, what, route).
 */
int uselog_encode(const struct uselog *ul, uint64_t since, uint32_t max,
    struct wire *out);
/* Reads one entry as encoded; strings longer than its fields are cut. */
int uselog_decode(struct wire *in, struct uselog_entry *e);

/* "allowed", "confirmed", "denied by policy", ... */
const char *uselog_verdict_name(unsigned verdict);

#endif
