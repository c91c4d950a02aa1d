/*
 * USB hotplug (station mode) against umockdev: devices are added to and
 * removed from a testbed while a watcher runs, with real uevents, so libusb's
 * udev monitor sees them as it would on a real bus.
 *
 * umockdev-run cannot send uevents; that takes libumockdev's API. Rather
 * than link every test with GLib, this program loads libumockdev.so.0 at run
 * time and re-runs itself under umockdev-wrapper (its LD_PRELOAD library
 * redirects /sys, /dev and the uevent netlink socket into the testbed).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "test.h"

/* The slice of libumockdev's C API used here (GObject types kept opaque). */
struct umockdev_api {
    void *(*testbed_new)(void);
    int (*add_from_file)(void *tb, const char *path, void **gerror);
    int (*add_from_string)(void *tb, const char *data, void **gerror);
    void (*uevent)(void *tb, const char *devpath, const char *action);
    void (*remove_device)(void *tb, const char *syspath);
    void (*object_unref)(void *obj);
};
static struct umockdev_api um;

static bool load_umockdev(void)
{
    void *lib = dlopen("libumockdev.so.0", RTLD_NOW);
    if (lib == NULL) {
        return false;
    }
    /* memcpy: ISO C has no cast from dlsym's void * to a function pointer. */
    static const char *const names[] = {"umockdev_testbed_new",
                                        "umockdev_testbed_add_from_file",
                                        "umockdev_testbed_add_from_string",
                                        "umockdev_testbed_uevent",
                                        "umockdev_testbed_remove_device",
                                        "g_object_unref"};
    void (**slots[])(void) = {
        (void (**)(void))(void *)&um.testbed_new,     (void (**)(void))(void *)&um.add_from_file,
        (void (**)(void))(void *)&um.add_from_string, (void (**)(void))(void *)&um.uevent,
        (void (**)(void))(void *)&um.remove_device,   (void (**)(void))(void *)&um.object_unref};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *sym = dlsym(lib, names[i]);
        if (sym == NULL) {
            return false;
        }
        memcpy(slots[i], &sym, sizeof sym);
    }
    return true;
}

#define PCI        "/sys/devices/pci0000:00/0000:00:14.0"
#define CP2102_DEV PCI "/usb1/1-2"

/* The CP2102 of tests/data/umockdev/cp2102.umockdev, in two halves: the USB
 * device, and what its driver adds a moment later (interface + tty). */
static const char cp2102_device[] =
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2\n"
    "N: bus/usb/001/005\n"
    "E: DEVNAME=/dev/bus/usb/001/005\n"
    "E: DEVTYPE=usb_device\n"
    "E: SUBSYSTEM=usb\n"
    "A: busnum=1\nA: devnum=5\nA: idVendor=10c4\nA: idProduct=ea60\nA: speed=12\n"
    "A: bConfigurationValue=1\nA: manufacturer=Silicon Labs\nA: serial=0001\n"
    "A: product=CP2102 USB to UART Bridge Controller\n"
    "H: descriptors=1201000200000040c41060ea0001010203010902200001010080320904000002ff0000000"
    "705810240000007050202400000\n";
static const char cp2102_tty[] =
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0\n"
    "E: DEVTYPE=usb_interface\nE: SUBSYSTEM=usb\nA: bInterfaceNumber=00\n\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0\n"
    "E: SUBSYSTEM=usb-serial\n\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0\n"
    "N: ttyUSB0\nE: DEVNAME=/dev/ttyUSB0\nE: SUBSYSTEM=tty\nE: MAJOR=188\nE: MINOR=0\n"
    "A: dev=188:0\n";

enum { MAX_EVENTS = 16 };

struct recorder {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    enum fl_usb_event kinds[MAX_EVENTS];
    struct fl_usb_port ports[MAX_EVENTS];
    int count;
    struct fl_usb_watch *watch;
    atomic_bool stop;
    int run_rc;
    pthread_t thread;
};

