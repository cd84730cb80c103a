/*
 * A minimal unit-test harness: each test is a function; CHECK records a
 * failure with file and line and goes on; the binary prints one line per
 * test and a closing "N passed, M failed", and exits 1 on any failure.
 */
#ifndef SSHENV_UNIT_H
#define SSHENV_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_pass, unit_fail;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", \
			    __FILE__, __LINE__, #cond); \
			unit_failed_checks++; \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		long long unit_a = (long long)(a), unit_b = (long long)(b); \
		if (unit_a != unit_b) { \
			fprintf(stderr, \
			    "  %s:%d: %s == %lld, expected %s == %lld\n", \
			    __FILE__, __LINE__, #a, unit_a, #b, unit_b); \
			unit_failed_checks++; \
		} \
	} while (0)

#define RUN(fn) \
	do { \
		int unit_before = unit_failed_checks; \
		fn(); \
		if (unit_failed_checks == unit_before) { \
			unit_pass++; \
			printf("ok   %s\n", #fn); \
		} else { \
			unit_fail++; \
			printf("FAIL %s\n", #fn); \
		} \
	} while (0)

#define UNIT_DONE() \
	do { \
		printf("%d passed, %d failed\n", unit_pass, unit_fail); \
		return unit_fail ? 1 : 0; \
	} while (0)

#endif
