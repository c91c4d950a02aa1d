/*
 * USB IDs that mean "an ESP board is (probably) on the other end": the
 * USB-UART bridges dev boards carry, and the ESP chips' own USB functions.
 * Sources: the protocol reference (esptool and espflash port handling),
 * vendor ID lists. Keep sorted by VID:PID.
 *
 * max_baud, from the bridges' datasheets: FTDI FT232R, FT2232D and FT-X
 * series 3 Mbaud, FT232H/FT2232H 12 Mbaud (FT2232 PID 6010 covers both D
 * and H: the slower); Silicon Labs CP2102/CP2109 1 Mbaud (921600 is the
 * fastest standard rate below it), CP2102N 3 Mbaud (same PID EA60: told
 * apart by the product string), CP2104/CP2105 2 Mbaud; WCH CH340/CH341
 * 2 Mbaud, CH342 3 Mbaud, CH343 6 Mbaud, CH9102 4 Mbaud. The ESP chips' own
 * USB functions move data at USB speed whatever rate is set: 0.
 */
#include <string.h>

#include "flasher/flasher.h"

static const struct fl_usb_model models[] = {
    {0x0403, 0x6001, "ftdi", "FTDI FT232R USB-UART", NULL, 0, 3000000},
    {0x0403, 0x6010, "ftdi", "FTDI FT2232 dual USB-UART/JTAG", NULL, 0, 3000000},
    {0x0403, 0x6014, "ftdi", "FTDI FT232H USB-UART", NULL, 0, 12000000},
    {0x0403, 0x6015, "ftdi", "FTDI FT-X series USB-UART", NULL, 0, 3000000},
    {0x10c4, 0xea60, "cp210x", "Silicon Labs CP210x USB-UART", NULL, 0, 921600},
    {0x10c4, 0xea64, "cp2102c", "Silicon Labs CP2102C USB-UART (CTS tied to RTS)", NULL,
     FL_USB_CTS_RTS_TIED, 0},
    {0x1a86, 0x5523, "ch341", "WCH CH341 USB-UART", NULL, 0, 2000000},
    {0x1a86, 0x55d2, "ch342", "WCH CH342 dual USB-UART", NULL, 0, 3000000},
    {0x1a86, 0x55d3, "ch343", "WCH CH343 USB-UART", NULL, 0, 6000000},
    {0x1a86, 0x55d4, "ch9102", "WCH CH9102 USB-UART", NULL, 0, 4000000},
    {0x1a86, 0x7523, "ch340", "WCH CH340 USB-UART", NULL, 0, 2000000},
    /* ROM download mode over the chip's USB-OTG peripheral: PID = chip id. */
    {0x303a, 0x0002, "esp-rom-otg", "ESP32-S2 ROM USB-OTG download mode", "esp32s2",
     FL_USB_NATIVE | FL_USB_ROM_OTG, 0},
    {0x303a, 0x0009, "esp-rom-otg", "ESP32-S3 ROM USB-OTG download mode", "esp32s3",
     FL_USB_NATIVE | FL_USB_ROM_OTG, 0},
    {0x303a, 0x0012, "esp-rom-otg", "ESP32-P4 ROM USB-OTG download mode", "esp32p4",
     FL_USB_NATIVE | FL_USB_ROM_OTG, 0},
    /* The USB-Serial/JTAG block of C3, S3, C6, H2, C5, P4...: one PID for all. */
    {0x303a, 0x1001, "esp-usb-jtag", "Espressif USB-Serial/JTAG", NULL,
     FL_USB_NATIVE | FL_USB_JTAG_SERIAL, 0},
    /* ESP USB Bridge firmware (an S2/S3 acting as USB-UART for another chip). */
    {0x303a, 0x1002, "esp-usb-bridge", "Espressif ESP USB Bridge", NULL, 0, 0},
};

const struct fl_usb_model *fl_usb_models(size_t *count)
{
    if (count != NULL) {
        *count = sizeof models / sizeof models[0];
    }
    return models;
}

const struct fl_usb_model *fl_usb_model_find(uint16_t vid, uint16_t pid)
{
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        if (models[i].vid == vid && models[i].pid == pid) {
            return &models[i];
        }
    }
    return NULL;
}

uint32_t fl_usb_max_baud(uint16_t vid, uint16_t pid, const char *product)
{
    const struct fl_usb_model *m = fl_usb_model_find(vid, pid);
    if (m == NULL) {
        return 0;
    }
    if (product != NULL && vid == 0x10c4 && pid == 0xea60) {
        if (strstr(product, "CP2102N") != NULL) {
            return 3000000;
        }
        if (strstr(product, "CP2104") != NULL || strstr(product, "CP2105") != NULL) {
            return 2000000;
        }
    }
    return m->max_baud;
}
