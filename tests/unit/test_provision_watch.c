/*
 * Station mode end to end: `espprov provision --watch` under a umockdev
 * testbed. Fake CP210x adapters appear on the fake USB bus; the tty node
 * umockdev makes for each is pointed at a simulated board's pty, so the
 * station's libusb hotplug sees a real uevent and its worker talks to a real
 * (simulated) ROM loader. One board is plugged in before the station starts,
 * one while it runs; both get provisioned; SIGINT ends the station with a
 * summary and exit status 0. Then --all-ports finds and renews both.
 *
 * Like test_usb_hotplug.c, it re-runs itself under umockdev-wrapper and loads
 * libumockdev at run time. espprov runs as a child in the same testbed
 * (UMOCKDEV_DIR and the preload library are inherited).
 *
 * umockdev 0.17 sends every ioctl on a testbed /dev node to the testbed's
 * ioctl socket, whose default handler answers ENOTTY to termios requests, so
 * a serial port there cannot even be configured. This test serves that socket
 * itself and answers every request with "run it yourself": the ioctls (and
 * reads and writes) then reach the simulator's pty unchanged.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/simproc.h"
#include "test.h"

extern char **environ;

struct umockdev_api {
    void *(*testbed_new)(void);
    int (*add_from_string)(void *tb, const char *data, void **gerror);
    void (*uevent)(void *tb, const char *devpath, const char *action);
    char *(*root_dir)(void *tb); /* a new string: g_free it */
    void (*object_unref)(void *obj);
    void (*g_free)(void *p);
};
static struct umockdev_api um;

static bool load_umockdev(void)
{
    void *lib = dlopen("libumockdev.so.0", RTLD_NOW);
    if (lib == NULL) {
        return false;
    }
    static const char *const names[] = {
        "umockdev_testbed_new",    "umockdev_testbed_add_from_string",
        "umockdev_testbed_uevent", "umockdev_testbed_get_root_dir",
        "g_object_unref",          "g_free"};
    void (**slots[])(void) = {
        (void (**)(void))(void *)&um.testbed_new,  (void (**)(void))(void *)&um.add_from_string,
        (void (**)(void))(void *)&um.uevent,       (void (**)(void))(void *)&um.root_dir,
        (void (**)(void))(void *)&um.object_unref, (void (**)(void))(void *)&um.g_free};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(lib, names[i]);
        if (sym == NULL) {
            return false;
        }
        memcpy(slots[i], &sym, sizeof sym);
    }
    return true;
}

/* ---- the pass-through ioctl socket (see above) ------------------------ */

enum { REQ_IOCTL = 1, REQ_RESULT = 2, RES_DONE = 3, RES_RUN = 4 };

