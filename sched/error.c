/* error.c — the one error table: gv_strerror and gv_err_name. */
#define _GNU_SOURCE 1 /* strerrordesc_np, strerrorname_np: static strings */
#include "sched_int.h"

#include <string.h>

_Static_assert((int)GV_ETIMEDOUT == (int)UV_ETIMEDOUT,
               "libuv codes pass through");
_Static_assert((int)GV_ECANCELED == (int)UV_ECANCELED,
               "libuv codes pass through");
_Static_assert((int)GV_ENOMEM == (int)UV_ENOMEM, "libuv codes pass through");
_Static_assert((int)GV_EINVAL == (int)UV_EINVAL, "libuv codes pass through");
_Static_assert((int)GV_ENOENT == (int)UV_ENOENT, "libuv codes pass through");

const char *
gv_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define GV__ERR_TEXT(name, value, text)                                        \
    case GV_##name:                                                            \
        return text;
        GV_ERRORS(GV__ERR_TEXT)
#undef GV__ERR_TEXT
    }
    if (err < 0 && err > -4096) {
        /* libuv's codes are errno values here; glibc's table is static
         * (uv_strerror allocates for codes it has no entry for) */
        const char *t = strerrordesc_np(-err);
        if (t != NULL)
            return t;
    }
    return "unknown error";
}

const char *
gv_err_name(int err)
{
    switch (err) {
    case 0:
        return "GV_OK";
#define GV__ERR_NAME(name, value, text)                                        \
    case GV_##name:                                                            \
        return "GV_" #name;
        GV_ERRORS(GV__ERR_NAME)
#undef GV__ERR_NAME
    }
    if (err < 0 && err > -4096) {
        const char *n = strerrorname_np(-err);
        if (n != NULL)
            return n;
    }
    return "GV_UNKNOWN";
}

void
gv__assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "grove: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
