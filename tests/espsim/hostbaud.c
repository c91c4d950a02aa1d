/*
 * The line rate the host set on the pty. Linux keeps one termios for the
 * pair, so the master sees what the host's tcsetattr (or termios2 BOTHER
 * rate) put on the slave. Kept in its own file: <asm/termbits.h> cannot be
 * mixed with <termios.h>.
 */
#include <asm/termbits.h>
#include <stdint.h>
#include <sys/ioctl.h>

uint32_t sim_hostbaud(int fd);

uint32_t sim_hostbaud(int fd)
{
    struct termios2 t;
    if (fd < 0 || ioctl(fd, TCGETS2, &t) != 0) {
        return 0;
    }
    return t.c_ospeed;
}
