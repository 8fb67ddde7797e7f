/*
 * timeout_scope — gevent tutorial, "Timeouts", the with-statement example.
 *
 *     with Timeout(time_to_wait, TooLong):
 *         gevent.sleep(10)
 *
 * C has neither with nor exceptions: the block sits between
 * gv_timeout_start and gv_timeout_cancel, and a blocking call in it returns
 * GV_ETIMEDOUT. Scopes nest, so gv_timeout_expired tells whether it was this
 * scope that ran out (gevent raises this scope's own TooLong) rather than an
 * enclosing one. As in Python, where TooLong is not caught, the program ends
 * with an error: "TooLong" on stderr, nothing on stdout, exit status 1.
 */
#include <grove.h>

#include <stdio.h>

#include "sample.h"

int
main(void)
{
    double time_to_wait = 5; /* seconds */

    gv_timeout too_long; /* with Timeout(time_to_wait, TooLong): */
    sample_check(gv_timeout_start(&too_long, sample_ms(time_to_wait)),
                 "timeout");
    int rc = gv_sleep(sample_ms(10)); /* gevent.sleep(10) */
    bool expired = gv_timeout_expired(&too_long);
    gv_timeout_cancel(&too_long); /* end of the with block */

    if (rc == GV_ETIMEDOUT && expired) {
        /* raise TooLong, uncaught: gv_exit from main shuts grove down and
         * exits with status 1. */
        fprintf(stderr, "TooLong: the block ran past %g seconds\n",
                time_to_wait);
        gv_exit(GV_ETIMEDOUT, "TooLong");
    }
    gv_shutdown();
    return 0;
}
