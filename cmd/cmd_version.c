/* cmd_version.c - `tocsin version`: our version and the linked libraries'. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
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
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        printf("usage: tocsin version\nPrint tocsin's version and the versions "
               "of the libraries it runs with.\n");
        return 0;
    }
    printf("tocsin %s\n", TOCSIN_VERSION);
    printf("  libcurl        %s\n", curl_version_info(CURLVERSION_NOW)->version);
    printf("  sqlite         %s\n", sqlite3_libversion());
    printf("  cJSON          %s\n", cJSON_Version());
    printf("  libyaml        %s\n", yaml_get_version_string());
    printf("  libmicrohttpd  %s\n", MHD_get_version());
    printf("  OpenSSL        %s\n", OpenSSL_version(OPENSSL_VERSION));
    return 0;
}
