/*
 * USB discovery against fake devices: the program re-runs itself under
 * umockdev-run with the sysfs/udev descriptions in tests/data/umockdev/
 * (a CP2102, a CH340 behind a hub, an ESP32-C3's USB-Serial/JTAG, a dual
 * FTDI, a PL2303 nobody knows, a CP2102 without its driver, a keyboard).
 * libusb enumerates them as on real hardware (udev + sysfs descriptors).
 * Not testable here: /dev/serial/by-id links, because umockdev backs a tty
 * node with a symlink to a real pty, so following a link to it ends there.
 */
#include <stdlib.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "flasher/usb_priv.h"
#include "test.h"

static const char *const devices[] = {
    "hub",    "cp2102",           "ch340",    "esp32c3-usb-jtag", "ftdi2232",
    "pl2303", "cp2102-no-driver", "keyboard",
};

static const struct fl_usb_port *by_tty(const struct fl_usb_list *l, const char *tty)
{
    for (size_t i = 0; i < l->count; i++) {
        if (strcmp(l->ports[i].tty, tty) == 0) {
            return &l->ports[i];
        }
    }
    return NULL;
}

TEST(table_knows_the_usual_adapters)
{
    static const uint16_t ids[][2] = {
        {0x10c4, 0xea60}, {0x10c4, 0xea64}, {0x1a86, 0x7523}, {0x1a86, 0x55d4}, {0x1a86, 0x55d3},
        {0x0403, 0x6001}, {0x0403, 0x6010}, {0x0403, 0x6014}, {0x0403, 0x6015}, {0x303a, 0x1001},
        {0x303a, 0x1002}, {0x303a, 0x0002}, {0x303a, 0x0009}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const struct fl_usb_model *m = fl_usb_model_find(ids[i][0], ids[i][1]);
        ASSERT_MSG(m != NULL, "%04x:%04x unknown", ids[i][0], ids[i][1]);
        ASSERT(m->kind != NULL && m->name != NULL);
    }
    ASSERT(fl_usb_model_find(0x303a, 0x1001)->flags & FL_USB_JTAG_SERIAL);
    ASSERT(fl_usb_model_find(0x10c4, 0xea64)->flags & FL_USB_CTS_RTS_TIED);
    ASSERT_STREQ(fl_usb_model_find(0x303a, 0x0009)->chip, "esp32s3");
    ASSERT(fl_usb_model_find(0x046d, 0xc31c) == NULL);
    size_t n = 0;
    const struct fl_usb_model *all = fl_usb_models(&n);
    for (size_t i = 1; i < n; i++) {
        uint32_t a = (uint32_t)all[i - 1].vid << 16 | all[i - 1].pid;
        uint32_t b = (uint32_t)all[i].vid << 16 | all[i].pid;
        ASSERT_MSG(a < b, "table not sorted/unique at %zu", i);
    }
}

TEST(usb_path_names_bus_and_ports)
{
    char out[32];
    static const uint8_t chain[] = {1, 4, 2};
    ASSERT(usb_path_format(3, chain, 3, out, sizeof out));
    ASSERT_STREQ(out, "3-1.4.2");
    ASSERT(!usb_path_format(3, chain, 0, out, sizeof out));
    ASSERT(!usb_path_format(3, chain, 3, out, 4));
}

TEST(lists_known_boards_with_their_ttys)
{
    struct fl_usb_list l;
    struct fl_error err = {0};
    ASSERT_MSG(fl_usb_list(0, &l, &err) == FL_OK, "%s", err.msg);
    const struct fl_usb_port *cp = by_tty(&l, "/dev/ttyUSB0");
    const struct fl_usb_port *ch = by_tty(&l, "/dev/ttyUSB1");
    const struct fl_usb_port *jtag = by_tty(&l, "/dev/ttyACM0");
    const struct fl_usb_port *ftdi_a = by_tty(&l, "/dev/ttyUSB2");
    const struct fl_usb_port *ftdi_b = by_tty(&l, "/dev/ttyUSB3");
    bool has_unknown = by_tty(&l, "/dev/ttyUSB4") != NULL;
    size_t count = l.count;
    struct fl_usb_port last = count ? l.ports[count - 1] : (struct fl_usb_port){0};
    struct fl_usb_port c = cp ? *cp : (struct fl_usb_port){0};
    struct fl_usb_port h = ch ? *ch : (struct fl_usb_port){0};
    struct fl_usb_port j = jtag ? *jtag : (struct fl_usb_port){0};
    int fa = ftdi_a ? ftdi_a->interface : -9, fb = ftdi_b ? ftdi_b->interface : -9;
    fl_usb_list_free(&l);
    ASSERT_EQ_INT(count, 6);
    EXPECT(!has_unknown);
    ASSERT(cp && ch && jtag && ftdi_a && ftdi_b);
    ASSERT_EQ_UINT(c.vid, 0x10c4);
    ASSERT_EQ_UINT(c.pid, 0xea60);
    ASSERT_STREQ(c.model->kind, "cp210x");
    ASSERT_STREQ(c.serial, "0001");
    ASSERT_STREQ(c.manufacturer, "Silicon Labs");
    ASSERT_STREQ(c.usb_path, "1-2");
    ASSERT_EQ_INT(c.bus, 1);
    ASSERT_EQ_INT(c.address, 5);
    ASSERT_EQ_INT(c.interface, 0);
    EXPECT(c.tty_accessible);
    ASSERT_STREQ(h.model->kind, "ch340");
    ASSERT_STREQ(h.usb_path, "1-1.3");
    ASSERT_STREQ(h.serial, "");
    ASSERT_STREQ(j.model->kind, "esp-usb-jtag");
    ASSERT(j.model->flags & FL_USB_NATIVE);
    ASSERT_STREQ(j.serial, "84:F7:03:12:34:56");
    ASSERT_STREQ(j.usb_path, "1-1.4");
    ASSERT_EQ_INT(fa, 0);
    ASSERT_EQ_INT(fb, 1);
    /* The CP2102 whose driver never bound: listed, last, without a tty. */
    ASSERT_STREQ(last.tty, "");
    ASSERT_STREQ(last.usb_path, "3-3");
    ASSERT_STREQ(last.serial, "0002");
}

