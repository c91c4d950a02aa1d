/* core: escaping text from outside for a terminal, device file names. */
#include "test.h"
#include "provision/core/core.h"

TEST(plain_text_and_utf8_pass_unchanged)
{
    char out[128];
    ASSERT_STREQ(pv_escape("esp-240ac4000001 /client.key.der", out, sizeof out),
                 "esp-240ac4000001 /client.key.der");
    ASSERT_STREQ(pv_escape("Grüße, 温度 🌡", out, sizeof out), "Grüße, 温度 🌡");
    ASSERT(pv_text_is_plain("Grüße"));
    ASSERT_STREQ(pv_escape(NULL, out, sizeof out), "");
}

TEST(controls_become_visible)
{
    char out[128];
    /* C0 and DEL: a terminal would clear the screen, set the title, ring. */
    ASSERT_STREQ(pv_escape("a\033[2Jb\r\n\t\x7f", out, sizeof out),
                 "a\\x1b[2Jb\\x0d\\x0a\\x09\\x7f");
    /* C1 CSI as UTF-8, and the same byte alone (not UTF-8). */
    ASSERT_STREQ(pv_escape("x\xc2\x9b"
                           "31m",
                           out, sizeof out),
                 "x\\u009b31m");
    ASSERT_STREQ(pv_escape("x\x9b"
                           "31m",
                           out, sizeof out),
                 "x\\x9b31m");
    /* Right-to-left override and a line separator reorder or split a line. */
    ASSERT_STREQ(pv_escape("id\xe2\x80\xaetxt.exe\xe2\x80\xa8", out, sizeof out),
                 "id\\u202etxt.exe\\u2028");
    /* Overlong and surrogate encodings are not UTF-8. */
    ASSERT_STREQ(pv_escape("\xc0\xaf\xed\xa0\x80", out, sizeof out), "\\xc0\\xaf\\xed\\xa0\\x80");
    ASSERT(!pv_text_is_plain("a\033b"));
    ASSERT(!pv_text_is_plain("\xe2\x80\xae"));
}

TEST(truncation_never_splits_an_escape_or_a_character)
{
    char out[6];
    ASSERT_STREQ(pv_escape("ab\033cd", out, sizeof out), "ab");
    ASSERT_STREQ(pv_escape("abcd\xc3\xbc", out, sizeof out), "abcd");
    ASSERT_STREQ(pv_escape("abc\xc3\xbc", out, sizeof out), "abc\xc3\xbc");
    char one[1] = {'x'};
    ASSERT_STREQ(pv_escape("abc", one, sizeof one), "");
}

TEST(device_names_stay_below_a_folder)
{
    struct pv_error err;
    const char *good[] = {"/a",   "/config.json", "/certs/client.key.der", "/a/b/c", "/..x",
                          "/x..", "/.hidden"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ASSERT_MSG(pv_devname_check(good[i], &err) == PV_OK, "refused %s: %s", good[i], err.msg);
    }
    const char *bad[] = {"",     "/",    "x",   "a/b",   "//etc/x", "/../x",     "/a/../b", "/a/..",
                         "/./a", "/a/.", "/a/", "/a//b", "/a\nb",   "/\033[31m", "/a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_MSG(pv_devname_check(bad[i], &err) == PV_ERR_INVALID, "accepted '%s'", bad[i]);
        ASSERT_MSG(pv_text_is_plain(err.msg), "the message about '%s' is not escaped", bad[i]);
    }
    ASSERT_EQ_INT(pv_devname_check("/\033x", &err), PV_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "'/\\x1bx' contains a control character");
}

TEST_MAIN(RUN(plain_text_and_utf8_pass_unchanged); RUN(controls_become_visible);
          RUN(truncation_never_splits_an_escape_or_a_character);
          RUN(device_names_stay_below_a_folder);)
