/* SPDX-License-Identifier: MIT */
/*
 * test_chan_protect.c - the memory protection of a channel (DLibOS / NewtOS:
 * what a process only reads is mapped read-only into it):
 *   - an application that writes anything in the STK region (indices, socket
 *     table, events, RX data) dies of SIGSEGV, and cannot get write access
 *     another way (writable mmap, mprotect, write(2), truncation, hole
 *     punching, new seals);
 *   - the stack cannot write the APP region nor a registered memory region;
 *   - two applications get distinct memfds, each only its own (checked from
 *     inside each application's process), and a hello cannot be combined
 *     with another channel's fds;
 *   - what axl_chan_map_app and axl_chan_stk_regmem_add refuse.
 */
#include "test_chan_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child: %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno);    \
            _exit(__LINE__ % 250 + 2);                                                             \
        }                                                                                          \
    } while (0)

/* A fault must kill the child with SIGSEGV (not be reported by a sanitizer
 * handler as an error exit). */
static void default_segv(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

/* Store to p, whatever the pointer's type says: the mapping decides. */
static void poke(const volatile void *p)
{
    *(volatile uint32_t *)(uintptr_t)p = 0x5a5a5a5a;
}

enum { W_SCTL, W_SLOT, W_EVQ, W_RXDATA, W_HDR, W_S_ACK, W_NONE };

/* Child: get the channel over the socket like a real application, then try
 * to write one place of the STK region (or, W_NONE, every other way in). */
static int child_writes(int sock, int what)
{
    struct axl_chan_app a;
    struct axl_chan_hello h;
    int fds[2];
    CHILD_CHECK(axl_chan_recv_hello(sock, &h, fds) == 0);
    CHILD_CHECK(axl_chan_map_app(&a, &h, fds) == 0);
    default_segv();
    switch (what) {
    case W_SCTL:
        poke(&a.sctl->cmdq_cons);
        break;
    case W_SLOT:
        poke(&a.slots[3].rx_prod);
        break;
    case W_EVQ:
        poke(a.stk + a.lay.evq_off);
        break;
    case W_RXDATA:
        poke(a.stk + a.lay.rx_off + 5 * a.lay.p.rx_size + 16);
        break;
    case W_HDR:
        poke(a.hdr);
        break;
    case W_S_ACK:
        poke(a.s_ack);
        break;
    default: {
        size_t sz = a.lay.size[AXL_CHAN_R_STK];
        /* The APP region is ours to write. */
        poke(&a.actl->activity);
        poke(a.app + a.lay.tx_off);
        /* No writable shared mapping of the STK memfd, by any route. */
        void *w = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fds[AXL_CHAN_R_STK], 0);
        CHILD_CHECK(w == MAP_FAILED && errno == EPERM);
        CHILD_CHECK(mprotect((void *)(uintptr_t)a.stk, 4096, PROT_READ | PROT_WRITE) < 0 &&
                    errno == EACCES);
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[AXL_CHAN_R_STK]);
        int fd2 = open(path, O_RDWR);
        if (fd2 >= 0) { /* reopening works, the seal is on the inode */
            w = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
            CHILD_CHECK(w == MAP_FAILED);
            close(fd2);
        }
        CHILD_CHECK(pwrite(fds[AXL_CHAN_R_STK], "x", 1, 0) < 0 && errno == EPERM);
        CHILD_CHECK(fallocate(fds[AXL_CHAN_R_STK], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                              4096) < 0);
        /* Neither region can be resized or sealed further. */
        CHILD_CHECK(ftruncate(fds[AXL_CHAN_R_STK], 0) < 0);
        CHILD_CHECK(ftruncate(fds[AXL_CHAN_R_APP], 0) < 0);
        CHILD_CHECK(ftruncate(fds[AXL_CHAN_R_APP], (off_t)a.lay.size[AXL_CHAN_R_APP] * 2) < 0);
        CHILD_CHECK(fcntl(fds[AXL_CHAN_R_APP], F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM);
        CHILD_CHECK(fcntl(fds[AXL_CHAN_R_STK], F_ADD_SEALS, F_SEAL_WRITE) < 0 && errno == EPERM);
        /* A private writable copy is possible and changes only our view. */
        w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fds[AXL_CHAN_R_STK], 0);
        CHILD_CHECK(w != MAP_FAILED);
        poke(w);
        CHILD_CHECK(a.hdr->magic == AXL_CHAN_MAGIC);
        return 0;
    }
    }
    return 1; /* the write went through */
}

