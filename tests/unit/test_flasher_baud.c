/* The USB bridges' fastest rates, as "-b auto" reads them. */
#include "flasher/flasher.h"
#include "test.h"

TEST(known_bridges_have_their_datasheet_maximum)
{
    ASSERT_EQ_UINT(fl_usb_max_baud(0x1a86, 0x7523, NULL), 2000000); /* CH340 */
    ASSERT_EQ_UINT(fl_usb_max_baud(0x1a86, 0x55d4, NULL), 4000000); /* CH9102 */
    ASSERT_EQ_UINT(fl_usb_max_baud(0x0403, 0x6001, NULL), 3000000); /* FT232R */
    ASSERT_EQ_UINT(fl_usb_max_baud(0x1234, 0x5678, NULL), 0);       /* unknown */
    ASSERT_EQ_UINT(fl_usb_max_baud(0x303a, 0x1001, NULL), 0);       /* USB-Serial/JTAG */
}

TEST(cp2102n_is_told_from_cp2102_by_its_product_string)
{
    ASSERT_EQ_UINT(fl_usb_max_baud(0x10c4, 0xea60, NULL), 921600);
    ASSERT_EQ_UINT(fl_usb_max_baud(0x10c4, 0xea60, "CP2102 USB to UART Bridge Controller"), 921600);
    ASSERT_EQ_UINT(fl_usb_max_baud(0x10c4, 0xea60, "CP2102N USB to UART Bridge Controller"),
                   3000000);
}

TEST_MAIN(RUN(known_bridges_have_their_datasheet_maximum);
          RUN(cp2102n_is_told_from_cp2102_by_its_product_string);)
