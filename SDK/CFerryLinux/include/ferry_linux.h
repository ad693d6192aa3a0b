/* The Linux uAPI structs drivers pass through FerryDevice's ioctl seam (I2C, GPIO v2), plus the
   ioctl request numbers as inline functions, because Swift cannot import the _IOWR macros. */
#ifndef FERRY_LINUX_H
#define FERRY_LINUX_H

#include <linux/gpio.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>

static inline unsigned long ferry_i2c_slave(void) { return I2C_SLAVE; }
static inline unsigned long ferry_i2c_smbus(void) { return I2C_SMBUS; }
static inline unsigned long ferry_gpio_get_chipinfo_ioctl(void) { return GPIO_GET_CHIPINFO_IOCTL; }
static inline unsigned long ferry_gpio_v2_get_line_ioctl(void) { return GPIO_V2_GET_LINE_IOCTL; }
static inline unsigned long ferry_gpio_v2_line_get_values_ioctl(void) { return GPIO_V2_LINE_GET_VALUES_IOCTL; }
static inline unsigned long ferry_gpio_v2_line_set_values_ioctl(void) { return GPIO_V2_LINE_SET_VALUES_IOCTL; }

#endif
