/* espprov ports: the USB serial boards that are plugged in. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "flasher/flasher.h"
#include "provision/cli/cli.h"

static const char usage[] =
    "usage: espprov ports [--all] [--json]\n"
    "\n"
    "Lists the ESP boards plugged in over USB: boards with a USB-UART bridge\n"
    "(CP210x, CH34x/CH9102, FTDI) and ESP chips on their own USB (USB-Serial/JTAG,\n"
    "ROM USB-OTG download mode). Each line: the serial port to give to --port, its\n"
    "USB VID:PID, the adapter kind, the USB serial number and the USB path (bus and\n"
    "hub ports, which stays the same for the same socket).\n"
    "\n"
    "  -a, --all    every USB device that has a serial port, known or not\n"
    "  -j, --json   print a JSON array (fields: tty, vid, pid, kind, description,\n"
    "               chip, native_usb, serial, manufacturer, product, usb_path, bus,\n"
    "               address, interface, accessible)\n"
    "  -h, --help   show this help\n";

static const char *dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static const char *description(const struct fl_usb_port *p)
{
    if (p->model != NULL) {
        return p->model->name;
    }
    return p->product[0] ? p->product : "unknown USB serial device";
}

/* The Linux driver that should have bound a tty, for the hint. */
static const char *driver_for(const struct fl_usb_model *m)
{
    if (strcmp(m->kind, "cp210x") == 0 || strcmp(m->kind, "cp2102c") == 0) {
        return "cp210x";
    }
    if (strcmp(m->kind, "ch340") == 0 || strcmp(m->kind, "ch341") == 0) {
        return "ch341";
    }
    if (strcmp(m->kind, "ftdi") == 0) {
        return "ftdi_sio";
    }
    return "cdc_acm";
}

static void json_opt_string(const char *key, const char *value, bool last)
{
    printf("\"%s\": ", key);
    if (value != NULL && value[0] != '\0') {
        cli_json_string(stdout, value);
    } else {
        fputs("null", stdout);
    }
    fputs(last ? "" : ", ", stdout);
}

static void print_json(const struct fl_usb_list *list)
{
    fputs("[", stdout);
    for (size_t i = 0; i < list->count; i++) {
        const struct fl_usb_port *p = &list->ports[i];
        char vid[8], pid[8];
        snprintf(vid, sizeof vid, "%04x", p->vid);
        snprintf(pid, sizeof pid, "%04x", p->pid);
        fputs(i ? ",\n  {" : "\n  {", stdout);
        json_opt_string("tty", p->tty, false);
        json_opt_string("vid", vid, false);
        json_opt_string("pid", pid, false);
        json_opt_string("kind", p->model ? p->model->kind : NULL, false);
        json_opt_string("description", description(p), false);
        json_opt_string("chip", p->model ? p->model->chip : NULL, false);
        printf("\"native_usb\": %s, ",
               p->model && (p->model->flags & FL_USB_NATIVE) ? "true" : "false");
        json_opt_string("serial", p->serial, false);
        json_opt_string("manufacturer", p->manufacturer, false);
        json_opt_string("product", p->product, false);
        json_opt_string("usb_path", p->usb_path, false);
        printf("\"bus\": %u, \"address\": %u, \"interface\": ", p->bus, p->address);
        if (p->interface >= 0) {
            printf("%d, ", p->interface);
        } else {
            fputs("null, ", stdout);
        }
        printf("\"accessible\": %s}", p->tty[0] && p->tty_accessible ? "true" : "false");
    }
    fputs(list->count ? "\n]\n" : "]\n", stdout);
}

static void print_table(const struct fl_usb_list *list)
{
    printf("%-14s %-9s  %-14s %-20s %-10s %s\n", "TTY", "VID:PID", "KIND", "SERIAL", "USB PATH",
           "DESCRIPTION");
    for (size_t i = 0; i < list->count; i++) {
        const struct fl_usb_port *p = &list->ports[i];
        printf("%-14s %04x:%04x  %-14s %-20s %-10s %s\n", p->tty[0] ? p->tty : "(no tty)", p->vid,
               p->pid, p->model ? p->model->kind : "-", dash(p->serial), p->usb_path,
               description(p));
    }
}

/* Ports that exist but cannot be used yet: say why, once each. */
static void warn_unusable(const struct fl_usb_list *list)
{
    bool denied = false;
    for (size_t i = 0; i < list->count; i++) {
        const struct fl_usb_port *p = &list->ports[i];
        if (p->tty[0] == '\0' && p->model != NULL) {
            cli_warn("%s at USB %s has no serial port: is the %s driver loaded? (see `dmesg`%s)",
                     p->model->name, p->usb_path, driver_for(p->model),
                     strcmp(driver_for(p->model), "cp210x") == 0 ||
                             strcmp(driver_for(p->model), "ch341") == 0
                         ? "; on Ubuntu, brltty can claim these adapters: remove it"
                         : "");
        } else if (p->tty[0] != '\0' && !p->tty_accessible) {
            cli_warn("%s: no read/write permission", p->tty);
            denied = true;
        }
    }
    if (denied) {
        fprintf(stderr, "hint: add yourself to the group owning the port (usually dialout: "
                        "`sudo usermod -aG dialout $USER`, then log in again), or add a udev "
                        "rule\n");
    }
}

int cmd_ports(int argc, char **argv, struct cli_ctx *ctx)
{
    (void)ctx;
    static const struct option opts[] = {{"all", no_argument, NULL, 'a'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool all = false, json = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ajh", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            all = true;
            break;
        case 'j':
            json = true;
            break;
        case 'h':
            return cli_help(usage);
        default:
            return cli_usage_error(usage, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return cli_usage_error(usage, "unexpected argument '%s'", argv[optind]);
    }
    struct fl_usb_list list;
    struct fl_error err = {0};
    if (fl_usb_list(all ? FL_USB_LIST_ALL : 0, &list, &err) != FL_OK) {
        return cli_fail(err.hint, "%s", err.msg);
    }
    if (json) {
        print_json(&list);
    } else if (list.count == 0) {
        fprintf(stderr, "espprov: no %s found over USB\n", all ? "USB serial ports" : "ESP boards");
        fprintf(stderr, "hint: plug a board in with a data cable (not a charge-only one)%s\n",
                all ? "; `dmesg` shows whether the kernel saw it"
                    : "; `espprov ports --all` lists every USB serial port");
    } else {
        print_table(&list);
    }
    warn_unusable(&list);
    fl_usb_list_free(&list);
    return cli_finish(CLI_OK);
}
