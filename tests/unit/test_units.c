#include "test.h"
#include "provision/core/core.h"

TEST(sizes_in_every_notation)
{
    uint64_t v = 0;
    ASSERT_EQ_INT(pv_parse_size("4096", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 4096);
    ASSERT_EQ_INT(pv_parse_size("0x1FA000", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 0x1FA000);
    ASSERT_EQ_INT(pv_parse_size("64K", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 65536);
    ASSERT_EQ_INT(pv_parse_size("4MB", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 4u << 20);
    ASSERT_EQ_INT(pv_parse_size("1MiB", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 1u << 20);
    ASSERT_EQ_INT(pv_parse_size("3m", 0, &v), PV_OK);
    ASSERT_EQ_UINT(v, 3u << 20);
}

TEST(rejects_junk_and_overflow)
{
    uint64_t v = 7;
    const char *bad[] = {"", "-1", "x10", "10Q", "0x", "0x10K", "4 MB", "4096 ", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_MSG(pv_parse_size(bad[i], 0, &v) == PV_ERR_INVALID, "accepted '%s'", bad[i]);
    }
    ASSERT_EQ_UINT(v, 7);
    ASSERT_EQ_INT(pv_parse_size("5000M", 0, &v), PV_ERR_INVALID);
    ASSERT_EQ_INT(pv_parse_size("17", 16, &v), PV_ERR_INVALID);
}

TEST_MAIN(RUN(sizes_in_every_notation); RUN(rejects_junk_and_overflow);)
