/*
 * wire: a bounds-checked byte buffer for everything that crosses a socket.
 *
 * A buffer is either a growable store (wire_init) or a read-only view over
 * someone else's bytes (wire_view).  Reads consume from the front; a get
 * that fails consumes nothing and leaves its outputs zeroed.  Writes append
 * and fail with ERR_TOO_LONG past the store's limit.  Storage is wiped
 * before it is freed or moved, because request buffers carry private keys.
 * All functions return 0 or a negative sserr.h code.
 */
#ifndef SSHENV_WIRE_H
#define SSHENV_WIRE_H

#include <stddef.h>
#include <stdint.h>

struct wire {
	uint8_t *buf;
	size_t off; /* first unread byte */
	size_t len; /* end of data */
	size_t cap; /* allocated bytes (0 for a view) */
	size_t max; /* growth limit */
	int view;
};

/* An empty store that may grow to max bytes; allocates nothing yet. */
void wire_init(struct wire *w, size_t max);
/* A read-only view over n bytes at p; p must outlive the view. */
void wire_view(struct wire *w, const void *p, size_t n);
/* Wipes and frees a store (a no-op on a view); w may be reused after init. */
void wire_free(struct wire *w);
/* Wipes the contents and empties a store, keeping its allocation. */
void wire_reset(struct wire *w);

/* Unread bytes, and a pointer to the first one. */
size_t wire_avail(const struct wire *w);
const uint8_t *wire_ptr(const struct wire *w);

/* Drops n unread bytes; ERR_TRUNCATED if fewer are left. */
int wire_consume(struct wire *w, size_t n);
/* Moves the unread bytes to the front of a store, wiping the rest. */
void wire_compact(struct wire *w);
/*
 * Makes room for n more bytes at the end and points *p at it, for a caller
 * that fills the space itself (a socket read) and then calls wire_commit.
 * Unlike the writers, it may compact the buffer (moving unread bytes to
 * the front), so offsets taken before it are void.
 */
int wire_reserve(struct wire *w, size_t n, uint8_t **p);
void wire_commit(struct wire *w, size_t n);

/* Readers. */
int wire_get_u8(struct wire *w, uint8_t *v);
int wire_get_u32(struct wire *w, uint32_t *v);
int wire_get_u64(struct wire *w, uint64_t *v);
int wire_peek_u32(const struct wire *w, uint32_t *v);
/* Fixed-size raw bytes. */
int wire_get_bytes(struct wire *w, void *out, size_t n);
/* A string: *p points into the buffer, valid until it next changes. */
int wire_get_string(struct wire *w, const uint8_t **p, size_t *n);
/* A string as a view, for parsing nested structures. */
int wire_get_string_wire(struct wire *w, struct wire *sub);
/*
 * A string copied into a fresh NUL-terminated allocation the caller frees;
 * ERR_FORMAT if it holds a NUL byte.
 */
int wire_get_cstring(struct wire *w, char **out);
/* A string that must equal s exactly (ERR_FORMAT otherwise). */
int wire_get_string_eq(struct wire *w, const char *s);
/*
 * An mpint that must be positive and minimally encoded; *p and *n give its
 * magnitude without the sign byte.  Zero is refused unless allow_zero.
 */
int
wire_get_mpint(struct wire *w, const uint8_t **p, size_t *n, int allow_zero);
/* ERR_TRAILING unless every byte has been read. */
int wire_end(const struct wire *w);

/*
 * A frame (uint32 length, then that many bytes, the first a type) at the
 * front of in: 0 with its type, a view of the rest and the frame's whole
 * size; ERR_TRUNCATED if incomplete; ERR_TOO_LONG if its length exceeds
 * max (judged before the body arrives); ERR_FORMAT for an empty frame.
 */
int wire_get_frame(const struct wire *in, size_t max, uint8_t *type,
    struct wire *body, size_t *framelen);

/*
 * Decodes standard base64 (as in .pub files) into out; returns the number
 * of bytes, or ERR_FORMAT / ERR_TOO_LONG.  Not for secrets: not constant
 * time.
 */
int wire_base64_decode(const char *in, uint8_t *out, size_t size);

/* Writers (stores only). */
int wire_put(struct wire *w, const void *p, size_t n);
int wire_put_u8(struct wire *w, uint8_t v);
int wire_put_u32(struct wire *w, uint32_t v);
int wire_put_u64(struct wire *w, uint64_t v);
int wire_put_string(struct wire *w, const void *p, size_t n);
int wire_put_cstring(struct wire *w, const char *s);
/* An unsigned big-endian magnitude, encoded as a positive mpint. */
int wire_put_mpint(struct wire *w, const uint8_t *p, size_t n);
/*
 * A length written before what it counts: wire_len_open puts a u32
 * placeholder and gives its place in *at; wire_len_close fills it with
 * the number of bytes written after it.  Frames and strings built in
 * pieces (an mpint pair inside a string) use these.
 */
int wire_len_open(struct wire *w, size_t *at);
int wire_len_close(struct wire *w, size_t at);
/*
 * A writer's place to come back to: wire_rollback drops whatever was
 * written after wire_mark (a half-written statement), never data the
 * reader has already consumed.
 */
size_t wire_mark(const struct wire *w);
/* Overwrites the u32 written at offset at (a wire_mark) with v. */
int wire_patch_u32(struct wire *w, size_t at, uint32_t v);
void wire_rollback(struct wire *w, size_t mark);

/* 1 if the n bytes at p (a decoded string, not NUL-terminated) are s. */
int wire_str_is(const uint8_t *p, size_t n, const char *s);

#endif
