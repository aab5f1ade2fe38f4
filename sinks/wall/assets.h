/*
 * assets.h - the wall's page (sinks/wall/web/), compiled into the binary
 * at build time by embed.cmake: the server never reads a file, and the
 * page works offline (no CDN, no external fetch).
 */
#ifndef CHISO_WALL_ASSETS_H
#define CHISO_WALL_ASSETS_H

#include <stddef.h>

typedef struct wall_asset {
    const char *name; /* file name under web/, e.g. "wall.js" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} wall_asset;

/* The embedded file named `name`, or NULL. */
const wall_asset *wall_asset_find(const char *name);

#endif
