#include "app.h"

#include <Arduino.h>
#include <PubSubClient.h>
#include <string.h>
#include <time.h>
#if defined(ESP8266)
#include <ESP8266WiFi.h>
#elif defined(ESP32)
#include <WiFi.h>
// esp_random() moved to its own header in ESP-IDF 5 (Arduino-ESP32 3.x).
#if __has_include(<esp_random.h>)
#include <esp_random.h>
#else
#include <esp_system.h>
#endif
#else
#error "espprov_client builds for the ESP8266 and ESP32 Arduino cores only"
#endif

#include "console.h"
#include "device_fs.h"
#include "src/fwconfig.h"
#include "tls_client.h"

#if defined(ESP8266)
#define CHIP "ESP8266"
#else
#define CHIP "ESP32"
#endif

#define WIFI_JOIN_MS          20000UL // one join attempt before backing off
#define REPORT_EVERY_MS       30000UL // repeat "clock not set" / "stopped"
#define STATUS_EVERY_MS       60000UL // heartbeat on the status topic
#define MQTT_KEEPALIVE_S      30
#define MQTT_SOCKET_TIMEOUT_S 20 // an EC handshake takes seconds on the ESP8266

// All of this is static, never on the stack: the config alone is about 3.4 KB
// and the ESP8266 runs loop() on a 4 KB stack.
static char config_text[FWC_FILE_MAX + 1];
static struct fwc_config cfg;
static PubSubClient mqtt;
static const char *status_topic;
// The id may be escaped to 6 bytes per byte in JSON; the rest is short.
static char will_text[FWC_ID_MAX * 6 + 48];
static char status_text[FWC_ID_MAX * 6 + 160];

enum phase { STOPPED, WIFI_JOINING, CLOCK_WAIT, MQTT_CONNECTING, ONLINE };

static struct {
    enum phase phase;
    unsigned long since;       // millis() when the phase began
    unsigned long next_try;    // millis() of the next attempt
    unsigned long last_report; // millis() of the last repeated message
    unsigned long last_status; // millis() of the last status publish
    bool wifi_waiting;         // between join attempts
    bool ntp_started;
    uint32_t wifi_attempts, mqtt_attempts, reconnects;
} app;

// ---- small helpers ----------------------------------------------------------

static unsigned long since_ms(unsigned long t)
{
    return millis() - t; // unsigned arithmetic survives the 49-day wrap
}

static bool due(unsigned long t)
{
    return static_cast<long>(millis() - t) >= 0;
}

static void enter(enum phase p)
{
    app.phase = p;
    app.since = millis();
    app.last_report = millis();
}

static uint32_t hw_random()
{
#if defined(ESP8266)
    return ESP.random();
#else
    return esp_random();
#endif
}

static bool clock_set()
{
    return time(nullptr) >= FWC_MIN_EPOCH;
}

static void ip_text(char *buf, size_t cap)
{
    IPAddress ip = WiFi.localIP();
    snprintf(buf, cap, "%u.%u.%u.%u", ip[0], ip[1], ip[2], ip[3]);
}

static const char *wifi_status_text(int status)
{
    switch (status) {
    case WL_NO_SSID_AVAIL:
        return "network not found";
    case WL_CONNECT_FAILED:
        return "the access point refused (wrong password?)";
#if defined(ESP8266)
    case WL_WRONG_PASSWORD:
        return "wrong password";
#endif
    case WL_CONNECTION_LOST:
        return "connection lost";
    case WL_DISCONNECTED:
        return "no answer from an access point";
    default:
        return "not connected";
    }
}

static const char *mqtt_state_text(int state)
{
    switch (state) {
    case MQTT_CONNECTION_TIMEOUT:
        return "the broker stopped answering";
    case MQTT_CONNECTION_LOST:
        return "the connection dropped";
    case MQTT_CONNECT_FAILED:
        return "no TCP/TLS connection";
    case MQTT_CONNECT_BAD_PROTOCOL:
        return "the broker refused MQTT 3.1.1";
    case MQTT_CONNECT_BAD_CLIENT_ID:
        return "the broker refused the client id";
    case MQTT_CONNECT_UNAVAILABLE:
        return "the broker is unavailable";
    case MQTT_CONNECT_BAD_CREDENTIALS:
        return "the broker refused the user name or password";
    case MQTT_CONNECT_UNAUTHORIZED:
        return "the broker refused: not authorized";
    default:
        return "disconnected";
    }
}

