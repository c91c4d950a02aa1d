/* Placeholder until the command lands; replaced by its issue's work. */
#include "provision/cli.h"

int cmd_flash(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)argc;
    (void)ctx;
    return cli_fail(NULL, "'%s' is not implemented yet", argv[0]);
}
