/* Setting up an rfc2217:// connection: telnet options, then the line. */
#include "flasher/rfc2217_port.h"

static const char not_rfc2217_hint[] =
    "the server must speak telnet with RFC 2217 (ser2net: accepter telnet(rfc2217),tcp,PORT; "
    "esptool: esp_rfc2217_server); a raw TCP port cannot carry baud or DTR/RTS";

/* Every option we asked for has been answered (or COM-PORT refused). */
static bool settled(const struct rfc_port *p, void *arg)
{
    (void)arg;
    return p->comport_refused ||
           (p->local[TN_OPT_COMPORT] != Q_WANT_YES && p->local[TN_OPT_BINARY] != Q_WANT_YES &&
            p->remote[TN_OPT_BINARY] != Q_WANT_YES);
}

/* WILL/DO BINARY (8-bit clean both ways; without it a telnet peer may eat the
 * NUL after a CR), SGA, and WILL COM-PORT-OPTION, then the answers. */
int rfc_negotiate(struct rfc_port *p, struct fl_error *err)
{
    static const uint8_t hello[] = {
        TN_IAC,        TN_WILL,    TN_OPT_COMPORT, TN_IAC,        TN_WILL,
        TN_OPT_BINARY, TN_IAC,     TN_DO,          TN_OPT_BINARY, TN_IAC,
        TN_WILL,       TN_OPT_SGA, TN_IAC,         TN_DO,         TN_OPT_SGA,
    };
    p->local[TN_OPT_COMPORT] = p->local[TN_OPT_BINARY] = p->local[TN_OPT_SGA] = Q_WANT_YES;
    p->remote[TN_OPT_BINARY] = p->remote[TN_OPT_SGA] = Q_WANT_YES;
    int rc = rfc_send_commands(p, hello, sizeof hello, err);
    if (rc == FL_OK) {
        rc = rfc_wait(p, rfc_mono_ms() + p->lim.answer_ms, "its answer to the option negotiation",
                      settled, NULL, err);
    }
    if (rc < 0) {
        return rc;
    }
    if (p->comport_refused) {
        return fl_error_set(
            err, FL_ERR_UNSUPPORTED, not_rfc2217_hint,
            "%s: the server refused the COM-PORT option: it does not speak RFC 2217", p->base.name);
    }
    if (p->local[TN_OPT_COMPORT] != Q_YES) {
        return fl_error_set(
            err, FL_ERR_PROTO, not_rfc2217_hint,
            "%s: no answer to the RFC 2217 (telnet COM-PORT) negotiation within %g s", p->base.name,
            p->lim.answer_ms / 1000.0);
    }
    if (p->local[TN_OPT_BINARY] != Q_YES || p->remote[TN_OPT_BINARY] != Q_YES) {
        return fl_error_set(err, FL_ERR_UNSUPPORTED,
                            "enable binary transfers on the server (ser2net does by default)",
                            "%s: the server refused telnet BINARY mode, which the 8-bit bootloader "
                            "protocol needs",
                            p->base.name);
    }
    return FL_OK;
}

/* The line setup RFC 2217 recommends, in its order: rate, 8 data bits, no
 * parity, 1 stop bit; then no flow control (RTS is the reset line). */
int rfc_configure(struct rfc_port *p, uint32_t baud, struct fl_error *err)
{
    uint8_t cmd[32];
    size_t len = rfc_put_comport_byte(CPO_SET_DATASIZE, 8, cmd);
    len += rfc_put_comport_byte(CPO_SET_PARITY, CPO_PARITY_NONE, cmd + len);
    len += rfc_put_comport_byte(CPO_SET_STOPSIZE, CPO_STOPSIZE_1, cmd + len);
    len += rfc_put_comport_byte(CPO_SET_CONTROL, CPO_CONTROL_NO_FLOW, cmd + len);
    int rc = p->base.ops->set_baud(&p->base, baud, err);
    if (rc < 0) {
        return rc;
    }
    unsigned targets[] = {p->answers[CPO_SET_DATASIZE] + 1, p->answers[CPO_SET_PARITY] + 1,
                          p->answers[CPO_SET_STOPSIZE] + 1, p->answers[CPO_SET_CONTROL] + 1};
    rc = rfc_send_commands(p, cmd, len, err);
    static const char *const what[] = {"the data size", "the parity", "the stop bits",
                                       "the flow control setting"};
    for (unsigned i = 0; i < 4 && rc == FL_OK; i++) {
        rc = rfc_wait_answers(p, CPO_SET_DATASIZE + i, targets[i], what[i], err);
    }
    return rc;
}