// ---- loading, once at boot ------------------------------------------------

static bool load_config()
{
    if (!devfs_mount()) {
        console_error("the filesystem does not mount");
        console_hint("build with the flash layout (ESP8266: Flash Size, ESP32: Partition Scheme)"
                     " whose filesystem is where the profile's filesystem.offset/size put it");
        return false;
    }
    size_t len = 0;
    devfs_result r = devfs_read(ESPPROV_CONFIG_PATH, config_text, sizeof config_text, &len);
    if (r == DEVFS_MISSING) {
        console_error("no config file %s on the filesystem", ESPPROV_CONFIG_PATH);
        console_hint("provision this board with `espprov provision` (or flash an image from "
                     "`espprov image`); files present:");
        devfs_list();
        return false;
    }
    if (r == DEVFS_TOO_BIG) {
        console_error("config file %s is %u bytes; the format allows at most %u",
                      ESPPROV_CONFIG_PATH, static_cast<unsigned>(len), FWC_FILE_MAX);
        return false;
    }
    if (r != DEVFS_OK) {
        console_error("config file %s %s", ESPPROV_CONFIG_PATH, devfs_result_text(r));
        return false;
    }
    struct fwc_error err;
    enum fwc_err rc = fwc_parse(config_text, len, &cfg, &err);
    // The raw text holds the WiFi and MQTT passwords in clear.
    memset(config_text, 0, sizeof config_text);
    if (rc != FWC_OK) {
        console_error("%s: %s", ESPPROV_CONFIG_PATH, err.msg);
        if (rc == FWC_ERR_VERSION) {
            console_hint("this firmware reads config format 1: update the firmware or use a "
                         "matching espprov");
        } else {
            console_hint("espprov writes this file (format: profiles/README.md); re-provision "
                         "the board rather than editing it");
        }
        return false;
    }
    return true;
}

static void print_summary()
{
    size_t wpa = strlen(cfg.wifi.password);
    console_info("device %s on %s, %u bytes of heap free", cfg.id, CHIP,
                 static_cast<unsigned>(ESP.getFreeHeap()));
    console_info("wifi \"%s\" (%s)", cfg.wifi.ssid,
                 wpa == 0    ? "open network"
                 : wpa == 64 ? "WPA PSK"
                             : "WPA passphrase");
    console_info("broker %s:%u, client id %s, user %s, password %s", cfg.mqtt.host, cfg.mqtt.port,
                 cfg.mqtt.client_id, cfg.mqtt.username[0] ? cfg.mqtt.username : "(none)",
                 cfg.mqtt.password[0] ? "(set)"
                 : cfg.mqtt.token[0]  ? "(token)"
                                      : "(none)");
    console_info("status topic %s", status_topic);
    console_info("tls %s: ca %s, cert %s, key %s", cfg.tls.format == FWC_TLS_DER ? "der" : "pem",
                 cfg.tls.ca, cfg.tls.cert, cfg.tls.key);
    console_info("ntp %s %s %s", fwc_ntp_server(&cfg, 0),
                 fwc_ntp_server(&cfg, 1) ? fwc_ntp_server(&cfg, 1) : "",
                 fwc_ntp_server(&cfg, 2) ? fwc_ntp_server(&cfg, 2) : "");
}

// What the config allows but this client cannot use.
static bool check_config()
{
    if (strpbrk(status_topic, "+#") != nullptr) {
        console_error("mqtt.topics.status has a wildcard (+ or #): nothing can be published there");
        return false;
    }
    if (cfg.mqtt.username[0] == '\0' && fwc_mqtt_password(&cfg) != nullptr) {
        // MQTT 3.1.1 sends a password only together with a user name.
        console_info("warning: mqtt password/token set without mqtt.username: it is not sent");
    }
    return true;
}