static int run_writer(int what)
{
    int sv[2];
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[0]);
        _exit(child_writes(sv[1], what));
    }
    close(sv[1]);
    chan_small_params(&p);
    assert_int_equal(axl_chan_create(&ch, &p, 1), 0);
    assert_int_equal(axl_chan_send_hello(sv[0], &ch), 0);
    int rc = chan_wait_child(pid);
    /* whatever the child tried, the stack's view is intact */
    assert_int_equal(ch.hdr->magic, AXL_CHAN_MAGIC);
    assert_int_equal(atomic_load(&ch.sctl->cmdq_cons), 0);
    close(sv[0]);
    axl_chan_stk_close(&ch);
    return rc;
}

static void test_app_cannot_write_stk_region(void **state)
{
    (void)state;
    for (int w = W_SCTL; w < W_NONE; w++)
        if (run_writer(w) != 128 + SIGSEGV) fail_msg("write %d to the STK region did not fault", w);
    assert_int_equal(run_writer(W_NONE), 0);
}

static void test_stack_cannot_write_app_memory(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct chan_pair cp;
    struct axl_chan_regmem m;
    chan_small_params(&p);
    chan_pair_open(&cp, &p);
    assert_int_equal(axl_chan_regmem_create(&m, 8192), 0);
    int rid = axl_chan_stk_regmem_add(&cp.stk, m.fd, 8192);
    assert_true(rid >= 0);
    const volatile void *targets[] = {
        &cp.stk.actl->cmdq_prod,
        &cp.stk.lines[2].tx_prod,
        cp.stk.a_hint,
        cp.stk.app + cp.stk.lay.tx_off + 100,
        axl_chan_stk_regmem_ptr(&cp.stk, (uint32_t)rid, 4000, 1),
    };
    for (size_t i = 0; i < AXL_ARRAY_SIZE(targets); i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            default_segv();
            poke(targets[i]);
            _exit(1);
        }
        if (chan_wait_child(pid) != 128 + SIGSEGV) fail_msg("the stack could write target %zu", i);
    }
    axl_chan_regmem_destroy(&m);
    chan_pair_close(&cp);
}

/* /proc/self/maps inode numbers of memfd mappings named axl-chan-*. */
static int chan_map_inodes(uint64_t *ino, int max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;
    if (!f) return -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long in;
        char name[256] = "";
        if (sscanf(line, "%*s %*s %*s %*s %llu %255s", &in, name) == 2 &&
            strstr(name, "memfd:axl-chan") && n < max) {
            int dup = 0;
            for (int i = 0; i < n; i++)
                dup |= ino[i] == in;
            if (!dup) ino[n++] = in;
        }
    }
    fclose(f);
    return n;
}

static int child_report_inodes(int sock)
{
    struct axl_chan_app a;
    struct axl_chan_hello h;
    int fds[2];
    uint64_t ino[8];
    CHILD_CHECK(axl_chan_recv_hello(sock, &h, fds) == 0);
    CHILD_CHECK(axl_chan_map_app(&a, &h, fds) == 0);
    close(fds[0]);
    close(fds[1]);
    /* every fd this process holds: only stdio, the socket, nothing else */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != sock && fcntl(fd, F_GETFD) >= 0) {
            char path[64], target[256] = "";
            snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
            ssize_t k = readlink(path, target, sizeof(target) - 1);
            if (k > 0) target[k] = 0;
            CHILD_CHECK(!strstr(target, "memfd:")); /* no stray region fds */
        }
    int n = chan_map_inodes(ino, 8);
    CHILD_CHECK(n == 2);
    uint64_t msg[3] = {(uint64_t)n, ino[0], ino[1]};
    CHILD_CHECK(send(sock, msg, sizeof(msg), 0) == sizeof(msg));
    axl_chan_app_unmap(&a);
    return 0;
}

static void test_two_apps_distinct_memfds(void **state)
{
    (void)state;
    int sv[2][2];
    pid_t pid[2];
    struct axl_chan_params p;
    struct axl_chan_stk ch[2];
    uint64_t ino[2][2];
    chan_small_params(&p);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv[i]), 0);
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            close(sv[i][0]);
            if (i == 1) close(sv[0][0]); /* the first app's socket is not ours */
            _exit(child_report_inodes(sv[i][1]));
        }
        close(sv[i][1]);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(axl_chan_create(&ch[i], &p, (uint32_t)(10 + i)), 0);
        for (int r = 0; r < 2; r++) {
            struct stat st;
            assert_int_equal(fstat(ch[i].fd[r], &st), 0);
            ino[i][r] = st.st_ino;
        }
    }
    assert_true(ch[0].hdr->nonce != ch[1].hdr->nonce);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(axl_chan_send_hello(sv[i][0], &ch[i]), 0);
        axl_chan_stk_drop_fds(&ch[i]);
    }
    for (int i = 0; i < 2; i++) {
        uint64_t msg[3];
        assert_int_equal(recv(sv[i][0], msg, sizeof(msg), 0), sizeof(msg));
        assert_int_equal(chan_wait_child(pid[i]), 0);
        /* the app maps exactly its own two memfds, none of the other's */
        for (int k = 1; k <= 2; k++) {
            assert_true(msg[k] == ino[i][0] || msg[k] == ino[i][1]);
            assert_true(msg[k] != ino[!i][0] && msg[k] != ino[!i][1]);
        }
        assert_true(msg[1] != msg[2]);
        close(sv[i][0]);
    }
    for (int i = 0; i < 2; i++)
        axl_chan_stk_close(&ch[i]);
}

