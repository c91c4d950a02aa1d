/* The telnet / COM-port stream codec on its own: splits, escapes, limits. */
#include "flasher/rfc2217_priv.h"
#include "test.h"

struct log {
    char text[2048];
    size_t len;
};

/* Events rendered as text ("O253/44 S44,101,0,1,194,0 C241"), data as "[..]". */
static void note(void *ctx, const struct tn_event *ev)
{
    struct log *log = ctx;
    char item[256];
    int n = 0;
    if (ev->kind == TN_EV_OPTION) {
        n = snprintf(item, sizeof item, "O%u/%u ", ev->verb, ev->option);
    } else if (ev->kind == TN_EV_COMMAND) {
        n = snprintf(item, sizeof item, "C%u ", ev->verb);
    } else {
        n = snprintf(item, sizeof item, "S%s", ev->sb_truncated ? "!" : "");
        for (size_t i = 0; i < ev->sb_len && n < 200; i++) {
            n += snprintf(item + n, sizeof item - (size_t)n, "%u,", ev->sb[i]);
        }
        item[n++] = ' ';
        item[n] = '\0';
    }
    if (log->len + (size_t)n < sizeof log->text) {
        memcpy(log->text + log->len, item, (size_t)n + 1);
        log->len += (size_t)n;
    }
}

static const uint8_t stream[] = {
    'a',    TN_IAC, TN_IAC,         'b',    TN_IAC,  TN_DO,       TN_OPT_COMPORT, 0x0D, 0x00,
    TN_IAC, TN_SB,  TN_OPT_COMPORT, 101,    0x00,    0x01,        0xC2,           0x00, TN_IAC,
    TN_SE,  0xC0,   TN_IAC,         TN_NOP, TN_IAC,  TN_SB,       TN_OPT_COMPORT, 107,  TN_IAC,
    TN_IAC, TN_IAC, TN_SE,          TN_IAC, TN_WILL, TN_OPT_ECHO, 0xFE,           'z',
};
static const uint8_t stream_data[] = {'a', 0xFF, 'b', 0x0D, 0x00, 0xC0, 0xFE, 'z'};
static const char stream_events[] = "O253/44 S44,101,0,1,194,0, C241 S44,107,255, O251/1 ";

TEST(decodes_a_stream_in_one_piece)
{
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t out[sizeof stream];
    size_t n = tn_decode(&dec, stream, sizeof stream, out, note, &log);
    ASSERT_EQ_INT(n, sizeof stream_data);
    ASSERT_MEMEQ(out, stream_data, n);
    ASSERT_STREQ(log.text, stream_events);
    ASSERT_EQ_INT(dec.state, TN_ST_DATA);
}

TEST(decodes_the_same_when_split_anywhere)
{
    for (size_t cut = 0; cut <= sizeof stream; cut++) {
        struct tn_decoder dec = {0};
        struct log log = {0};
        uint8_t out[sizeof stream];
        size_t n = tn_decode(&dec, stream, cut, out, note, &log);
        n += tn_decode(&dec, stream + cut, sizeof stream - cut, out + n, note, &log);
        ASSERT_MSG(n == sizeof stream_data && memcmp(out, stream_data, n) == 0,
                   "data differs when cut at %zu", cut);
        ASSERT_MSG(strcmp(log.text, stream_events) == 0, "events differ when cut at %zu: %s", cut,
                   log.text);
    }
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t out[sizeof stream];
    size_t n = 0;
    for (size_t i = 0; i < sizeof stream; i++) {
        n += tn_decode(&dec, stream + i, 1, out + n, note, &log);
    }
    ASSERT_EQ_INT(n, sizeof stream_data);
    ASSERT_MEMEQ(out, stream_data, n);
    ASSERT_STREQ(log.text, stream_events);
}

TEST(decodes_in_place)
{
    uint8_t buf[sizeof stream];
    memcpy(buf, stream, sizeof stream);
    struct tn_decoder dec = {0};
    size_t n = tn_decode(&dec, buf, sizeof buf, buf, NULL, NULL);
    ASSERT_EQ_INT(n, sizeof stream_data);
    ASSERT_MEMEQ(buf, stream_data, n);
}

