/*
 * elfsym: whether a shared object exports functions, read from its file.
 * The object is the libcrypto this test is linked with (found by
 * dladdr); the malformed ones are copies of it cut short or with a
 * header field pointing out of the file, for which the answer is "not a
 * provider", never a crash (the SAN build runs this too).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "elfsym.h"
#include "keyfile.h"
#include "runproc.h"
#include "sserr.h"
#include "unit.h"

#if defined(__ELF__) && defined(__linux__)
#include <elf.h>
#include <link.h>

/* This machine's kinds, named so that clang-format reads them as types. */
typedef ElfW(Ehdr) elf_ehdr;
typedef ElfW(Shdr) elf_shdr;
typedef ElfW(Sym) elf_sym;
typedef ElfW(Off) elf_off;
typedef ElfW(Half) elf_half;
typedef ElfW(Xword) elf_xword;

static const char *const one[] = { "EVP_sha256", NULL };

static struct rp_tmp tmp;
static char libpath[PATH_MAX];
static char *lib; /* its bytes */
static size_t liblen;
static char copypath[RP_PATHLEN];
static int copyfd = -1;

/* The libcrypto we are linked with, read whole. */
static int
load_lib(void)
{
	Dl_info info;

	if (dladdr((void *)EVP_sha256, &info) == 0 || info.dli_fname == NULL ||
	    info.dli_fname[0] != '/') {
		fprintf(stderr, "  dladdr found no libcrypto\n");
		return -1;
	}
	snprintf(libpath, sizeof(libpath), "%s", info.dli_fname);
	if (kf_slurp(libpath, &lib, &liblen) != 0)
		return -1;
	snprintf(copypath, sizeof(copypath), "%s",
	    rp_tmp_path(&tmp, "copy.so"));
	if (kf_write(copypath, lib, liblen, 0600) != 0 ||
	    (copyfd = open(copypath, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	return 0;
}

/* elfsym_exports on a copy of the first n bytes of lib. */
static int
exports_cut(size_t n, const char *const *names)
{
	const char *path = rp_tmp_path(&tmp, "cut.so");

	if (kf_write(path, lib, n, 0600) != 0) {
		fprintf(stderr, "  cannot write %s\n", path);
		return ERR_INTERNAL;
	}
	return elfsym_exports(path, names);
}

/*
 * elfsym_exports on the whole copy of lib (written once, open as copyfd)
 * with plen bytes at off changed to patch, then put back.
 */
static int
exports_patched(size_t off, const void *patch, size_t plen,
    const char *const *names)
{
	int r;

	if (off + plen > liblen ||
	    pwrite(copyfd, patch, plen, (off_t)off) != (ssize_t)plen)
		return ERR_INTERNAL;
	r = elfsym_exports(copypath, names);
	if (pwrite(copyfd, lib + off, plen, (off_t)off) != (ssize_t)plen)
		return ERR_INTERNAL;
	return r;
}

static const elf_ehdr *
ehdr(void)
{
	return (const elf_ehdr *)(const void *)lib;
}

/* The section header of the first section of type, or NULL. */
static const elf_shdr *
section(uint32_t type, size_t *off)
{
	const elf_ehdr *eh = ehdr();
	const elf_shdr *sh;
	size_t i;

	for (i = 0; i < eh->e_shnum; i++) {
		*off = eh->e_shoff + i * sizeof(*sh);
		sh = (const void *)(lib + *off);
		if (sh->sh_type == type)
			return sh;
	}
	return NULL;
}

static void
test_real_object(void)
{
	static const char *const many[] = { "EVP_sha256", "EVP_sha512",
		"EVP_DigestSign", "OPENSSL_cleanse", NULL };
	static const char *const p11[] = { "C_GetFunctionList", NULL };
	static const char *const mixed[] = { "EVP_sha256", "C_GetFunctionList",
		NULL };
	static const char *const imported[] = { "malloc", NULL };
	static const char *const prefix[] = { "EVP_sha", NULL };

	CHECK_EQ(elfsym_exports(libpath, one), 0);
	CHECK_EQ(elfsym_exports(libpath, many), 0);
	CHECK_EQ(elfsym_exports(libpath, p11), ERR_NOT_PROVIDER);
	CHECK_EQ(elfsym_exports(libpath, mixed), ERR_NOT_PROVIDER);
	/* What it calls from libc is not something it defines. */
	CHECK_EQ(elfsym_exports(libpath, imported), ERR_NOT_PROVIDER);
	CHECK_EQ(elfsym_exports(libpath, prefix), ERR_NOT_PROVIDER);
	/* An unchanged copy is the same. */
	CHECK_EQ(exports_patched(0, "", 0, one), 0);
}

static void
test_not_objects(void)
{
	const char *path;

	CHECK_EQ(elfsym_exports(kf_path("id_ed25519.pub"), one),
	    ERR_NOT_PROVIDER);
	CHECK_EQ(elfsym_exports(rp_tmp_path(&tmp, "missing.so"), one),
	    ERR_SYSTEM);
	CHECK_EQ(elfsym_exports(tmp.dir, one), ERR_NOT_PROVIDER);
	path = rp_tmp_path(&tmp, "empty.so");
	CHECK_EQ(kf_write(path, "", 0, 0600), 0);
	CHECK_EQ(elfsym_exports(path, one), ERR_NOT_PROVIDER);
	/* Just the magic. */
	path = rp_tmp_path(&tmp, "magic.so");
	CHECK_EQ(kf_write(path, ELFMAG, SELFMAG, 0600), 0);
	CHECK_EQ(elfsym_exports(path, one), ERR_NOT_PROVIDER);
}

static void
test_truncated(void)
{
	const size_t cut[] = { 1, 16, sizeof(elf_ehdr) - 1, sizeof(elf_ehdr),
		4096, liblen / 2, liblen - 1 };
	size_t i;
	int r;

	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		r = exports_cut(cut[i], one);
		if (r != ERR_NOT_PROVIDER && r != 0)
			fprintf(stderr, "  cut to %zu: %d\n", cut[i], r);
		CHECK(r == ERR_NOT_PROVIDER || r == 0);
	}
	/* The section headers are at the end: without them, nothing. */
	CHECK_EQ(exports_cut(liblen - 1, one), ERR_NOT_PROVIDER);
	CHECK_EQ(exports_cut(liblen / 2, one), ERR_NOT_PROVIDER);
}

/* The ELF header's fields, each made wrong. */
static void
test_bad_header(void)
{
	const elf_ehdr *eh = ehdr();
	elf_off shoff;
	elf_half half;
	uint8_t b;

	shoff = (elf_off)liblen;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shoff), &shoff,
		     sizeof(shoff), one),
	    ERR_NOT_PROVIDER);
	shoff = (elf_off)-64;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shoff), &shoff,
		     sizeof(shoff), one),
	    ERR_NOT_PROVIDER);
	shoff = (elf_off)liblen - sizeof(elf_shdr);
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shoff), &shoff,
		     sizeof(shoff), one),
	    ERR_NOT_PROVIDER);
	shoff = eh->e_shoff + 1; /* misaligned */
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shoff), &shoff,
		     sizeof(shoff), one),
	    ERR_NOT_PROVIDER);
	half = 0xffff;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shnum), &half,
		     sizeof(half), one),
	    ERR_NOT_PROVIDER);
	half = 0;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shnum), &half,
		     sizeof(half), one),
	    ERR_NOT_PROVIDER);
	half = sizeof(elf_shdr) + 8;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_shentsize), &half,
		     sizeof(half), one),
	    ERR_NOT_PROVIDER);
	half = ET_EXEC;
	CHECK_EQ(exports_patched(offsetof(elf_ehdr, e_type), &half,
		     sizeof(half), one),
	    ERR_NOT_PROVIDER);
	b = sizeof(void *) == 8 ? ELFCLASS32 : ELFCLASS64;
	CHECK_EQ(exports_patched(EI_CLASS, &b, 1, one), ERR_NOT_PROVIDER);
	/* The other byte order: its fields would be read wrong. */
	b = ehdr()->e_ident[EI_DATA] == ELFDATA2LSB ? ELFDATA2MSB : ELFDATA2LSB;
	CHECK_EQ(exports_patched(EI_DATA, &b, 1, one), ERR_NOT_PROVIDER);
	b = 'F';
	CHECK_EQ(exports_patched(1, &b, 1, one), ERR_NOT_PROVIDER);
}

