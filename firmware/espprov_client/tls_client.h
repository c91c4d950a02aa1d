// The mutual-TLS client the MQTT connection runs over, set up from the files
// espprov provisioned: the CA certificate (trust anchor for the broker), the
// device certificate and its private key.
//
// ESP8266: BearSSL::WiFiClientSecure with X509List/PrivateKey, which accept
// DER or PEM and copy what they parse. ESP32: Arduino's WiFiClientSecure
// (mbedTLS), which takes NUL-terminated PEM and keeps the pointers, so those
// buffers live for the whole run.
#ifndef ESPPROV_TLS_CLIENT_H
#define ESPPROV_TLS_CLIENT_H

#include <Client.h>
#include <time.h>

#include "src/fwconfig.h"

// Loads and checks the three files named in cfg.tls. Prints what is wrong
// (missing file, wrong encoding, encrypted or unusable key) and returns false.
bool tls_begin(const struct fwc_config &cfg);

// The client PubSubClient talks through.
Client &tls_client();

// Hands the NTP time to the TLS stack before a connect: the broker
// certificate's validity dates are checked against it (BearSSL always).
void tls_set_time(time_t now);

// ESP8266 only: asks the broker once whether it accepts 1 KB TLS fragments
// (MFLN) and, if so, shrinks the 16 KB receive buffer. No-op on ESP32.
void tls_tune_buffers(const char *host, uint16_t port);

// Prints the last TLS failure with a hint; returns false if there was none.
bool tls_report_error();

#endif