static void grab_pos(void *ctx, const struct tn_event *ev)
{
    *(size_t *)ctx = ev->data_pos;
}

TEST(event_reports_how_much_data_came_before_it)
{
    static const uint8_t in[] = {'x', 'y', TN_IAC, TN_SB, TN_OPT_COMPORT,
                                 112, 1,   TN_IAC, TN_SE, 'z'};
    size_t pos = 99;
    struct tn_decoder dec = {0};
    uint8_t out[sizeof in];
    ASSERT_EQ_INT(tn_decode(&dec, in, sizeof in, out, grab_pos, &pos), 3);
    ASSERT_EQ_INT(pos, 2);
}

TEST(long_subnegotiation_is_cut_not_overflowed)
{
    uint8_t in[300];
    size_t n = 0;
    in[n++] = TN_IAC;
    in[n++] = TN_SB;
    in[n++] = TN_OPT_COMPORT;
    in[n++] = CPO_SIGNATURE + CPO_SERVER_OFFSET;
    while (n < 290) {
        in[n++] = 'S';
    }
    in[n++] = TN_IAC;
    in[n++] = TN_SE;
    in[n++] = 'd';
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t out[sizeof in];
    size_t d = tn_decode(&dec, in, n, out, note, &log);
    ASSERT_EQ_INT(d, 1);
    ASSERT_EQ_INT(out[0], 'd');
    ASSERT(strncmp(log.text, "S!44,100,83,", 12) == 0);
}

static void count_events(void *ctx, const struct tn_event *ev)
{
    (void)ev;
    (*(size_t *)ctx)++;
}

static void grab_total(void *ctx, const struct tn_event *ev)
{
    if (ev->kind == TN_EV_SUB) {
        *(size_t *)ctx = ev->sb_total;
    }
}

TEST(subnegotiation_length_counts_every_byte_however_split)
{
    /* 2 + 1000 payload bytes, one of them an escaped IAC, then a short one. */
    uint8_t in[1100];
    size_t n = 0;
    in[n++] = TN_IAC;
    in[n++] = TN_SB;
    in[n++] = TN_OPT_COMPORT;
    in[n++] = CPO_SIGNATURE + CPO_SERVER_OFFSET;
    for (int i = 0; i < 999; i++) {
        in[n++] = 'S';
    }
    in[n++] = TN_IAC;
    in[n++] = TN_IAC;
    in[n++] = TN_IAC;
    in[n++] = TN_SE;
    static const uint8_t next[] = {TN_IAC, TN_SB, TN_OPT_COMPORT, 112, 1, TN_IAC, TN_SE};
    memcpy(in + n, next, sizeof next);
    n += sizeof next;
    for (size_t step = 1; step <= 64; step *= 4) {
        struct tn_decoder dec = {0};
        size_t total = 0, seen_mid = 0;
        uint8_t out[sizeof in];
        for (size_t off = 0; off < n; off += step) {
            size_t len = n - off < step ? n - off : step;
            tn_decode(&dec, in + off, len, out, grab_total, &total);
            if (off < 900 && dec.state == TN_ST_SB) {
                seen_mid = dec.sb_total; /* what a caller sees while it lasts */
            }
        }
        ASSERT_MSG(seen_mid > 800, "mid-way count %zu (step %zu)", seen_mid, step);
        /* The last event is the short subnegotiation: its count starts anew. */
        ASSERT_EQ_INT(total, 3);
        struct tn_decoder one = {0};
        size_t first = 0;
        tn_decode(&one, in, n - sizeof next, out, grab_total, &first);
        ASSERT_EQ_INT(first, 2 + 1000);
    }
}

