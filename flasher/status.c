/* Names and texts: ROM/stub status codes, error codes, opcodes. */
#include "flasher/flasher_priv.h"

struct code_text {
    uint8_t code;
    const char *text;
};

/* esp-protocol.md §1.4: byte 1 of a ROM failure status. */
static const struct code_text rom_codes[] = {
    {0x00, "undefined error"},
    {0x01, "invalid input parameter"},
    {0x02, "out of memory in the ROM"},
    {0x03, "send failed"},
    {0x04, "receive failed"},
    {0x05, "malformed or unsupported command"},
    {0x06, "command ran but the result is wrong (beyond the configured flash size?)"},
    {0x07, "data checksum mismatch"},
    {0x08, "flash write error (read-back mismatch)"},
    {0x09, "flash read error"},
    {0x0A, "flash read length error"},
    {0x0B, "inflate failed"},
    {0x0C, "inflate Adler-32 mismatch"},
    {0x0D, "inflate parameter error"},
    {0x0E, "invalid RAM binary size"},
    {0x0F, "invalid RAM binary address"},
    {0x64, "invalid parameter"},
    {0x65, "invalid format"},
    {0x66, "description too long"},
    {0x67, "bad encoding description"},
    {0x69, "insufficient storage"},
};

/* Byte 0 of a stub failure status. */
static const struct code_text stub_codes[] = {
    {0xC0, "bad data length"},
    {0xC1, "bad data checksum"},
    {0xC2, "bad block size"},
    {0xC3, "invalid command"},
    {0xC4, "SPI flash operation failed"},
    {0xC5, "SPI flash unlock failed"},
    {0xC6, "not in flash mode (data without begin)"},
    {0xC7, "inflate error"},
    {0xC8, "not enough data"},
    {0xC9, "too much data"},
    {0xCA, "NAND program failed"},
    {0xCB, "NAND erase failed"},
    {0xEE, "frame too large for the stub's buffer"},
    {0xFF, "command not implemented"},
};

static const char *lookup(const struct code_text *t, size_t n, uint8_t code)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].code == code) {
            return t[i].text;
        }
    }
    return NULL;
}

const char *fl_status_text(bool stub, uint8_t code)
{
    const char *text = stub ? lookup(stub_codes, sizeof stub_codes / sizeof stub_codes[0], code)
                            : lookup(rom_codes, sizeof rom_codes / sizeof rom_codes[0], code);
    return text ? text : (stub ? "unknown stub error" : "unknown ROM error");
}

const char *fl_strerror(int code)
{
    switch (code) {
    case FL_OK:
        return "success";
    case FL_ERR_IO:
        return "I/O error";
    case FL_ERR_TIMEOUT:
        return "timeout";
    case FL_ERR_PROTO:
        return "protocol error";
    case FL_ERR_ROM:
        return "loader error";
    case FL_ERR_UNSUPPORTED:
        return "not supported";
    case FL_ERR_INVALID:
        return "invalid argument";
    case FL_ERR_VERIFY:
        return "verification failed";
    case FL_ERR_NO_LINES:
        return "no modem lines";
    case FL_ERR_NOT_FOUND:
        return "not found";
    case FL_ERR_PERM:
        return "permission denied";
    case FL_ERR_BUSY:
        return "busy";
    case FL_ERR_NOMEM:
        return "out of memory";
    case FL_ERR_CANCELLED:
        return "cancelled";
    default:
        return "unknown error";
    }
}

const char *fl_op_name(uint8_t op)
{
    switch (op) {
    case FL_OP_FLASH_BEGIN:
        return "FLASH_BEGIN";
    case FL_OP_FLASH_DATA:
        return "FLASH_DATA";
    case FL_OP_FLASH_END:
        return "FLASH_END";
    case FL_OP_MEM_BEGIN:
        return "MEM_BEGIN";
    case FL_OP_MEM_END:
        return "MEM_END";
    case FL_OP_MEM_DATA:
        return "MEM_DATA";
    case FL_OP_SYNC:
        return "SYNC";
    case FL_OP_WRITE_REG:
        return "WRITE_REG";
    case FL_OP_READ_REG:
        return "READ_REG";
    case FL_OP_SPI_SET_PARAMS:
        return "SPI_SET_PARAMS";
    case FL_OP_SPI_ATTACH:
        return "SPI_ATTACH";
    case FL_OP_READ_FLASH_SLOW:
        return "READ_FLASH_SLOW";
    case FL_OP_CHANGE_BAUDRATE:
        return "CHANGE_BAUDRATE";
    case FL_OP_FLASH_DEFL_BEGIN:
        return "FLASH_DEFL_BEGIN";
    case FL_OP_FLASH_DEFL_DATA:
        return "FLASH_DEFL_DATA";
    case FL_OP_FLASH_DEFL_END:
        return "FLASH_DEFL_END";
    case FL_OP_SPI_FLASH_MD5:
        return "SPI_FLASH_MD5";
    case FL_OP_GET_SECURITY_INFO:
        return "GET_SECURITY_INFO";
    case FL_OP_ERASE_FLASH:
        return "ERASE_FLASH";
    case FL_OP_ERASE_REGION:
        return "ERASE_REGION";
    case FL_OP_READ_FLASH:
        return "READ_FLASH";
    case FL_OP_RUN_USER_CODE:
        return "RUN_USER_CODE";
    default:
        return "?";
    }
}
