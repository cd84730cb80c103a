#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsym.h"
#include "sserr.h"

#if defined(__ELF__) && defined(__linux__)
#include <elf.h>
#include <link.h> /* ElfW */

/* A shared object bigger than this is not a provider we load. */
#define ELF_MAX (256 * 1024 * 1024)

/* Whether [off, off + len) lies within size, without overflow. */
static int
within(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static int
check(const uint8_t *img, size_t size, const char *const *names)
{
	const ElfW(Ehdr) *eh = (const void *)img;
	const ElfW(Shdr) * sh, *dynsym = NULL, *strtab;
	const ElfW(Sym) * sym;
	uint64_t nsym, i;
	size_t want, found = 0, j, k;
	uint8_t *seen;
	const char *name;
	int r = ERR_NOT_PROVIDER;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh->e_ident[EI_CLASS] !=
		(sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
	    eh->e_ident[EI_DATA] !=
		(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB :
							     ELFDATA2MSB) ||
	    eh->e_type != ET_DYN || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
	    !within(size, eh->e_shoff,
		(uint64_t)eh->e_shnum * sizeof(ElfW(Shdr))) ||
	    eh->e_shoff % _Alignof(ElfW(Shdr)) != 0)
		return ERR_NOT_PROVIDER;
	sh = (const void *)(img + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_DYNSYM) {
			dynsym = &sh[i];
			break;
		}
	if (dynsym == NULL || dynsym->sh_link >= eh->e_shnum ||
	    dynsym->sh_entsize != sizeof(ElfW(Sym)) ||
	    !within(size, dynsym->sh_offset, dynsym->sh_size) ||
	    dynsym->sh_offset % _Alignof(ElfW(Sym)) != 0)
		return ERR_NOT_PROVIDER;
	strtab = &sh[dynsym->sh_link];
	if (strtab->sh_type != SHT_STRTAB ||
	    !within(size, strtab->sh_offset, strtab->sh_size) ||
	    strtab->sh_size == 0 ||
	    img[strtab->sh_offset + strtab->sh_size - 1] != '\0')
		return ERR_NOT_PROVIDER;
	for (want = 0; names[want] != NULL; want++)
		;
	if ((seen = calloc(want + 1, 1)) == NULL)
		return ERR_ALLOC;
	sym = (const void *)(img + dynsym->sh_offset);
	nsym = dynsym->sh_size / sizeof(ElfW(Sym));
	for (i = 0; i < nsym && found < want; i++) {
		if (sym[i].st_name >= strtab->sh_size ||
		    sym[i].st_shndx == SHN_UNDEF ||
		    ELF64_ST_TYPE(sym[i].st_info) != STT_FUNC ||
		    (ELF64_ST_BIND(sym[i].st_info) != STB_GLOBAL &&
			ELF64_ST_BIND(sym[i].st_info) != STB_WEAK))
			continue;
		name = (const char *)img + strtab->sh_offset + sym[i].st_name;
		for (j = 0; j < want; j++)
			if (!seen[j] && strcmp(name, names[j]) == 0) {
				seen[j] = 1;
				found++;
			}
	}
	for (k = 0; k < want; k++)
		if (!seen[k])
			break;
	if (k == want)
		r = 0;
	free(seen);
	return r;
}

int
elfsym_exports(const char *path, const char *const *names)
{
	struct stat st;
	uint8_t *img = NULL;
	size_t size, got = 0;
	ssize_t n;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ERR_SYSTEM;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return ERR_SYSTEM;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > ELF_MAX) {
		close(fd);
		return ERR_NOT_PROVIDER;
	}
	size = (size_t)st.st_size;
	/* Read, not mapped: a file that shrinks under us cannot fault. */
	if ((img = malloc(size)) == NULL) {
		close(fd);
		return ERR_ALLOC;
	}
	while (got < size) {
		n = read(fd, img + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = got == size ? check(img, size, names) : ERR_SYSTEM;
	free(img);
	return r;
}

#else

int
elfsym_exports(const char *path, const char *const *names)
{
	(void)path;
	(void)names;
	return 0;
}

#endif
