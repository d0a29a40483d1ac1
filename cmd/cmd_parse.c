/* cmd_parse.c - placeholder until implemented. */
#include <stdio.h>

#include "cmd.h"

int cmd_parse(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tocsin: not implemented yet\n");
    return EXIT_WORK;
}
