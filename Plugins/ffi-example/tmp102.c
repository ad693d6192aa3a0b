/* A complete Ferry driver in the simple tier: build with
   cc -shared -fPIC -o libtmp102.so tmp102.c -li2c   (Debian: apt-get install libi2c-dev) */
#include <fcntl.h>
#include <i2c/smbus.h>
#include <linux/i2c-dev.h>
#include <math.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

double tmp102_celsius(int bus, int addr) {
    char path[32];
    snprintf(path, sizeof path, "/dev/i2c-%d", bus);
    int fd = open(path, O_RDWR);
    if (fd < 0) return NAN;                                    /* NaN: no reading, retry later */
    int word = ioctl(fd, I2C_SLAVE, addr) < 0 ? -1 : i2c_smbus_read_word_data(fd, 0);
    close(fd);
    if (word < 0) return NAN;
    return (short)((word & 0xFF) << 8 | word >> 8) / 16 * 0.0625; /* MSB first, 12 bits, 1/16 °C */
}
