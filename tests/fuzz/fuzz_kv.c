/* SPDX-License-Identifier: MIT */
/*
 * fuzz_kv.c - libFuzzer target for axl-kvd's protocol and store
 * (src/kv/proto.c, src/kv/store.c). The first byte picks a split size; the
 * rest is a byte stream from a client. Three runs per input on fresh stores
 * (4 MiB arenas, 1000-byte value limit, so eviction and the page mover run):
 *   A  fed whole, replies drained at once
 *   B  fed in pieces of the chosen size, drained after each piece
 *   C  fed whole, value pieces "in flight" (held, up to 64 references,
 *      released oldest first) as a zero-copy server holds them
 * A and B copy every value into the reply (copy_max 1448 > the value
 * limit), so no queued reply holds a reference: a reference held longer in A
 * (drained only at the end) would otherwise change what may be evicted and
 * the zombie counters "stats" shows. C sends values by reference (copy_max
 * 0) or mixed (16), as the first byte's bit 6 picks.
 * Oracles: A and B produce the same reply bytes (splitting never changes
 * meaning); after every run the store's invariants hold (kv_store_check) and,
 * once all references are released, no zombie is left.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv/proto.h"
#include "kv/store.h"

#define MEM (4u << 20)
#define NOW 1700000000
#define OUT_CAP (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *arena(int i)
{
    static uint8_t *m[2];
    if (!m[i]) m[i] = aligned_alloc(4096, MEM);
    return m[i];
}

static size_t run(const uint8_t *in, size_t n, size_t step, int hold, char *out, int strict,
                  uint32_t copy_max)
{
    char err[128];
    struct kv_store_cfg cfg = { .value_max = 1000 };
    struct kv_store *st = kv_store_new(arena(hold), MEM, &cfg, err, sizeof(err));
    if (!st) abort();
    struct kv_server_info info = { .started = NOW, .pid = 1, .maxconns = 1, .strict_keys = strict,
                                  .copy_max = copy_max };
    struct kv_conn *c = kv_conn_new(st, &info);
    if (!c) abort();
    struct kv_item *held[64];
    unsigned nheld = 0;
    size_t i = 0, o = 0;
    int stuck = 0;
    while (i < n && !kv_conn_closing(c) && stuck < 2) {
        size_t k = step && step < n - i ? step : n - i;
        size_t used = kv_conn_input(c, in + i, k, NOW);
        i += used;
        stuck = used ? 0 : stuck + 1;
        struct kv_out p;
        while (kv_conn_out_peek(c, &p)) {
            if (out && o + p.len <= OUT_CAP) memcpy(out + o, p.p, p.len);
            o += p.len;
            if (hold && p.kind == KV_OUT_ITEM) {
                if (nheld == 64) {
                    kv_release(st, held[0]);
                    memmove(held, held + 1, sizeof(held[0]) * 63);
                    nheld--;
                }
                held[nheld++] = kv_conn_out_take(c, p.len);
            } else {
                kv_conn_out_consume(c, p.len);
            }
        }
    }
    if (kv_store_check(st) != 0) abort();
    kv_conn_free(c);
    for (unsigned j = 0; j < nheld; j++) kv_release(st, held[j]);
    if (kv_store_check(st) != 0 || kv_store_stats(st)->zombies != 0) abort();
    kv_store_free(st);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *a, *b;
    if (!a) a = malloc(OUT_CAP), b = malloc(OUT_CAP);
    if (size < 1 || size > 200000) return 0;
    size_t step = (data[0] & 0x3f) + 1;
    int strict = data[0] >> 7;
    size_t na = run(data + 1, size - 1, 0, 0, a, strict, KV_COPY_MAX_DEFAULT);
    size_t nb = run(data + 1, size - 1, step, 0, b, strict, KV_COPY_MAX_DEFAULT);
    if (na != nb || memcmp(a, b, na < OUT_CAP ? na : OUT_CAP) != 0) abort();
    run(data + 1, size - 1, 0, 1, NULL, strict, data[0] & 0x40 ? 16 : 0);
    return 0;
}
