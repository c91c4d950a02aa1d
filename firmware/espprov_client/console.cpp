#include "console.h"

#include <Arduino.h>
#include <stdarg.h>
#include <stdio.h>

// 160 bytes on the stack per call, well inside the ESP8266's 4 KB loop stack.
#define LINE_MAX 160

static char last_error[LINE_MAX];

static void emit(const char *prefix, const char *fmt, va_list ap, char *keep)
{
    char line[LINE_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    Serial.print("espprov: ");
    Serial.print(prefix);
    Serial.println(line);
    if (keep != nullptr) {
        strncpy(keep, line, LINE_MAX - 1);
        keep[LINE_MAX - 1] = '\0';
    }
}

void console_begin()
{
    Serial.begin(CONSOLE_BAUD);
    // Give a USB-serial monitor a moment to attach before the first lines.
    delay(200);
    Serial.println();
}

void console_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap, nullptr);
    va_end(ap);
}

void console_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("error: ", fmt, ap, last_error);
    va_end(ap);
}

void console_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit("  hint: ", fmt, ap, nullptr);
    va_end(ap);
}

const char *console_last_error()
{
    return last_error;
}
