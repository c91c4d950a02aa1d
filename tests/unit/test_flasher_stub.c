/* Stub JSON (esptool's format): parsing and its failures. */
#include <stdlib.h>
#include <unistd.h>

#include "flasher/flasher.h"
#include "test.h"

/* text "AAECAwQFBgc=" = 00..07, data "qrvM" = aa bb cc */
static const char good[] = "{\"entry\": 1074855940, \"text\": \"AAECAwQFBgc=\", \"text_start\": "
                           "1074855936, \"data\": \"qrvM\", \"data_start\": 1073643520, "
                           "\"bss_start\": 1073643600}";

TEST(parses_esptool_format)
{
    struct fl_stub st;
    struct fl_error err;
    ASSERT_EQ_INT(fl_stub_parse(good, sizeof good - 1, &st, &err), FL_OK);
    ASSERT_EQ_UINT(st.entry, 0x40110004);
    ASSERT_EQ_UINT(st.text_start, 0x40110000);
    ASSERT_EQ_INT(st.text_len, 8);
    ASSERT_EQ_UINT(st.text[7], 7);
    ASSERT_EQ_INT(st.data_len, 3);
    ASSERT_EQ_UINT(st.data[0], 0xAA);
    ASSERT_EQ_UINT(st.data_start, 0x3FFE8000);
    fl_stub_release(&st);
}

TEST(data_is_optional)
{
    static const char j[] = "{\"entry\": 16, \"text\": \"AAECAwQFBgcICQoLDA0ODxAREhM=\", "
                            "\"text_start\": 0}";
    struct fl_stub st;
    struct fl_error err;
    ASSERT_EQ_INT(fl_stub_parse(j, sizeof j - 1, &st, &err), FL_OK);
    ASSERT_EQ_INT(st.data_len, 0);
    ASSERT(st.data == NULL);
    fl_stub_release(&st);
}

TEST(rejects_bad_stubs)
{
    static const struct {
        const char *json;
        const char *why;
    } bad[] = {
        {"{\"text\": \"AAEC\", \"text_start\": 0}", "\"entry\" is missing"},
        {"{\"entry\": 0, \"text\": \"AA*C\", \"text_start\": 0}", "not valid base64"},
        {"{\"entry\": 0, \"text\": \"\", \"text_start\": 0}", "has 0 bytes"},
        {"{\"entry\": 99, \"text\": \"AAEC\", \"text_start\": 0}", "outside its text"},
        {"{\"entry\": -1, \"text\": \"AAEC\", \"text_start\": 0}", "must be an address"},
        {"{\"entry\": 0, \"text\": \"AAEC\", \"text_start\": 0, \"data\": \"qrvM\"}",
         "\"data_start\" is missing"},
        {"[1, 2]", "not an object"},
        {"{\"entry\": 0,", "stub JSON"},
        {"{\"entry\": 0, \"text\": \"A\", \"text_start\": 0}", "not valid base64"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct fl_stub st;
        struct fl_error err = {0};
        ASSERT_MSG(fl_stub_parse(bad[i].json, strlen(bad[i].json), &st, &err) == FL_ERR_INVALID,
                   "case %zu accepted", i);
        ASSERT_CONTAINS(err.msg, bad[i].why);
        ASSERT(st.text == NULL && st.data == NULL);
    }
}

TEST(loads_a_file)
{
    char path[] = "/tmp/espprov-stub-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    ASSERT(write(fd, good, sizeof good - 1) == (ssize_t)(sizeof good - 1));
    close(fd);
    struct fl_stub st;
    struct fl_error err;
    int rc = fl_stub_load(path, &st, &err);
    unlink(path);
    ASSERT_EQ_INT(rc, FL_OK);
    ASSERT_EQ_INT(st.text_len, 8);
    fl_stub_release(&st);
    ASSERT_EQ_INT(fl_stub_load("/nonexistent/stub.json", &st, &err), FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "/nonexistent/stub.json");
}

TEST_MAIN(RUN(parses_esptool_format); RUN(data_is_optional); RUN(rejects_bad_stubs);
          RUN(loads_a_file);)
