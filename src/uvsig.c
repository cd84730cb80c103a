#include "uvsig.h"

int
uvsig_start(uv_loop_t *loop, struct uvsig *s, const int *signos, int n,
    uv_signal_cb cb, void *data)
{
	int r;

	s->n = 0;
	if (n > UVSIG_MAX)
		return UV_EINVAL;
	for (; s->n < n; s->n++) {
		if ((r = uv_signal_init(loop, &s->h[s->n])) != 0)
			return r;
		s->h[s->n].data = data;
		if ((r = uv_signal_start(&s->h[s->n], cb, signos[s->n])) != 0) {
			s->n++; /* initialised: ours to close */
			return r;
		}
	}
	return 0;
}

void
uvsig_close(struct uvsig *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!uv_is_closing((uv_handle_t *)&s->h[i]))
			uv_close((uv_handle_t *)&s->h[i], NULL);
	s->n = 0;
}