TEST(endless_streams_yield_no_data)
{
    /* A subnegotiation that never ends, and a stream of NOPs: no data comes
     * out and the decoder keeps no more than TN_SB_MAX bytes of them. */
    uint8_t chunk[4096];
    memset(chunk, 'U', sizeof chunk);
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t out[sizeof chunk];
    static const uint8_t open_sb[] = {TN_IAC, TN_SB, TN_OPT_COMPORT};
    size_t data = tn_decode(&dec, open_sb, sizeof open_sb, out, note, &log);
    for (int i = 0; i < 256; i++) {
        data += tn_decode(&dec, chunk, sizeof chunk, out, note, &log);
    }
    ASSERT_EQ_INT(data, 0);
    ASSERT_EQ_INT(dec.state, TN_ST_SB);
    ASSERT_EQ_INT(dec.sb_total, 1 + 256 * sizeof chunk);
    ASSERT_EQ_INT(dec.sb_len, TN_SB_MAX);
    ASSERT_EQ_INT(log.len, 0);

    struct tn_decoder nops = {0};
    for (size_t i = 0; i < sizeof chunk; i += 2) {
        chunk[i] = TN_IAC;
        chunk[i + 1] = TN_NOP;
    }
    size_t events = 0;
    for (int i = 0; i < 64; i++) {
        data += tn_decode(&nops, chunk, sizeof chunk, out, count_events, &events);
    }
    ASSERT_EQ_INT(data, 0);
    ASSERT_EQ_INT(events, 64 * sizeof chunk / 2);
}

TEST(command_inside_subnegotiation_ends_it)
{
    /* A broken server: IAC WILL inside SB. The option must still count and
     * the data after it must flow. */
    static const uint8_t in[] = {TN_IAC, TN_SB,   TN_OPT_COMPORT, 106,
                                 TN_IAC, TN_WILL, TN_OPT_SGA,     'k'};
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t out[sizeof in];
    size_t d = tn_decode(&dec, in, sizeof in, out, note, &log);
    ASSERT_EQ_INT(d, 1);
    ASSERT_EQ_INT(out[0], 'k');
    ASSERT_STREQ(log.text, "O251/3 ");
}

TEST(escape_doubles_iac_only)
{
    static const uint8_t in[] = {0x00, 0xFF, 0xC0, 0xFF, 0xFF, 0xFE};
    static const uint8_t want[] = {0x00, 0xFF, 0xFF, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE};
    uint8_t out[2 * sizeof in];
    ASSERT_EQ_INT(tn_escape(in, sizeof in, out), sizeof want);
    ASSERT_MEMEQ(out, want, sizeof want);
}

TEST(builds_comport_commands_with_escaped_values)
{
    /* 0x00FF00FF baud: both 0xFF bytes doubled inside the subnegotiation. */
    static const uint8_t value[] = {0x00, 0xFF, 0x00, 0xFF};
    static const uint8_t want[] = {TN_IAC, TN_SB, TN_OPT_COMPORT, CPO_SET_BAUDRATE,
                                   0x00,   0xFF,  0xFF,           0x00,
                                   0xFF,   0xFF,  TN_IAC,         TN_SE};
    uint8_t out[32];
    ASSERT_EQ_INT(tn_build_comport(CPO_SET_BAUDRATE, value, sizeof value, out), sizeof want);
    ASSERT_MEMEQ(out, want, sizeof want);
    struct tn_decoder dec = {0};
    struct log log = {0};
    uint8_t data[32];
    ASSERT_EQ_INT(tn_decode(&dec, out, sizeof want, data, note, &log), 0);
    ASSERT_STREQ(log.text, "S44,1,0,255,0,255, ");
    ASSERT_EQ_UINT(tn_get_be32(value), 0x00FF00FFu);
}

TEST_MAIN(RUN(decodes_a_stream_in_one_piece); RUN(decodes_the_same_when_split_anywhere);
          RUN(decodes_in_place); RUN(event_reports_how_much_data_came_before_it);
          RUN(long_subnegotiation_is_cut_not_overflowed);
          RUN(subnegotiation_length_counts_every_byte_however_split);
          RUN(endless_streams_yield_no_data); RUN(command_inside_subnegotiation_ends_it);
          RUN(escape_doubles_iac_only); RUN(builds_comport_commands_with_escaped_values);)