TEST(all_adds_unknown_serial_devices_only)
{
    struct fl_usb_list l;
    struct fl_error err = {0};
    ASSERT_MSG(fl_usb_list(FL_USB_LIST_ALL, &l, &err) == FL_OK, "%s", err.msg);
    const struct fl_usb_port *pl = by_tty(&l, "/dev/ttyUSB4");
    struct fl_usb_port p = pl ? *pl : (struct fl_usb_port){0};
    size_t count = l.count;
    bool keyboard = false;
    for (size_t i = 0; i < l.count; i++) {
        keyboard |= l.ports[i].vid == 0x046d;
    }
    fl_usb_list_free(&l);
    ASSERT_EQ_INT(count, 7);
    ASSERT(pl != NULL);
    ASSERT(p.model == NULL);
    ASSERT_EQ_UINT(p.vid, 0x067b);
    ASSERT_STREQ(p.product, "USB-Serial Controller");
    EXPECT(!keyboard);
}

TEST(identifies_a_tty)
{
    struct fl_usb_port p;
    struct fl_error err = {0};
    ASSERT_MSG(fl_usb_identify_tty("/dev/ttyUSB1", &p, &err) == FL_OK, "%s", err.msg);
    ASSERT_EQ_UINT(p.vid, 0x1a86);
    ASSERT_EQ_UINT(p.pid, 0x7523);
    ASSERT_STREQ(p.usb_path, "1-1.3");
    ASSERT_STREQ(p.tty, "/dev/ttyUSB1");
    ASSERT_EQ_INT(p.interface, 0);
    ASSERT_MSG(fl_usb_identify_tty("ttyACM0", &p, &err) == FL_OK, "%s", err.msg);
    ASSERT_EQ_UINT(p.pid, 0x1001);
    ASSERT_STREQ(p.tty, "/dev/ttyACM0");
    ASSERT_MSG(fl_usb_identify_tty("/dev/ttyUSB3", &p, &err) == FL_OK, "%s", err.msg);
    ASSERT_EQ_INT(p.interface, 1);
    ASSERT_STREQ(p.serial, "FT2232X9");
}

TEST(a_pty_or_missing_port_is_not_usb)
{
    struct fl_usb_port p;
    struct fl_error err = {0};
    ASSERT_EQ_INT(fl_usb_identify_tty("/dev/null", &p, &err), FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "not a USB serial port");
    ASSERT_EQ_UINT(p.vid, 0);
    ASSERT_EQ_INT(fl_usb_identify_tty("/dev/ttyUSB9", &p, &err), FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no such serial port");
    ASSERT(err.hint[0] != '\0');
}

static int run_tests(void)
{
    struct t_ctx t_main_ = {0};
    RUN(table_knows_the_usual_adapters);
    RUN(usb_path_names_bus_and_ports);
    RUN(lists_known_boards_with_their_ttys);
    RUN(all_adds_unknown_serial_devices_only);
    RUN(identifies_a_tty);
    RUN(a_pty_or_missing_port_is_not_usb);
    printf("%d passed, %d failed\n", t_main_.passed, t_main_.failed);
    return t_main_.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("UMOCKDEV_DIR") != NULL) {
        return run_tests();
    }
    /* umockdev's preload library comes before a sanitizer runtime. */
    setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
    static char paths[sizeof devices / sizeof devices[0]][128];
    static char prog[] = "umockdev-run", dashes[] = "--";
    char *args[2 * (sizeof devices / sizeof devices[0]) + 4];
    size_t n = 0;
    args[n++] = prog;
    for (size_t i = 0; i < sizeof devices / sizeof devices[0]; i++) {
        snprintf(paths[i], sizeof paths[i], "--device=tests/data/umockdev/%s.umockdev", devices[i]);
        args[n++] = paths[i];
    }
    args[n++] = dashes;
    args[n++] = argv[0];
    args[n] = NULL;
    execvp(args[0], args);
    printf("FAIL umockdev: cannot run umockdev-run (install the Debian package umockdev)\n");
    return 1;
}
