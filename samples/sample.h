/*
 * sample.h — the few helpers every grove sample shares.
 *
 * The samples are the gevent tutorial's examples in C. The tutorial's timed
 * examples sleep for seconds; so that the smoke tests stay fast, every sample
 * multiplies its sleeps and timeouts by the environment variable
 * GROVE_TIME_SCALE (a float, default 1.0) and divides the times it prints by
 * it, so its output reads the same at any scale:
 *
 *     GROVE_TIME_SCALE=0.05 ./select_polling   # 20x faster, same text
 *
 * Copy this header along with a sample, or replace sample_ms(s) by s * 1000.
 */
#ifndef GROVE_SAMPLE_H
#define GROVE_SAMPLE_H

#include <grove.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* sample_scale returns GROVE_TIME_SCALE, or 1.0 if it is unset or not a
 * positive number. */
static inline double
sample_scale(void)
{
    static double scale = 0.0;
    if (scale == 0.0) {
        const char *s = getenv("GROVE_TIME_SCALE");
        char *end = NULL;
        double v = s != NULL ? strtod(s, &end) : 0.0;
        scale = (s != NULL && end != s && v > 0.0 && isfinite(v)) ? v : 1.0;
    }
    return scale;
}

/* sample_ms turns the tutorial's seconds into scaled milliseconds, the unit
 * of gv_sleep, gv_deadline and timeout scopes. */
static inline int64_t
sample_ms(double seconds)
{
    return (int64_t)llround(seconds * 1000.0 * sample_scale());
}

/* sample_seconds turns a span of the loop clock (gv_now, ms) back into the
 * tutorial's unscaled seconds, for printing. */
static inline double
sample_seconds(int64_t ms)
{
    return (double)ms / 1000.0 / sample_scale();
}

/* sample_check ends the program with a message if a grove call failed: a
 * sample should never fail silently (its smoke test relies on that). */
static inline int64_t
sample_check(int64_t rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s (%s)\n", what, gv_strerror((int)rc),
                gv_err_name((int)rc));
        exit(1);
    }
    return rc;
}

/* sample_bool prints a C bool the way Python prints one. */
static inline const char *
sample_bool(bool b)
{
    return b ? "True" : "False";
}

#endif /* GROVE_SAMPLE_H */
