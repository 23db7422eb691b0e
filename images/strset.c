/* A set of strings (open addressing, FNV-1a): the paths one layer wrote, which whiteouts and
 * opaque markers must leave alone. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static size_t find_slot(char **slots, size_t cap, const char *str)
{
	size_t i = (size_t)hash(str) & (cap - 1);

	while (slots[i] && strcmp(slots[i], str) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 64;
	char **slots = calloc(cap, sizeof(char *));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i])
			slots[find_slot(slots, cap, s->slots[i])] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

int strset_add(struct strset *s, const char *str)
{
	size_t i;

	/* At most half full, so probes stay short. */
	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -ENOMEM;
	i = find_slot(s->slots, s->cap, str);
	if (s->slots[i])
		return 0;
	s->slots[i] = strdup(str);
	if (!s->slots[i])
		return -ENOMEM;
	s->n++;
	return 1;
}

bool strset_has(const struct strset *s, const char *str)
{
	return s->cap && s->slots[find_slot(s->slots, s->cap, str)] != NULL;
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}
