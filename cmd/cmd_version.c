/* cmd_version.c - `tocsin version`: our version and the linked libraries'. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "../common/version.h"
#include "cmd.h"

int cmd_version(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    /* -c is accepted like every command's; version reads no config. */
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            break;
        case 'h':
            printf("usage: tocsin version [-c FILE]\nPrint tocsin's version "
                   "and the versions of the libraries it runs with.\n"
                   "\n"
                   "  -c FILE   accepted like every command's; not read\n"
                   "  --help    this text\n");
            return 0;
        default:
            return cli_getopt_error("version", opt, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("version", "unexpected argument \"%s\"",
                               argv[optind]);
    printf("tocsin %s\n", TOCSIN_VERSION);
    printf("  libcurl        %s\n",
           curl_version_info(CURLVERSION_NOW)->version);
    printf("  sqlite         %s\n", sqlite3_libversion());
    printf("  cJSON          %s\n", cJSON_Version());
    printf("  libyaml        %s\n", yaml_get_version_string());
    printf("  libmicrohttpd  %s\n", MHD_get_version());
    /* OPENSSL_VERSION_STRING is the bare "3.0.22" (OpenSSL 3), where
     * OPENSSL_VERSION repeats the name and adds the date. */
    printf("  OpenSSL        %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    return 0;
}
