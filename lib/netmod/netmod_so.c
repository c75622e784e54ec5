/* netmod_so.c - the table of libsecretwatch-net.so, its only export. */
#include "netmod.h"

#include "alert.h"

static const struct netmod_api api = {
    .size = sizeof(struct netmod_api),
    .version = SW_VERSION,
    .global_init = net_global_init,
    .entra_request_token = entra_request_token,
    .smtp_send_message = smtp_send_message,
    .alert_webhook_send = alert_webhook_send,
    .alert_heartbeat_send = alert_heartbeat_send,
    .graph_http = graph_http,
    .x509_process_init = x509_process_init,
    .x509_generate = x509_generate,
    .x509_import_pem = x509_import_pem,
    .x509_cert_info = x509_cert_info,
    .x509_cert_pem = x509_cert_pem,
    .x509_key_pem = x509_key_pem,
    .x509_assertion = x509_assertion,
    .x509_proof = x509_proof,
};

__attribute__((visibility("default"))) const struct netmod_api *netmod_api(void)
{
	return &api;
}
