// Serial console reporting for the espprov reference client.
//
// Every line starts with "espprov: " so it stands out among the cores' own
// boot messages; errors say what failed, hints say what to do about it.
// Values that may be secrets (passwords, tokens, keys) are never printed.
#ifndef ESPPROV_CONSOLE_H
#define ESPPROV_CONSOLE_H

#define CONSOLE_BAUD 115200

void console_begin();

// "espprov: <message>"
void console_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// "espprov: error: <message>"; the text is also kept for console_last_error().
void console_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// "espprov:   hint: <message>", printed after an error.
void console_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// The last error's text ("" if none), so a stopped board can repeat it for
// someone who opens the serial monitor later.
const char *console_last_error();

#endif