/* Where name starts in the string table, or 0. */
static size_t
strtab_find(const elf_shdr *strtab, const char *name)
{
	const char *s = lib + strtab->sh_offset;
	size_t i, n = strlen(name) + 1;

	for (i = 1; i + n <= strtab->sh_size; i++)
		if (s[i - 1] == '\0' && memcmp(s + i, name, n) == 0)
			return strtab->sh_offset + i;
	return 0;
}

/* The symbol table's and its strings' section headers, made wrong. */
static void
test_bad_sections(void)
{
	const elf_ehdr *eh = ehdr();
	const elf_shdr *dynsym, *strtab;
	size_t off, stroff;
	elf_off o;
	uint64_t v;
	uint32_t w;

	if ((dynsym = section(SHT_DYNSYM, &off)) == NULL) {
		CHECK(0);
		return;
	}
	o = (elf_off)liblen;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_offset), &o,
		     sizeof(o), one),
	    ERR_NOT_PROVIDER);
	o = (elf_off)-8;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_offset), &o,
		     sizeof(o), one),
	    ERR_NOT_PROVIDER);
	o = dynsym->sh_offset + 1;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_offset), &o,
		     sizeof(o), one),
	    ERR_NOT_PROVIDER);
	v = (uint64_t)liblen;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_size), &v,
		     sizeof(elf_xword), one),
	    ERR_NOT_PROVIDER);
	v = sizeof(elf_sym) + 1;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_entsize), &v,
		     sizeof(elf_xword), one),
	    ERR_NOT_PROVIDER);
	w = eh->e_shnum;
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_link), &w,
		     sizeof(w), one),
	    ERR_NOT_PROVIDER);
	/* Linked to a section that is not a string table (itself). */
	w = (uint32_t)((off - eh->e_shoff) / sizeof(elf_shdr));
	CHECK_EQ(exports_patched(off + offsetof(elf_shdr, sh_link), &w,
		     sizeof(w), one),
	    ERR_NOT_PROVIDER);

	stroff = eh->e_shoff + dynsym->sh_link * sizeof(elf_shdr);
	strtab = (const void *)(lib + stroff);
	o = (elf_off)liblen;
	CHECK_EQ(exports_patched(stroff + offsetof(elf_shdr, sh_offset), &o,
		     sizeof(o), one),
	    ERR_NOT_PROVIDER);
	v = (uint64_t)liblen;
	CHECK_EQ(exports_patched(stroff + offsetof(elf_shdr, sh_size), &v,
		     sizeof(elf_xword), one),
	    ERR_NOT_PROVIDER);
	v = 0;
	CHECK_EQ(exports_patched(stroff + offsetof(elf_shdr, sh_size), &v,
		     sizeof(elf_xword), one),
	    ERR_NOT_PROVIDER);
	/* Strings that do not end in a NUL: a strcmp could run off. */
	CHECK_EQ(exports_patched(strtab->sh_offset + strtab->sh_size - 1, "x",
		     1, one),
	    ERR_NOT_PROVIDER);
	/* A NUL in the symbol's name: "EVP_sha256" is no longer there. */
	off = strtab_find(strtab, "EVP_sha256");
	CHECK(off != 0);
	if (off != 0)
		CHECK_EQ(exports_patched(off + 4, "", 1, one),
		    ERR_NOT_PROVIDER);
}

