/* SPDX-License-Identifier: MIT */
/*
 * axl/mode_flags.c - the mode flags of every program (see mode_flags.h):
 * value checks by axl_mode_opt(), then the combination rules of docs/API.md
 * "Modes", as usage errors before anything is opened.
 */
#include "axl/mode_flags.h"

#include <stdio.h>

static const char *const mf_names[AXL_MF_N] = {"stack", "port", "addr", "gw", "mtu", "mac", "pcap"};

int axl_mode_flags_given(const struct axl_mode_flags *mf)
{
    for (int i = 0; mf && i < AXL_MF_N; i++)
        if (mf->v[i]) return 1;
    return 0;
}

int axl_mode_flags_config(const struct axl_mode_flags *mf, struct axl_config *cfg, char *err,
                          size_t errlen)
{
    if (err && errlen) err[0] = 0;
    if (!mf || !cfg) return -EINVAL;
    for (int i = 0; i < AXL_MF_N; i++) {
        if (!mf->v[i]) continue;
        int rc = axl_mode_opt(cfg, mf_names[i], mf->v[i], err, errlen);
        if (rc < 0) return rc;
    }
    if (mf->v[AXL_MF_STACK] && mf->v[AXL_MF_PORT]) {
        if (err && errlen)
            snprintf(err, errlen,
                     "give either --stack PATH (isolated) or --port SPEC --addr CIDR "
                     "(run-to-completion), not both");
        return -EINVAL;
    }
    if (mf->v[AXL_MF_PORT] && !mf->v[AXL_MF_ADDR]) {
        if (err && errlen) snprintf(err, errlen, "--port needs --addr CIDR");
        return -EINVAL;
    }
    if (!mf->v[AXL_MF_PORT]) {
        for (int i = AXL_MF_ADDR; i < AXL_MF_N; i++) {
            if (!mf->v[i]) continue;
            if (err && errlen)
                snprintf(err, errlen, "--%s is for run-to-completion mode: it needs --port SPEC",
                         mf_names[i]);
            return -EINVAL;
        }
    }
    return 0;
}