static void on_event(void *user, enum fl_usb_event event, const struct fl_usb_port *port)
{
    struct recorder *r = user;
    pthread_mutex_lock(&r->lock);
    if (r->count < MAX_EVENTS) {
        r->kinds[r->count] = event;
        r->ports[r->count] = *port;
        r->count++;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void *run_watch(void *arg)
{
    struct recorder *r = arg;
    struct fl_error err = {0};
    r->run_rc = fl_usb_watch_run(r->watch, &r->stop, &err);
    return NULL;
}

static bool start(struct recorder *r, const struct fl_usb_watch_opts *opts)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    atomic_init(&r->stop, false);
    struct fl_error err = {0};
    if (fl_usb_watch_open(opts, on_event, r, &r->watch, &err) != FL_OK) {
        printf("# watch_open: %s\n", err.msg);
        return false;
    }
    return pthread_create(&r->thread, NULL, run_watch, r) == 0;
}

static void stop(struct recorder *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    fl_usb_watch_close(r->watch);
}

/* Waits (at most 15 s: a bound, not a timing assertion) for `n` events. */
static int wait_events(struct recorder *r, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 15;
    pthread_mutex_lock(&r->lock);
    while (r->count < n && pthread_cond_timedwait(&r->changed, &r->lock, &until) == 0) {
    }
    int count = r->count;
    pthread_mutex_unlock(&r->lock);
    return count;
}

static void pause_ms(int ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

TEST(arrival_waits_for_the_tty_then_departure_follows)
{
    void *tb = um.testbed_new();
    struct recorder r;
    struct fl_usb_watch_opts opts = {.tty_wait_ms = 20000};
    ASSERT(start(&r, &opts));
    ASSERT(um.add_from_string(tb, cp2102_device, NULL));
    um.uevent(tb, CP2102_DEV, "add");
    /* No tty yet: nothing may be reported however long this takes. */
    pause_ms(300);
    int before_tty = wait_events(&r, 0);
    ASSERT(um.add_from_string(tb, cp2102_tty, NULL));
    um.uevent(tb, CP2102_DEV "/1-2:1.0", "add");
    int arrived = wait_events(&r, 1);
    um.uevent(tb, CP2102_DEV, "remove");
    int left = wait_events(&r, 2);
    stop(&r);
    um.remove_device(tb, CP2102_DEV);
    um.object_unref(tb);
    ASSERT_EQ_INT(before_tty, 0);
    ASSERT_MSG(arrived >= 1, "no arrival reported");
    ASSERT_EQ_INT(r.kinds[0], FL_USB_ARRIVED);
    ASSERT_STREQ(r.ports[0].tty, "/dev/ttyUSB0");
    ASSERT_EQ_UINT(r.ports[0].vid, 0x10c4);
    ASSERT_EQ_UINT(r.ports[0].pid, 0xea60);
    ASSERT_STREQ(r.ports[0].serial, "0001");
    ASSERT_STREQ(r.ports[0].usb_path, "1-2");
    ASSERT_STREQ(r.ports[0].model->kind, "cp210x");
    ASSERT_MSG(left == 2, "no departure reported (%d events)", left);
    ASSERT_EQ_INT(r.kinds[1], FL_USB_LEFT);
    ASSERT_STREQ(r.ports[1].tty, "/dev/ttyUSB0");
    ASSERT_EQ_INT(r.run_rc, FL_OK);
}

TEST(present_boards_are_reported_and_strangers_ignored)
{
    void *tb = um.testbed_new();
    static const char *const files[] = {"hub", "ch340", "esp32c3-usb-jtag", "pl2303", "keyboard"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "tests/data/umockdev/%s.umockdev", files[i]);
        ASSERT_MSG(um.add_from_file(tb, path, NULL), "cannot load %s", path);
    }
    struct recorder r;
    struct fl_usb_watch_opts opts = {.report_present = true};
    ASSERT(start(&r, &opts));
    int n = wait_events(&r, 2);
    pause_ms(300); /* a wrongly reported PL2303 or keyboard would show up here */
    n = wait_events(&r, 0);
    stop(&r);
    um.object_unref(tb);
    ASSERT_EQ_INT(n, 2);
    bool ch340 = false, jtag = false;
    for (int i = 0; i < n; i++) {
        ASSERT_EQ_INT(r.kinds[i], FL_USB_ARRIVED);
        ch340 |= strcmp(r.ports[i].tty, "/dev/ttyUSB1") == 0 && r.ports[i].pid == 0x7523;
        jtag |= strcmp(r.ports[i].tty, "/dev/ttyACM0") == 0 && r.ports[i].pid == 0x1001;
    }
    EXPECT(ch340);
    EXPECT(jtag);
}

TEST(all_flag_reports_unknown_serial_devices)
{
    void *tb = um.testbed_new();
    ASSERT(um.add_from_file(tb, "tests/data/umockdev/pl2303.umockdev", NULL));
    struct recorder r;
    struct fl_usb_watch_opts opts = {.report_present = true, .flags = FL_USB_LIST_ALL};
    ASSERT(start(&r, &opts));
    int n = wait_events(&r, 1);
    stop(&r);
    um.object_unref(tb);
    ASSERT_EQ_INT(n, 1);
    ASSERT_STREQ(r.ports[0].tty, "/dev/ttyUSB4");
    ASSERT(r.ports[0].model == NULL);
}

TEST(known_board_without_a_tty_is_reported_after_the_wait)
{
    void *tb = um.testbed_new();
    struct recorder r;
    struct fl_usb_watch_opts opts = {.tty_wait_ms = 100};
    ASSERT(start(&r, &opts));
    ASSERT(um.add_from_string(tb, cp2102_device, NULL));
    um.uevent(tb, CP2102_DEV, "add");
    int n = wait_events(&r, 1);
    stop(&r);
    um.remove_device(tb, CP2102_DEV);
    um.object_unref(tb);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(r.kinds[0], FL_USB_ARRIVED);
    ASSERT_STREQ(r.ports[0].tty, "");
    ASSERT_STREQ(r.ports[0].usb_path, "1-2");
    ASSERT_EQ_INT(r.ports[0].interface, -1);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("ESPPROV_UMOCKDEV_WRAPPED") == NULL) {
        setenv("ESPPROV_UMOCKDEV_WRAPPED", "1", 1);
        /* umockdev's preload library comes before a sanitizer runtime. */
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
    struct t_ctx t_main_ = {0};
    RUN(arrival_waits_for_the_tty_then_departure_follows);
    RUN(present_boards_are_reported_and_strangers_ignored);
    RUN(all_flag_reports_unknown_serial_devices);
    RUN(known_board_without_a_tty_is_reported_after_the_wait);
    printf("%d passed, %d failed\n", t_main_.passed, t_main_.failed);
    return t_main_.failed ? 1 : 0;
}