/*
 * Every byte of the ELF header and of the two sections' headers set to
 * 0xff and to 0x00 in turn: whatever the answer, no crash, no read out of
 * bounds (the SAN build), and never ERR_SYSTEM.
 */
static void
test_every_header_byte(void)
{
	const elf_ehdr *eh = ehdr();
	const elf_shdr *dynsym;
	size_t off, region[3][2], i, j;
	int k, r, bad = 0;
	uint8_t b;

	if ((dynsym = section(SHT_DYNSYM, &off)) == NULL) {
		CHECK(0);
		return;
	}
	region[0][0] = 0;
	region[0][1] = sizeof(elf_ehdr);
	region[1][0] = off;
	region[1][1] = sizeof(elf_shdr);
	region[2][0] = eh->e_shoff + dynsym->sh_link * sizeof(elf_shdr);
	region[2][1] = sizeof(elf_shdr);
	for (i = 0; i < 3; i++)
		for (j = 0; j < region[i][1]; j++)
			for (k = 0; k < 2; k++) {
				b = k ? 0xff : 0x00;
				r = exports_patched(region[i][0] + j, &b, 1,
				    one);
				if (r != 0 && r != ERR_NOT_PROVIDER) {
					if (bad++ < 5)
						fprintf(stderr,
						    "  byte %zu = %#x: %d\n",
						    region[i][0] + j, b, r);
				}
			}
	CHECK_EQ(bad, 0);
}

int
main(void)
{
	if (rp_tmp_make(&tmp) != 0 || load_lib() != 0) {
		printf("FAIL setup\n");
		rp_tmp_remove(&tmp);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	RUN(test_real_object);
	RUN(test_not_objects);
	RUN(test_truncated);
	RUN(test_bad_header);
	RUN(test_bad_sections);
	RUN(test_every_header_byte);
	close(copyfd);
	free(lib);
	rp_tmp_remove(&tmp);
	UNIT_DONE();
}

#else

/* Where objects are not ELF the check is left to dlsym: all pass. */
static void
test_not_elf(void)
{
	static const char *const names[] = { "C_GetFunctionList", NULL };

	CHECK_EQ(elfsym_exports("/nonexistent", names), 0);
}

int
main(void)
{
	RUN(test_not_elf);
	UNIT_DONE();
}

#endif
