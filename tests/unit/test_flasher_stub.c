/* Stub JSON (esptool's format): parsing and its failures; finding the
 * fetched stub families (build tree, installed tree, $ESPPROV_STUB_DIR). */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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

static void put_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

/* root/<sub>/<family>/ with an esp32 stub (and a PACKAGE line). */
static void make_family(const char *root, const char *sub, const char *family, const char *pkg)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    for (char *p = dir + strlen(root) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(dir, 0700);
            *p = '/';
        }
    }
    mkdir(dir, 0700);
    snprintf(dir + strlen(dir), sizeof dir - strlen(dir), "/%s", family);
    mkdir(dir, 0700);
    put_file(dir, "esp32.json", good);
    put_file(dir, "PACKAGE", pkg);
}

TEST(families_have_names)
{
    enum fl_stub_family f;
    ASSERT(fl_stub_family_parse("legacy", &f) && f == FL_STUB_LEGACY);
    ASSERT(fl_stub_family_parse("new", &f) && f == FL_STUB_NEW);
    ASSERT(fl_stub_family_parse("esp-flasher-stub", &f) && f == FL_STUB_NEW);
    ASSERT(!fl_stub_family_parse("both", &f));
    ASSERT_STREQ(fl_stub_family_name(FL_STUB_FAMILY_DEFAULT), "legacy");
    ASSERT_STREQ(fl_chip_key(FL_CHIP_ESP32S3), "esp32s3");
}

TEST(finds_stubs_in_order)
{
    char root[] = "/tmp/espprov-stubs-XXXXXX";
    ASSERT(mkdtemp(root) != NULL);
    char exe[PATH_MAX], env[PATH_MAX];
    snprintf(exe, sizeof exe, "%s/prefix/bin/espprov", root);
    snprintf(env, sizeof env, "%s/env", root);
    struct fl_stub_set set;
    struct fl_error err = {0};
    struct fl_stub_search q = {.env_dir = env, .exe_path = exe, .family = FL_STUB_LEGACY};

    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no legacy flasher stubs found");
    ASSERT_CONTAINS(err.msg, "env/legacy");
    ASSERT_CONTAINS(err.msg, "bin/stubs/legacy");
    ASSERT_CONTAINS(err.msg, "bin/../share/espprov/stubs/legacy");
    ASSERT_CONTAINS(err.hint, "make stubs");

    make_family(root, "prefix/bin/x", "unused", ""); /* the program's own directory */
    make_family(root, "prefix/share/espprov/stubs", "legacy", "installed 1.0\n");
    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_OK);
    ASSERT_STREQ(set.package, "installed 1.0");
    ASSERT(fl_stub_set_get(&set, FL_CHIP_ESP32) != NULL);
    ASSERT_EQ_UINT(fl_stub_set_get(&set, FL_CHIP_ESP32)->entry, 0x40110004);
    ASSERT(fl_stub_set_get(&set, FL_CHIP_ESP8266) == NULL);
    fl_stub_set_release(&set);

    make_family(root, "prefix/bin/stubs", "legacy", "build tree\n");
    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_OK);
    ASSERT_STREQ(set.package, "build tree");
    fl_stub_set_release(&set);

    make_family(root, "env", "legacy", "from env\n");
    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_OK);
    ASSERT_STREQ(set.package, "from env");
    ASSERT_CONTAINS(set.dir, "/env/legacy");
    fl_stub_set_release(&set);

    /* Another family is looked up by its own name only. */
    q.family = FL_STUB_NEW;
    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err.msg, "no new flasher stubs");

    /* A broken file is an error naming it, never skipped for the next place. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/env/legacy", root);
    put_file(dir, "esp8266.json", "{\"entry\": 1");
    q.family = FL_STUB_LEGACY;
    ASSERT_EQ_INT(fl_stub_set_find(&set, &q, &err), FL_ERR_INVALID);
    ASSERT_CONTAINS(err.msg, "esp8266.json");

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    ASSERT_EQ_INT(system(cmd), 0);
}

/* Every stub the build fetched (stubs/ next to espsim) parses, entry in text. */
TEST(fetched_stubs_parse)
{
    const char *sim = getenv("ESPSIM");
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s", sim != NULL ? sim : "build/espsim");
    char root[PATH_MAX];
    snprintf(root, sizeof root, "%s/stubs", dirname(base));
    int n = 0;
    for (int f = FL_STUB_LEGACY; f <= FL_STUB_NEW; f++) {
        struct fl_stub_set set;
        struct fl_error err = {0};
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof dir, "%s/%s", root, fl_stub_family_name((enum fl_stub_family)f));
        ASSERT_MSG(fl_stub_set_load(&set, dir, (enum fl_stub_family)f, &err) == FL_OK, "%s",
                   err.msg);
        ASSERT(set.package[0] != '\0');
        for (int c = FL_CHIP_ESP8266; c < FL_CHIP_COUNT; c++) {
            const struct fl_stub *st = fl_stub_set_get(&set, (enum fl_chip)c);
            ASSERT_MSG(st != NULL, "%s has no %s stub", dir, fl_chip_key((enum fl_chip)c));
            ASSERT(st->entry >= st->text_start && st->entry < st->text_start + st->text_len);
            n++;
        }
        fl_stub_set_release(&set);
    }
    ASSERT_EQ_INT(n, 2 * (FL_CHIP_COUNT - 1));
}

TEST_MAIN(RUN(parses_esptool_format); RUN(data_is_optional); RUN(rejects_bad_stubs);
          RUN(loads_a_file); RUN(families_have_names); RUN(finds_stubs_in_order);
          RUN(fetched_stubs_parse);)
