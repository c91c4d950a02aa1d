// The client's life cycle: load everything once, then a non-blocking state
// machine (WiFi -> clock -> MQTT -> online) driven from loop().
#ifndef ESPPROV_APP_H
#define ESPPROV_APP_H

// Where espprov writes the config (profile key paths.config). Override with
// -DESPPROV_CONFIG_PATH=\"/other.json\" if the profile moves it.
#ifndef ESPPROV_CONFIG_PATH
#define ESPPROV_CONFIG_PATH "/config.json"
#endif

void app_setup();
void app_loop();

#endif