static bool recv_all(int fd, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = recv(fd, (char *)buf + got, len - got, 0);
        if (n <= 0) {
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

static void *passthru_client(void *arg)
{
    int c = (int)(intptr_t)arg;
    unsigned long msg[3];
    while (recv_all(c, msg, sizeof msg)) {
        /* A request: let the client run it; its result: hand it back. */
        unsigned long reply[3] = {RES_RUN, 0, 0};
        if (msg[0] == REQ_RESULT) {
            reply[0] = RES_DONE;
            reply[1] = msg[1];
            reply[2] = msg[2];
        }
        if (send(c, reply, sizeof reply, MSG_NOSIGNAL) != (ssize_t)sizeof reply) {
            break;
        }
    }
    close(c);
    return NULL;
}

struct passthru {
    int fd;
    atomic_bool stop;
    pthread_t thread;
};

static void *passthru_accept(void *arg)
{
    struct passthru *pt = arg;
    while (!atomic_load(&pt->stop)) {
        struct pollfd pfd = {.fd = pt->fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        int c = accept(pt->fd, NULL, NULL);
        pthread_t t;
        if (c >= 0 && pthread_create(&t, NULL, passthru_client, (void *)(intptr_t)c) == 0) {
            pthread_detach(t);
        } else if (c >= 0) {
            close(c);
        }
    }
    return NULL;
}

static bool passthru_start(struct passthru *pt, const char *root)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/ioctl/_default", root);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ioctl", root);
    mkdir(dir, 0755);
    unlink(sa.sun_path);
    atomic_init(&pt->stop, false);
    pt->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return pt->fd >= 0 && bind(pt->fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
           listen(pt->fd, 16) == 0 && pthread_create(&pt->thread, NULL, passthru_accept, pt) == 0;
}

static void passthru_stop(struct passthru *pt)
{
    atomic_store(&pt->stop, true);
    pthread_join(pt->thread, NULL);
    close(pt->fd);
}

/* ---- fake adapters ------------------------------------------------------ */

/* A CP2102 at USB path 1-N with tty ttyUSB<N-2>, as the kernel shows it. */
static void cp2102(int n, char *dev, size_t dev_len, char *tty_part, size_t tty_len)
{
    int minor = n - 2;
    snprintf(dev, dev_len,
             "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%d\n"
             "N: bus/usb/001/%03d\nE: DEVNAME=/dev/bus/usb/001/%03d\n"
             "E: DEVTYPE=usb_device\nE: SUBSYSTEM=usb\n"
             "A: busnum=1\nA: devnum=%d\nA: idVendor=10c4\nA: idProduct=ea60\nA: speed=12\n"
             "A: bConfigurationValue=1\nA: manufacturer=Silicon Labs\nA: serial=000%d\n"
             "A: product=CP2102 USB to UART Bridge Controller\n"
             "H: descriptors=1201000200000040c41060ea0001010203010902200001010080320904000002ff"
             "0000000705810240000007050202400000\n",
             n, n + 4, n + 4, n + 4, n);
    snprintf(tty_part, tty_len,
             "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%d/1-%d:1.0\n"
             "E: DEVTYPE=usb_interface\nE: SUBSYSTEM=usb\nA: bInterfaceNumber=00\n\n"
             "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%d/1-%d:1.0/ttyUSB%d\n"
             "E: SUBSYSTEM=usb-serial\n\n"
             "P: /devices/pci0000:00/0000:00:14.0/usb1/1-%d/1-%d:1.0/ttyUSB%d/tty/ttyUSB%d\n"
             "N: ttyUSB%d\nE: DEVNAME=/dev/ttyUSB%d\nE: SUBSYSTEM=tty\nE: MAJOR=188\n"
             "E: MINOR=%d\nA: dev=188:%d\n",
             n, n, n, n, minor, n, n, minor, minor, minor, minor, minor, minor);
}

/* umockdev backs the tty node with a pty of its own; point it at the board's. */
static bool wire_tty(void *tb, int minor, const char *pty)
{
    char node[PATH_MAX];
    char *root = um.root_dir(tb);
    snprintf(node, sizeof node, "%s/dev/ttyUSB%d", root, minor);
    um.g_free(root);
    unlink(node);
    return symlink(pty, node) == 0;
}

static bool plug(void *tb, int n, const char *pty, bool announce)
{
    char dev[1024], tty[1024], path[128];
    cp2102(n, dev, sizeof dev, tty, sizeof tty);
    if (!um.add_from_string(tb, dev, NULL) || !um.add_from_string(tb, tty, NULL) ||
        !wire_tty(tb, n - 2, pty)) {
        return false;
    }
    if (announce) {
        snprintf(path, sizeof path, "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d", n);
        um.uevent(tb, path, "add");
        snprintf(path, sizeof path, "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-%d/1-%d:1.0", n,
                 n);
        um.uevent(tb, path, "add");
    }
    return true;
}

/* The board's simulator runs outside the testbed: it needs no fake devices. */
static int start_board(struct simproc *sp, const char *flash, const char *mac)
{
    char *preload = getenv("LD_PRELOAD") ? strdup(getenv("LD_PRELOAD")) : NULL;
    unsetenv("LD_PRELOAD");
    const char *args[] = {"--chip", "esp32", "--flash", flash, "--mac", mac, NULL};
    char err[256];
    int rc = simproc_start(sp, args, 10000, err, sizeof err);
    if (preload != NULL) {
        setenv("LD_PRELOAD", preload, 1);
        free(preload);
    }
    if (rc != 0) {
        printf("# espsim: %s\n", err);
    }
    return rc;
}

static bool file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return false;
    }
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        found = strstr(line, needle) != NULL;
    }
    fclose(f);
    return found;
}

