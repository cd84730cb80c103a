/*
 * cryptorate: the raw libcrypto signing rate, the ceiling no agent can beat
 * on this machine.  For each algorithm it generates a key in-process, then
 * signs 200 bytes in a loop for a fixed time, first on one thread and then
 * on several, all sharing the one key as an agent's signing pool would.
 * Each signature is a fresh EVP_DigestSignInit + EVP_DigestSign, which is
 * the work an agent does per request; the digest is fetched once.
 *
 * Output: one line of key=value pairs per algorithm and thread count.
 * Exit codes: 0 ok, 3 libcrypto failed, 64 bad command line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

enum { EXIT_OK = 0, EXIT_ERROR = 3, EXIT_USAGE = 64 };

#define DATA_LEN 200
#define SIG_MAX 1024 /* rsa-4096 needs 512 */
#define MAX_THREADS 64
#define START_DELAY_NS 20000000u /* lets every thread reach the gate */

enum kind { K_ED25519, K_ECDSA_P256, K_RSA };

struct alg {
	const char *name;
	enum kind kind;
	size_t bits;
};

static const struct alg algs[] = {
	{ "ed25519", K_ED25519, 0 },
	{ "ecdsa-p256", K_ECDSA_P256, 0 },
	{ "rsa-3072", K_RSA, 3072 },
	{ "rsa-4096", K_RSA, 4096 },
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

struct worker {
	pthread_t thread;
	EVP_PKEY *pkey;
	EVP_MD *md; /* NULL for ed25519 */
	const uint8_t *data;
	struct timespec go;
	uint64_t deadline_ns;
	uint64_t ops;
	int failed;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static EVP_PKEY *
keygen(const struct alg *a)
{
	switch (a->kind) {
	case K_ED25519: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case K_ECDSA_P256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case K_RSA: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", a->bits);
	}
	return NULL;
}

/* One signature with a fresh init; returns its length or 0 on failure. */
static size_t
sign_once(EVP_MD_CTX *ctx, EVP_PKEY *pkey, const EVP_MD *md,
    const uint8_t *data, uint8_t *sig)
{
	size_t siglen = SIG_MAX;

	EVP_MD_CTX_reset(ctx);
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, data, DATA_LEN) != 1)
		return 0;
	return siglen;
}

/* Signs once and checks the result, so the loop measures real work. */
static int
self_check(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *data)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t sig[SIG_MAX];
	size_t siglen;
	int ret = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if ((siglen = sign_once(ctx, pkey, md, data, sig)) == 0)
		goto out;
	EVP_MD_CTX_reset(ctx);
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1 ||
	    EVP_DigestVerify(ctx, sig, siglen, data, DATA_LEN) != 1)
		goto out;
	ret = 0;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	EVP_MD_CTX *ctx;
	uint8_t sig[SIG_MAX];

	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		w->failed = 1;
		return NULL;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &w->go, NULL) ==
	    EINTR)
		;
	while (now_ns() < w->deadline_ns) {
		if (sign_once(ctx, w->pkey, w->md, w->data, sig) == 0) {
			w->failed = 1;
			break;
		}
		w->ops++;
	}
	EVP_MD_CTX_free(ctx);
	return NULL;
}

/* Runs nthreads signers for secs; returns total ops/s or -1. */
static double
measure(EVP_PKEY *pkey, EVP_MD *md, const uint8_t *data, int nthreads,
    double secs, uint64_t *ops)
{
	struct worker w[MAX_THREADS];
	uint64_t go = now_ns() + START_DELAY_NS;
	int i, started = 0, failed = 0;

	*ops = 0;
	memset(w, 0, sizeof(w));
	for (i = 0; i < nthreads; i++) {
		w[i].pkey = pkey;
		w[i].md = md;
		w[i].data = data;
		w[i].go.tv_sec = (time_t)(go / 1000000000u);
		w[i].go.tv_nsec = (long)(go % 1000000000u);
		w[i].deadline_ns = go + (uint64_t)(secs * 1e9);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		failed |= w[i].failed;
		*ops += w[i].ops;
	}
	if (started < nthreads || failed)
		return -1;
	return (double)*ops / secs;
}

static void
usage(void)
{
	size_t i;

	fprintf(stderr,
	    "usage: cryptorate [-d seconds] [-t threads] "
	    "[alg ...]\n  algs:");
	for (i = 0; i < NALGS; i++)
		fprintf(stderr, " %s", algs[i].name);
	fprintf(stderr, "\n");
}

int
main(int argc, char **argv)
{
	uint8_t data[DATA_LEN];
	EVP_PKEY *pkey = NULL;
	EVP_MD *md = NULL;
	const struct alg *a;
	double secs = 2.0, rate;
	uint64_t ops;
	char *end;
	long v;
	int ch, nthreads = 2, t, ret = EXIT_ERROR;
	size_t i, j;
	int want[NALGS], any = 0;

	while ((ch = getopt(argc, argv, "d:t:")) != -1) {
		switch (ch) {
		case 'd':
			secs = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(secs > 0) ||
			    secs > 3600)
				goto usage;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < 1 ||
			    v > MAX_THREADS)
				goto usage;
			nthreads = (int)v;
			break;
		default: goto usage;
		}
	}
	for (i = 0; i < NALGS; i++)
		want[i] = optind == argc;
	for (; optind < argc; optind++) {
		for (i = 0; i < NALGS; i++) {
			if (strcmp(argv[optind], algs[i].name) == 0)
				break;
		}
		if (i == NALGS)
			goto usage;
		want[i] = 1;
	}

	if (RAND_bytes(data, sizeof(data)) != 1 ||
	    (md = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		goto out;
	for (i = 0; i < NALGS; i++) {
		if (!want[i])
			continue;
		a = &algs[i];
		if ((pkey = keygen(a)) == NULL) {
			fprintf(stderr, "cryptorate: %s: keygen failed\n",
			    a->name);
			goto out;
		}
		/* Ed25519 hashes internally and takes no digest. */
		if (self_check(pkey, a->kind == K_ED25519 ? NULL : md, data) !=
		    0) {
			fprintf(stderr, "cryptorate: %s: sign/verify failed\n",
			    a->name);
			goto out;
		}
		/* 1 thread, then nthreads (once if that is 1 too). */
		for (j = 0; j < 2; j++) {
			t = j == 0 ? 1 : nthreads;
			if (j == 1 && t == 1)
				break;
			rate = measure(pkey, a->kind == K_ED25519 ? NULL : md,
			    data, t, secs, &ops);
			if (rate < 0) {
				fprintf(stderr,
				    "cryptorate: %s: signing "
				    "failed\n",
				    a->name);
				goto out;
			}
			printf("alg=%s threads=%d ops=%llu secs=%.2f "
			       "ops_per_s=%.1f\n",
			    a->name, t, (unsigned long long)ops, secs, rate);
			fflush(stdout);
		}
		EVP_PKEY_free(pkey);
		pkey = NULL;
		any = 1;
	}
	ret = any ? EXIT_OK : EXIT_ERROR;
	goto out;
usage:
	usage();
	ret = EXIT_USAGE;
out:
	if (ret == EXIT_ERROR)
		ERR_print_errors_fp(stderr);
	EVP_PKEY_free(pkey);
	EVP_MD_free(md);
	return ret;
}
