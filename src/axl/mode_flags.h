/* SPDX-License-Identifier: MIT */
/*
 * axl/mode_flags.h - the mode flags every Axolotl program takes (docs/API.md
 * "Modes") as entries of its own core/opts.h option table, and the checks
 * that turn them into a struct axl_config (one place for the help text and
 * the rules, instead of a copy in every tool):
 *
 *   struct axl_mode_flags mf = {0};
 *   const struct axl_opt opts[] = { ..., AXL_MODE_OPTS(&mf), {0} };
 *   int first = axl_opts_parse(argc, argv, ...);
 *   struct axl_config cfg = {0};
 *   if (axl_mode_flags_config(&mf, &cfg, err, sizeof(err)) < 0) -> usage error (exit 2)
 *   axl_open(&ctx, &cfg, ...)
 *
 * Rules (the same axl_open applies, checked here so that they are usage
 * errors): every value is checked by axl_mode_opt(); --port needs --addr;
 * --stack and --port exclude each other; --addr/--gw/--mtu/--mac/--pcap need
 * --port. No flag at all leaves cfg for isolated mode at $AXL_STACK (else
 * AXL_STACK_DEFAULT); a program with another default (axl-load: kernel
 * sockets) asks axl_mode_flags_given() first.
 *
 * Call chain: program's option table -> axl_opts_parse (core/opts.c) ->
 * axl_mode_flags_config -> axl_mode_opt (ctx.c) -> axl_open.
 */
#ifndef AXL_MODE_FLAGS_H
#define AXL_MODE_FLAGS_H

#include <stddef.h>

#include "axl/axl.h"
#include "core/opts.h"

enum {
    AXL_MF_STACK,
    AXL_MF_PORT,
    AXL_MF_ADDR,
    AXL_MF_GW,
    AXL_MF_MTU,
    AXL_MF_MAC,
    AXL_MF_PCAP,
    AXL_MF_N,
};

/* The flags' values as given (pointers into argv), NULL when absent. */
struct axl_mode_flags {
    const char *v[AXL_MF_N];
};

/* The seven option table entries; SS, PS, AS and GS are the short names of
 * --stack, --port, --addr and --gw (0 for none). */
/* clang-format off */
#define AXL_MODE_OPTS_SHORT(mf, ss, ps, as, gs)                                                    \
    {"stack", (ss), AXL_OPT_STR, "PATH", "isolated mode: attach to axl-stackd's control socket "    \
     "PATH (without --port; default $AXL_STACK, else /run/axl/stack.sock)",                         \
     &(mf)->v[AXL_MF_STACK], 0, 0, NULL},                                                           \
    {"port", (ps), AXL_OPT_STR, "SPEC", "run-to-completion mode: the stack in this process on "     \
     "packet port SPEC, one queue (afxdp:IF, afpacket:IF, tap:NAME, shm:PATH)",                     \
     &(mf)->v[AXL_MF_PORT], 0, 0, NULL},                                                            \
    {"addr", (as), AXL_OPT_STR, "CIDR", "run-to-completion: our address, a.b.c.d/len",              \
     &(mf)->v[AXL_MF_ADDR], 0, 0, NULL},                                                            \
    {"gw", (gs), AXL_OPT_STR, "IP", "run-to-completion: default gateway",                           \
     &(mf)->v[AXL_MF_GW], 0, 0, NULL},                                                              \
    {"mtu", 0, AXL_OPT_STR, "N", "run-to-completion: IP MTU (576..9000, default: the port's)",      \
     &(mf)->v[AXL_MF_MTU], 0, 0, NULL},                                                             \
    {"mac", 0, AXL_OPT_STR, "MAC", "run-to-completion: MAC address override",                       \
     &(mf)->v[AXL_MF_MAC], 0, 0, NULL},                                                             \
    {"pcap", 0, AXL_OPT_STR, "FILE", "run-to-completion: mirror every frame to FILE (pcap)",        \
     &(mf)->v[AXL_MF_PCAP], 0, 0, NULL}
/* clang-format on */
#define AXL_MODE_OPTS(mf) AXL_MODE_OPTS_SHORT(mf, 0, 0, 0, 0)

/* 1 if any mode flag was given, else 0. */
int axl_mode_flags_given(const struct axl_mode_flags *mf);
/* Store the given flags into cfg (which the caller zeroed; other fields are
 * left alone) and check the rules above. 0, or -EINVAL with the message in
 * err ("--port needs --addr CIDR" ...). */
int axl_mode_flags_config(const struct axl_mode_flags *mf, struct axl_config *cfg, char *err,
                          size_t errlen);

#endif