static void test_map_app_refuses(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct axl_chan_stk a, b;
    struct axl_chan_app app;
    struct axl_chan_msg m;
    chan_small_params(&p);
    assert_int_equal(axl_chan_create(&a, &p, 1), 0);
    assert_int_equal(axl_chan_create(&b, &p, 1), 0);
    axl_chan_stk_hello(&a, &m);
    /* a's hello with b's regions: the header's nonce does not match */
    assert_int_equal(axl_chan_map_app(&app, &m.u.hello, b.fd), AXL_EMALFORMED);
    /* the regions swapped */
    int sw[2] = {a.fd[1], a.fd[0]};
    assert_true(axl_chan_map_app(&app, &m.u.hello, sw) < 0);
    /* a STK region that is not sealed against writable mappings */
    int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)a.lay.size[AXL_CHAN_R_STK]), 0);
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    int fk[2] = {fd, a.fd[1]};
    assert_int_equal(axl_chan_map_app(&app, &m.u.hello, fk), AXL_EINVAL);
    close(fd);
    /* parameters that do not match the regions' sizes */
    struct axl_chan_hello h = m.u.hello;
    h.max_socks = 128;
    assert_int_equal(axl_chan_map_app(&app, &h, a.fd), AXL_EINVAL);
    h = m.u.hello;
    h.app_id = 2;
    assert_int_equal(axl_chan_map_app(&app, &h, a.fd), AXL_EMALFORMED);
    /* and the right combination works */
    assert_int_equal(axl_chan_map_app(&app, &m.u.hello, a.fd), 0);
    axl_chan_app_unmap(&app);
    axl_chan_stk_close(&a);
    axl_chan_stk_close(&b);
}

static void test_regmem_refuses(void **state)
{
    (void)state;
    struct axl_chan_params p;
    struct axl_chan_stk ch;
    struct axl_chan_regmem m[5];
    chan_small_params(&p); /* 4 regions */
    assert_int_equal(axl_chan_create(&ch, &p, 1), 0);
    /* not a memfd */
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(axl_chan_stk_regmem_add(&ch, pfd[0], 4096), AXL_EINVAL);
    close(pfd[0]);
    close(pfd[1]);
    /* a memfd that can shrink */
    int fd = memfd_create("r", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_int_equal(ftruncate(fd, 4096), 0);
    assert_int_equal(axl_chan_stk_regmem_add(&ch, fd, 4096), AXL_EINVAL);
    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK);
    assert_int_equal(axl_chan_stk_regmem_add(&ch, fd, 8192), AXL_EINVAL); /* size lies */
    assert_int_equal(axl_chan_stk_regmem_add(&ch, fd, 0), AXL_EINVAL);
    assert_int_equal(axl_chan_stk_regmem_add(&ch, fd, 4096), 0);
    close(fd);
    for (int i = 0; i < 5; i++)
        assert_int_equal(axl_chan_regmem_create(&m[i], 4096), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(axl_chan_stk_regmem_add(&ch, m[i].fd, 4096), i + 1);
    assert_int_equal(axl_chan_stk_regmem_add(&ch, m[3].fd, 4096), AXL_ENOBUFS);
    axl_chan_stk_regmem_del(&ch, 2);
    assert_null(axl_chan_stk_regmem_ptr(&ch, 2, 0, 1));
    assert_int_equal(axl_chan_stk_regmem_add(&ch, m[4].fd, 4096), 2);
    /* the decoder sees what is registered */
    assert_int_equal(ch.dctx.reg_size[2], 4096);
    assert_int_equal(ch.dctx.reg_size[3], 4096);
    for (int i = 0; i < 5; i++)
        axl_chan_regmem_destroy(&m[i]);
    axl_chan_stk_close(&ch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_app_cannot_write_stk_region),
        cmocka_unit_test(test_stack_cannot_write_app_memory),
        cmocka_unit_test(test_two_apps_distinct_memfds),
        cmocka_unit_test(test_map_app_refuses),
        cmocka_unit_test(test_regmem_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
