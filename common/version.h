/* version.h - tocsin's version string. */
#ifndef TOCSIN_VERSION_H
#define TOCSIN_VERSION_H

#define TOCSIN_VERSION "0.1.0"

#endif
