/* SPDX-License-Identifier: MIT */
/*
 * stats.c - counter names for the dump and for lookups by name (stats.h).
 * Call chain: net/stack.c axl_stack_stats_dump / axl_stack_stat -> here.
 */
#include "net/stats.h"

#include <string.h>

static const char *const stat_names[AXL_STAT__COUNT] = {
#define AXL_STAT_NAME_(name) #name,
    AXL_STATS_LIST(AXL_STAT_NAME_)
#undef AXL_STAT_NAME_
};

const char *axl_stat_name(unsigned id)
{
    return id < AXL_STAT__COUNT ? stat_names[id] : NULL;
}

int axl_stat_id(const char *name)
{
    for (unsigned i = 0; i < AXL_STAT__COUNT; i++)
        if (strcmp(stat_names[i], name) == 0) return (int)i;
    return -1;
}
