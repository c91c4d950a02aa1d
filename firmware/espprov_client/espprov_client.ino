// espprov reference client: the device side of what `espprov provision` writes.
//
// On boot it mounts the filesystem, reads /config.json (format: profiles/README.md
// in the espprov repository), loads the CA certificate, device certificate and
// key, joins WiFi, sets the clock by NTP, connects to the MQTT broker with
// mutual TLS and publishes a status message; it reconnects with back-off and
// says on the serial console (115200 baud) what is missing or wrong.
//
// Builds with the ESP8266 and ESP32 Arduino cores; needs the PubSubClient
// library (2.8 or later). See README.md next to this file.
//
// The work is in app.cpp: the Arduino IDE rewrites .ino files (it adds
// prototypes), plain .cpp files are compiled as written.
#include "app.h"

void setup()
{
    app_setup();
}

void loop()
{
    app_loop();
}
