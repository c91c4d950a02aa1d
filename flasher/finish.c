/* Leaving the loader (esp-protocol.md §4.4): --after. */
#include "flasher/flasher_priv.h"

static int begin_empty(struct fl_session *s, struct fl_error *err)
{
    const uint32_t words[5] = {0, 0, FL_ROM_BLOCK, 0, 0};
    size_t n = !s->state->stub && fl_can(s, FL_ROM_BEGIN_5WORDS) ? 5 : 4;
    return fl_command_words(s, FL_OP_FLASH_BEGIN, words, n, FL_T_DEFAULT, err);
}

/* A board that cannot be reset stays in the loader at the raised rate, where
 * the next session (starting at the connect rate) could not reach it. */
int fl_restore_baud(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st == NULL || st->target == NULL || st->port == NULL ||
        st->port->baud == s->opt.connect_baud) {
        return FL_OK;
    }
    struct fl_error e2;
    int rc = fl_change_baud(s, s->opt.connect_baud, &e2);
    if (rc != FL_OK) {
        fl_log(s, FL_LOG_WARN, "could not set the board back to %u baud: %s",
               (unsigned)s->opt.connect_baud, e2.msg);
        if (err != NULL) {
            *err = e2;
        }
    }
    return rc;
}

static int restore_baud(struct fl_session *s, struct fl_error *err)
{
    (void)fl_restore_baud(s, err);
    return FL_OK;
}

int fl_finish(struct fl_session *s, struct fl_error *err)
{
    struct fl_session_state *st = s->state;
    if (st == NULL || st->port == NULL) {
        return fl_error_set(err, FL_ERR_INVALID, NULL, "no port is open");
    }
    struct fl_port *port = st->port;
    uint8_t flag[4] = {0};
    switch (s->opt.after) {
    case FL_AFTER_HARD_RESET: {
        int rc = FL_ERR_NO_LINES;
        if (port->has_lines) {
            rc = fl_reset(s, FL_RESET_HARD, 0, err);
        }
        if (rc == FL_ERR_NO_LINES) {
            /* Said once per session: the connect already warned about it. */
            fl_log(s, st->lines_reported ? FL_LOG_INFO : FL_LOG_WARN,
                   "%s cannot reset the board (no DTR/RTS): reset it by hand", port->name);
            st->lines_reported = true;
            rc = restore_baud(s, err);
        }
        TRY(rc);
        break;
    }
    case FL_AFTER_SOFT_RESET:
        if (st->target == NULL) {
            return fl_error_set(err, FL_ERR_INVALID, NULL, "not connected");
        }
        if (!st->stub) {
            /* ROM: an empty FLASH_BEGIN then FLASH_END(1 = run user code). */
            TRY(begin_empty(s, err));
            flag[0] = 1;
            TRY(fl_send_command(s, FL_OP_FLASH_END, flag, 4, 0, err));
        } else if (st->target->chip == FL_CHIP_ESP8266) {
            TRY(fl_send_command(s, FL_OP_RUN_USER_CODE, NULL, 0, 0, err));
        } else {
            return fl_error_set(err, FL_ERR_UNSUPPORTED, "use --after hard-reset",
                                "the flasher stub can run the app only on the ESP8266");
        }
        TRY(port->ops->drain(port, err));
        break;
    case FL_AFTER_NO_RESET:
        if (st->stub) {
            /* FLASH_END(0) makes the stub reboot into the ROM loader, which
             * autobauds again. */
            TRY(begin_empty(s, err));
            TRY(fl_command(s, FL_OP_FLASH_END, flag, 4, 0, 0, FL_T_DEFAULT, NULL, err));
        } else {
            TRY(restore_baud(s, err));
        }
        break;
    case FL_AFTER_NO_RESET_STUB:
        /* The stub keeps running; the next session starts at the connect rate. */
        TRY(restore_baud(s, err));
        break;
    }
    st->stub = s->opt.after == FL_AFTER_NO_RESET_STUB && st->stub;
    st->detected = false;
    st->attached = false;
    st->params_size = 0;
    return FL_OK;
}
