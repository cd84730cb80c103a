/*
 * uvsig: the signals a daemon of ours handles, watched in its loop and
 * closed together (the agent and the supervisor each watch a few).
 */
#ifndef SSHENV_UVSIG_H
#define SSHENV_UVSIG_H

#include <uv.h>

#define UVSIG_MAX 4

struct uvsig {
	uv_signal_t h[UVSIG_MAX];
	int n;
};

/*
 * Watches each of the n (at most UVSIG_MAX) signals in signos, calling
 * cb with each handle's data set to data.  0, or a libuv error (the
 * handles started so far stay, for uvsig_close).
 */
int uvsig_start(uv_loop_t *loop, struct uvsig *s, const int *signos, int n,
    uv_signal_cb cb, void *data);

/* Closes every handle uvsig_start opened; the loop then finishes them. */
void uvsig_close(struct uvsig *s);

#endif