/* Waits (a bound, not a timing assertion: 60 s) for `needle` in the file. */
static bool wait_for_text(const char *path, const char *needle)
{
    for (int i = 0; i < 600; i++) {
        if (file_has(path, needle)) {
            return true;
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static bool flash_has_file(const char *flash, long offset, const char *file)
{
    FILE *a = fopen(flash, "rb"), *b = fopen(file, "rb");
    bool same = a != NULL && b != NULL && fseek(a, offset, SEEK_SET) == 0;
    int ca, cb;
    while (same && (cb = fgetc(b)) != EOF) {
        ca = fgetc(a);
        same = ca == cb;
    }
    if (a != NULL) {
        fclose(a);
    }
    if (b != NULL) {
        fclose(b);
    }
    return same;
}

static char dir[] = "/tmp/espprov-watch.XXXXXX";
static char espprov[PATH_MAX];
static char fwdir[PATH_MAX];

static int run_cmd(char *const argv[], const char *out, const char *errf, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    int rc = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

static void setup_profile(char *profile, size_t len)
{
    snprintf(profile, len, "%s/station.json", dir);
    FILE *f = fopen(profile, "w");
    if (f == NULL) {
        return;
    }
    fprintf(
        f,
        "{\"name\": \"station\", \"chip\": \"esp32\",\n"
        " \"firmware\": [{\"offset\": \"0x1000\", \"file\": \"%s/demo-esp32-bootloader.bin\"},\n"
        "              {\"offset\": \"0x10000\", \"file\": \"%s/demo-esp32-app.bin\"}],\n"
        " \"filesystem\": {\"offset\": \"0x300000\", \"size\": \"0x20000\"},\n"
        " \"ca\": {\"passphrase\": \"station-ca-pass\"},\n"
        " \"wifi\": {\"ssid\": \"lab\", \"password\": \"station-wifi\"},\n"
        " \"mqtt\": {\"host\": \"127.0.0.1\", \"topics\": {\"status\": \"s/{id}\"}},\n"
        " \"ledger\": \"station.db\"}\n",
        fwdir, fwdir);
    fclose(f);
}

TEST(station_provisions_boards_present_and_plugged_in)
{
    ASSERT(mkdtemp(dir) != NULL);
    char profile[PATH_MAX + 32], out[PATH_MAX + 32], errf[PATH_MAX + 32];
    setup_profile(profile, sizeof profile);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(errf, sizeof errf, "%s/err", dir);
    pid_t pid;
    int status = -1;
    static char s_ca[] = "ca", s_init[] = "init", s_p[] = "-P", s_prov[] = "provision",
                s_watch[] = "--watch", s_json[] = "--json";
    char *init[] = {espprov, s_ca, s_init, s_p, profile, NULL};
    ASSERT_EQ_INT(run_cmd(init, out, errf, &pid), 0);
    ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);

    char flash_a[PATH_MAX + 16], flash_b[PATH_MAX + 16];
    snprintf(flash_a, sizeof flash_a, "%s/a.bin", dir);
    snprintf(flash_b, sizeof flash_b, "%s/b.bin", dir);
    struct simproc a = {0}, b = {0};
    ASSERT_EQ_INT(start_board(&a, flash_a, "24:0a:c4:00:0a:01"), 0);
    ASSERT_EQ_INT(start_board(&b, flash_b, "24:0a:c4:00:0a:02"), 0);

    void *tb = um.testbed_new();
    struct passthru pt;
    char *root = um.root_dir(tb);
    bool serving = passthru_start(&pt, root);
    um.g_free(root);
    ASSERT(serving);
    ASSERT(plug(tb, 2, a.pty, false)); /* present before the station starts */
    char *station[] = {espprov, s_prov, s_p, profile, s_watch, s_json, NULL};
    ASSERT_EQ_INT(run_cmd(station, out, errf, &pid), 0);
    bool first = wait_for_text(out, "\"mac\": \"24:0a:c4:00:0a:01\"");
    ASSERT(plug(tb, 3, b.pty, true)); /* plugged in while it runs */
    bool second = wait_for_text(out, "\"mac\": \"24:0a:c4:00:0a:02\"");
    kill(pid, SIGINT);
    status = -1;
    waitpid(pid, &status, 0);
    /* The same two boards through --all-ports (renewed: they were seen). */
    char out2[PATH_MAX + 32], err2[PATH_MAX + 32];
    snprintf(out2, sizeof out2, "%s/out-all", dir);
    snprintf(err2, sizeof err2, "%s/err-all", dir);
    static char s_all[] = "--all-ports", s_repro[] = "--reprovision", s_renew[] = "renew";
    char *all[] = {espprov, s_prov, s_p, profile, s_all, s_repro, s_renew, s_json, NULL};
    int all_status = -1;
    if (run_cmd(all, out2, err2, &pid) == 0) {
        waitpid(pid, &all_status, 0);
    }
    simproc_stop(&a);
    simproc_stop(&b);
    passthru_stop(&pt);
    um.object_unref(tb);
    if (!first || !second) {
        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof cmd, "sed 's/^/# /' %s %s", out, errf);
        ASSERT_MSG(system(cmd) >= 0 && false, "a board was not provisioned");
    }
    ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
    EXPECT(file_has(out, "\"port\": \"/dev/ttyUSB0\", \"id\": \"esp-240ac4000a01\""));
    EXPECT(file_has(out, "\"port\": \"/dev/ttyUSB1\", \"id\": \"esp-240ac4000a02\""));
    EXPECT(file_has(out, "\"summary\": true, \"provisioned\": 2, \"failed\": 0"));
    EXPECT(file_has(errf, "/dev/ttyUSB1: board plugged in, starting"));
    EXPECT(file_has(errf, "tally: 2 provisioned, 0 failed, 0 in progress"));
    EXPECT(WIFEXITED(all_status) && WEXITSTATUS(all_status) == 0);
    EXPECT(file_has(out2, "\"summary\": true, \"provisioned\": 2, \"failed\": 0"));
    EXPECT(file_has(out2, "\"reprovision\": \"renew\""));
    char app[PATH_MAX + 32];
    snprintf(app, sizeof app, "%s/demo-esp32-app.bin", fwdir);
    EXPECT(flash_has_file(flash_a, 0x10000, app));
    EXPECT(flash_has_file(flash_b, 0x10000, app));
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    EXPECT(system(cmd) == 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("ESPPROV_UMOCKDEV_WRAPPED") == NULL) {
        setenv("ESPPROV_UMOCKDEV_WRAPPED", "1", 1);
        setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
        static char wrapper[] = "umockdev-wrapper";
        char *args[] = {wrapper, argv[0], NULL};
        execvp(args[0], args);
        printf("FAIL umockdev: cannot run umockdev-wrapper (install the Debian package "
               "umockdev)\n");
        return 1;
    }
    if (!load_umockdev()) {
        printf("FAIL umockdev: cannot load libumockdev.so.0: %s\n", dlerror());
        return 1;
    }
    const char *bin = getenv("ESPPROV");
    char fallback[PATH_MAX];
    snprintf(fallback, sizeof fallback, "%s/espprov", getenv("BUILD") ? getenv("BUILD") : "build");
    if (realpath(bin ? bin : fallback, espprov) == NULL ||
        realpath("profiles/firmware", fwdir) == NULL) {
        printf("FAIL setup: espprov (%s) or profiles/firmware not found\n", bin ? bin : fallback);
        return 1;
    }
    struct t_ctx t_main_ = {0};
    RUN(station_provisions_boards_present_and_plugged_in);
    printf("%d passed, %d failed\n", t_main_.passed, t_main_.failed);
    return t_main_.failed ? 1 : 0;
}
