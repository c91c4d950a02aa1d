/*
 * Minimal unit-test harness. One test program = one file with TEST()s and a
 * TEST_MAIN listing them. Every check prints nothing when it holds; the first
 * failing ASSERT ends the test, EXPECT carries on. The program prints
 * "PASS name" / "FAIL name: why" per test and "N passed, N failed" at the end
 * (tests/run.sh adds those up across programs).
 *
 *   TEST(adds_numbers) { ASSERT_EQ_INT(2 + 2, 4); }
 *   TEST_MAIN(RUN(adds_numbers);)
 */
#ifndef ESPPROV_TEST_H
#define ESPPROV_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_ctx {
    int passed;
    int failed;
    bool failing;
    char why[512];
};

static inline void t_note_failure(struct t_ctx *t, const char *file, int line, const char *what)
{
    if (!t->failing) {
        snprintf(t->why, sizeof t->why, "%s:%d: %s", file, line, what);
    }
    t->failing = true;
}

static inline void t_run(struct t_ctx *t, const char *name, void (*fn)(struct t_ctx *))
{
    t->failing = false;
    t->why[0] = '\0';
    fn(t);
    if (t->failing) {
        t->failed++;
        printf("FAIL %s: %s\n", name, t->why);
    } else {
        t->passed++;
        printf("PASS %s\n", name);
    }
    fflush(stdout);
}

#define TEST(name) static void name(struct t_ctx *t_)
#define RUN(name)  t_run(&t_main_, #name, name)
#define TEST_MAIN(...)                                                                             \
    int main(void)                                                                                 \
    {                                                                                              \
        struct t_ctx t_main_ = {0};                                                                \
        __VA_ARGS__                                                                                \
        printf("%d passed, %d failed\n", t_main_.passed, t_main_.failed);                          \
        return t_main_.failed ? 1 : 0;                                                             \
    }

#define T_FAILF(...)                                                                               \
    do {                                                                                           \
        char t_msg_[400];                                                                          \
        snprintf(t_msg_, sizeof t_msg_, __VA_ARGS__);                                              \
        t_note_failure(t_, __FILE__, __LINE__, t_msg_);                                            \
    } while (0)

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            T_FAILF("expected %s", #cond);                                                         \
        }                                                                                          \
    } while (0)

#define ASSERT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            T_FAILF("expected %s", #cond);                                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_MSG(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            T_FAILF(__VA_ARGS__);                                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                                        \
    do {                                                                                           \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                                    \
        if (t_a_ != t_b_) {                                                                        \
            T_FAILF("%s == %lld, expected %s == %lld", #a, t_a_, #b, t_b_);                        \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_EQ_UINT(a, b)                                                                       \
    do {                                                                                           \
        unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b);         \
        if (t_a_ != t_b_) {                                                                        \
            T_FAILF("%s == 0x%llx, expected %s == 0x%llx", #a, t_a_, #b, t_b_);                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_STREQ(a, b)                                                                         \
    do {                                                                                           \
        const char *t_a_ = (a), *t_b_ = (b);                                                       \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {                             \
            T_FAILF("%s == \"%s\", expected \"%s\"", #a, t_a_ ? t_a_ : "(null)",                   \
                    t_b_ ? t_b_ : "(null)");                                                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Substring check, for error messages. */
#define ASSERT_CONTAINS(haystack, needle)                                                          \
    do {                                                                                           \
        const char *t_h_ = (haystack), *t_n_ = (needle);                                           \
        if (t_h_ == NULL || strstr(t_h_, t_n_) == NULL) {                                          \
            T_FAILF("%s == \"%s\" does not contain \"%s\"", #haystack, t_h_ ? t_h_ : "(null)",     \
                    t_n_);                                                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define ASSERT_MEMEQ(a, b, n)                                                                      \
    do {                                                                                           \
        const unsigned char *t_a_ = (const unsigned char *)(a);                                    \
        const unsigned char *t_b_ = (const unsigned char *)(b);                                    \
        size_t t_n_ = (n);                                                                         \
        for (size_t t_i_ = 0; t_i_ < t_n_; t_i_++) {                                               \
            if (t_a_[t_i_] != t_b_[t_i_]) {                                                        \
                T_FAILF("%s differs from %s at byte %zu: 0x%02x != 0x%02x", #a, #b, t_i_,          \
                        t_a_[t_i_], t_b_[t_i_]);                                                   \
                return;                                                                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#endif