static bool setup_mqtt()
{
    struct fwc_status will = {cfg.id, "offline", nullptr, 0, 0, 0};
    if (fwc_status_json(will_text, sizeof will_text, &will) == 0) {
        console_error("the status message does not fit its buffer");
        return false;
    }
    size_t need = fwc_mqtt_buffer_size(&cfg, strlen(will_text), sizeof status_text);
    mqtt.setClient(tls_client());
    mqtt.setServer(cfg.mqtt.host, cfg.mqtt.port);
    mqtt.setKeepAlive(MQTT_KEEPALIVE_S);
    mqtt.setSocketTimeout(MQTT_SOCKET_TIMEOUT_S);
    if (!mqtt.setBufferSize(static_cast<uint16_t>(need))) {
        console_error("no memory for a %u-byte MQTT buffer", static_cast<unsigned>(need));
        return false;
    }
    return true;
}

static void start_wifi()
{
    WiFi.persistent(false); // the config file is the source; spare the flash
    WiFi.mode(WIFI_STA);
    WiFi.setAutoReconnect(true);
    WiFi.begin(cfg.wifi.ssid, cfg.wifi.password[0] ? cfg.wifi.password : nullptr);
    console_info("wifi: joining \"%s\"", cfg.wifi.ssid);
    app.wifi_waiting = false;
    enter(WIFI_JOINING);
}

// ---- the running states -----------------------------------------------------

static void publish_status(bool announce)
{
    char ip[16];
    ip_text(ip, sizeof ip);
    struct fwc_status s = {cfg.id,
                           "online",
                           ip,
                           static_cast<int32_t>(WiFi.RSSI()),
                           static_cast<uint32_t>(millis() / 1000),
                           app.reconnects};
    app.last_status = millis();
    if (fwc_status_json(status_text, sizeof status_text, &s) == 0 ||
        !mqtt.publish(status_topic, status_text, true)) {
        console_error("mqtt: publishing to %s failed", status_topic);
        return;
    }
    if (announce) {
        console_info("mqtt: published %s", status_text);
    }
}

static void step_wifi()
{
    if (WiFi.status() == WL_CONNECTED) {
        char ip[16];
        ip_text(ip, sizeof ip);
        console_info("wifi: connected, address %s, signal %d dBm", ip,
                     static_cast<int>(WiFi.RSSI()));
        app.wifi_attempts = 0;
        if (!app.ntp_started) {
            // The SNTP client keeps these pointers: cfg is static.
            configTime(0, 0, fwc_ntp_server(&cfg, 0), fwc_ntp_server(&cfg, 1),
                       fwc_ntp_server(&cfg, 2));
            app.ntp_started = true;
        }
        enter(clock_set() ? MQTT_CONNECTING : CLOCK_WAIT);
        app.next_try = millis();
        return;
    }
    if (app.wifi_waiting) {
        if (due(app.next_try)) {
            console_info("wifi: joining \"%s\" (attempt %u)", cfg.wifi.ssid,
                         static_cast<unsigned>(app.wifi_attempts + 1));
            WiFi.begin(cfg.wifi.ssid, cfg.wifi.password[0] ? cfg.wifi.password : nullptr);
            app.wifi_waiting = false;
            enter(WIFI_JOINING);
        }
        return;
    }
    if (since_ms(app.since) < WIFI_JOIN_MS) {
        return;
    }
    int status = WiFi.status();
    console_error("wifi: cannot join \"%s\": %s", cfg.wifi.ssid, wifi_status_text(status));
    if (status == WL_NO_SSID_AVAIL) {
        console_hint("out of range, or wifi.ssid in the profile is wrong (2.4 GHz networks only)");
    } else if (status == WL_CONNECT_FAILED) {
        console_hint("check wifi.password in the profile");
    }
    uint32_t wait = fwc_backoff_ms(app.wifi_attempts++, hw_random());
    console_info("wifi: next attempt in %lu s", static_cast<unsigned long>(wait / 1000));
    WiFi.disconnect();
    app.wifi_waiting = true;
    app.next_try = millis() + wait;
}

