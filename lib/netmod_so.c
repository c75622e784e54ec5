/* netmod_so.c - the table of libsecretwatch-net.so, its only export. */
#include "netmod.h"

#include "alert_impl.h"

static const struct netmod_api api = {
    .size = sizeof(struct netmod_api),
    .version = SW_VERSION,
    .global_init = net_global_init,
    .entra_request_token = entra_request_token,
    .smtp_send_message = smtp_send_message,
    .alert_webhook_send = alert_webhook_send,
    .alert_heartbeat_send = alert_heartbeat_send,
    .graph_http = graph_http,
};

__attribute__((visibility("default"))) const struct netmod_api *netmod_api(void)
{
	return &api;
}
