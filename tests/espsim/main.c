/* espsim: a simulated ESP board on a pty (and RFC 2217). See README.md. */
#include "sim.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define RX_BACKLOG_MAX (1u << 20)

static int setup(struct sim *s, int *sigfd)
{
    char err[256];
    for (int i = 0; i < s->opt.nfaults; i++) {
        if (sim_fault_parse(&s->faults, s->opt.faults[i], err, sizeof err) != 0) {
            fprintf(stderr, "espsim: error: %s\n", err);
            return 2;
        }
    }
    if (s->opt.log_path != NULL) {
        s->log = fopen(s->opt.log_path, "w");
        if (s->log == NULL) {
            fprintf(stderr, "espsim: error: cannot open log '%s': %s\n", s->opt.log_path,
                    strerror(errno));
            return 1;
        }
        setvbuf(s->log, NULL, _IOLBF, 0);
    }
    if (sim_stub_images_load(s, err, sizeof err) != 0 ||
        sim_flash_open(&s->flash, s->opt.flash_path, s->opt.flash_size, err, sizeof err) != 0 ||
        sim_pty_open(s, err, sizeof err) != 0 ||
        (s->opt.rfc2217_port >= 0 && sim_net_open(s, s->opt.rfc2217_port, err, sizeof err) != 0)) {
        fprintf(stderr, "espsim: error: %s\n", err);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    *sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    return *sigfd < 0 ? 1 : 0;
}

static void on_signal(struct sim *s, int sigfd)
{
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
            bool dl = si.ssi_signo == SIGUSR1;
            sim_log(s, "signal: reset into %s", dl ? "download mode" : "normal boot");
            sim_board_reset(s, dl, SIM_RST_EN);
        } else {
            s->quit = true;
        }
    }
}

static void loop(struct sim *s, int sigfd)
{
    while (!s->quit) {
        int64_t now = sim_clock();
        sim_board_tick(s, now);
        sim_uart_pump(s, now);
        sim_board_tick(s, now);
        int64_t next = sim_uart_next(s);
        if (s->board.ev != SIM_EV_NONE && s->board.ev_at < next) {
            next = s->board.ev_at;
        }
        struct timespec ts, *tp = NULL;
        if (next != INT64_MAX) {
            int64_t wait = next - sim_clock();
            wait = wait < 0 ? 0 : wait > 1000 * SIM_MS ? 1000 * SIM_MS : wait;
            ts.tv_sec = wait / 1000000000LL;
            ts.tv_nsec = wait % 1000000000LL;
            tp = &ts;
        }
        struct pollfd p[4] = {
            {.fd = s->pty_master, .events = s->uart.rx.len < RX_BACKLOG_MAX ? POLLIN : 0},
            {.fd = sigfd, .events = POLLIN},
            {.fd = s->net.listen_fd, .events = POLLIN},
            {.fd = s->net.fd, .events = POLLIN},
        };
        if (s->side[SIM_SIDE_PTY].out_len > 0) {
            p[0].events |= POLLOUT;
        }
        if (s->side[SIM_SIDE_NET].out_len > 0) {
            p[3].events |= POLLOUT;
        }
        if (ppoll(p, 4, tp, NULL) < 0 && errno != EINTR) {
            fprintf(stderr, "espsim: error: poll: %s\n", strerror(errno));
            return;
        }
        now = sim_clock();
        if (p[1].revents & POLLIN) {
            on_signal(s, sigfd);
        }
        if (p[0].revents & POLLIN) {
            sim_pty_read(s, now);
        }
        if (p[2].revents & POLLIN) {
            sim_net_accept(s, now);
        }
        if (s->net.fd >= 0 && p[3].fd == s->net.fd && (p[3].revents & (POLLIN | POLLHUP))) {
            sim_net_read(s, now);
        }
    }
}

int main(int argc, char **argv)
{
    struct sim *s = calloc(1, sizeof *s); /* large (frame buffers): off the stack */
    if (s == NULL) {
        fputs("espsim: error: out of memory\n", stderr);
        return 1;
    }
    s->pty_master = s->pty_slave = -1;
    s->flash.fd = -1;
    s->net.fd = s->net.listen_fd = -1;
    int rc = sim_opts_parse(&s->opt, argc, argv);
    if (rc != 0) {
        free(s);
        return rc == 1 ? 0 : rc;
    }
    s->chip = s->opt.chip;
    s->t0 = s->t = sim_clock();
    int sigfd = -1;
    rc = setup(s, &sigfd);
    if (rc == 0) {
        sim_uart_init(s);
        printf("pty %s\n", s->pty_path);
        if (s->net.listen_fd >= 0) {
            printf("rfc2217 127.0.0.1:%d\n", s->net.port);
        }
        printf("ready\n");
        fflush(stdout);
        sim_log(s, "espsim %s, flash %s (%u bytes, id 0x%06x)%s", s->chip->name, s->opt.flash_path,
                s->opt.flash_size, s->opt.flash_id, s->opt.pace ? ", paced" : "");
        sim_board_power_on(s);
        loop(s, sigfd);
        sim_log(s, "exit");
    }
    sim_flashop_clear(&s->ld.fo);
    sim_readop_clear(&s->ld.ro);
    sim_flash_close(&s->flash);
    sim_pty_close(s);
    sim_net_close(s);
    if (sigfd >= 0) {
        close(sigfd);
    }
    if (s->log != NULL) {
        fclose(s->log);
    }
    free(s->uart.rx.v);
    free(s->uart.tx.v);
    for (int i = 0; i < SIM_NSIDES; i++) {
        free(s->side[i].out);
    }
    free(s);
    return rc;
}