static void step_clock()
{
    if (WiFi.status() != WL_CONNECTED) {
        console_info("wifi: lost while waiting for the clock");
        enter(WIFI_JOINING);
        return;
    }
    if (clock_set()) {
        time_t now = time(nullptr);
        struct tm utc;
        char when[32];
        gmtime_r(&now, &utc);
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &utc);
        console_info("clock: %s UTC (NTP)", when);
        enter(MQTT_CONNECTING);
        app.next_try = millis();
        return;
    }
    if (since_ms(app.last_report) >= REPORT_EVERY_MS) {
        app.last_report = millis();
        console_error("clock not set: no NTP answer from %s after %lu s", fwc_ntp_server(&cfg, 0),
                      since_ms(app.since) / 1000);
        console_hint("TLS checks the broker certificate's dates against the clock; the board "
                     "needs UDP port 123 to the profile's ntp servers");
    }
}

static void report_mqtt_failure(int state)
{
    if (state == MQTT_CONNECT_FAILED) {
        if (!tls_report_error()) {
            console_error("mqtt: no connection to %s:%u", cfg.mqtt.host, cfg.mqtt.port);
            console_hint("is the broker running and reachable on that port from this network?");
        }
        return;
    }
    console_error("mqtt: %s (state %d)", mqtt_state_text(state), state);
    if (state == MQTT_CONNECT_BAD_CREDENTIALS || state == MQTT_CONNECT_UNAUTHORIZED) {
        console_hint("check the broker's users/ACL for client id %s (mqtt.username, "
                     "password/token in the profile)",
                     cfg.mqtt.client_id);
    }
}

static void step_mqtt_connect()
{
    if (WiFi.status() != WL_CONNECTED) {
        console_info("wifi: lost");
        enter(WIFI_JOINING);
        return;
    }
    if (!due(app.next_try)) {
        return;
    }
    if (!clock_set()) {
        enter(CLOCK_WAIT);
        return;
    }
    tls_tune_buffers(cfg.mqtt.host, cfg.mqtt.port);
    tls_set_time(time(nullptr));
    console_info("mqtt: connecting to %s:%u", cfg.mqtt.host, cfg.mqtt.port);
    const char *user = cfg.mqtt.username[0] ? cfg.mqtt.username : nullptr;
    const char *pass = user ? fwc_mqtt_password(&cfg) : nullptr;
    // Will: the broker publishes "offline" (retained) if we vanish.
    if (mqtt.connect(cfg.mqtt.client_id, user, pass, status_topic, 1, true, will_text)) {
        console_info("mqtt: connected (mutual TLS, broker certificate verified)");
        app.mqtt_attempts = 0;
        enter(ONLINE);
        publish_status(true);
        return;
    }
    report_mqtt_failure(mqtt.state());
    uint32_t wait = fwc_backoff_ms(app.mqtt_attempts++, hw_random());
    console_info("mqtt: next attempt in %lu s", static_cast<unsigned long>(wait / 1000));
    app.next_try = millis() + wait;
}

static void step_online()
{
    if (!mqtt.loop()) {
        console_error("mqtt: %s", mqtt_state_text(mqtt.state()));
        app.reconnects++;
        enter(MQTT_CONNECTING);
        app.next_try = millis() + fwc_backoff_ms(0, hw_random());
        return;
    }
    if (since_ms(app.last_status) >= STATUS_EVERY_MS) {
        publish_status(false);
    }
}

// ---- entry points -------------------------------------------------------------

void app_setup()
{
    console_begin();
    console_info("reference client starting (config %s)", ESPPROV_CONFIG_PATH);
    bool ok = load_config();
    if (ok) {
        status_topic = fwc_topic(&cfg, "status");
        print_summary();
        ok = check_config() && tls_begin(cfg) && setup_mqtt();
    }
    if (!ok) {
        console_info("stopped: fix the problem above, then reset the board");
        enter(STOPPED);
        return;
    }
    start_wifi();
}

void app_loop()
{
    switch (app.phase) {
    case STOPPED:
        if (since_ms(app.last_report) >= REPORT_EVERY_MS) {
            app.last_report = millis();
            console_info("stopped: %s", console_last_error());
        }
        delay(100);
        break;
    case WIFI_JOINING:
        step_wifi();
        break;
    case CLOCK_WAIT:
        step_clock();
        break;
    case MQTT_CONNECTING:
        step_mqtt_connect();
        break;
    case ONLINE:
        step_online();
        break;
    }
}
