/* alloc.c — every heap allocation grove makes goes through here, so a test
 * can swap in an allocator that fails the Nth call. Stacks are mapped, not
 * allocated (stack.c). */
#include "sched_int.h"

#include <string.h>

static gv_allocator gv__alloc = {malloc, realloc, free};

int
gv_set_allocator(const gv_allocator *a)
{
    if (gv__S.inited)
        return GV_EBUSY;
    if (a == NULL) {
        gv__alloc = (gv_allocator){malloc, realloc, free};
        return 0;
    }
    if (a->malloc_fn == NULL || a->realloc_fn == NULL || a->free_fn == NULL)
        return GV_EINVAL;
    gv__alloc = *a;
    return 0;
}

int
gv__alloc_is_default(void)
{
    return gv__alloc.malloc_fn == malloc;
}

void *
gv__malloc(size_t size)
{
    return gv__alloc.malloc_fn(size ? size : 1);
}

void *
gv__calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = gv__malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *
gv__realloc(void *ptr, size_t size)
{
    return gv__alloc.realloc_fn(ptr, size ? size : 1);
}

void
gv__free(void *ptr)
{
    if (ptr != NULL)
        gv__alloc.free_fn(ptr);
}

char *
gv__strndup(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = gv__malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
