#include "cloud.h"

#include <stdio.h>
#include <string.h>

static const struct cloud clouds[] = {
    {"global", "https://login.microsoftonline.com",
     "https://outlook.office365.com/.default", "smtp://smtp.office365.com:587",
     "https://graph.microsoft.com", "https://graph.microsoft.com/.default",
     "https://portal.azure.com"},
    {"usgov", "https://login.microsoftonline.us",
     "https://outlook.office365.us/.default", "smtp://smtp.office365.us:587",
     "https://graph.microsoft.us", "https://graph.microsoft.us/.default",
     "https://portal.azure.us"},
    {"dod", "https://login.microsoftonline.us",
     "https://outlook-dod.office365.us/.default",
     "smtp://outlook-dod.office365.us:587", "https://dod-graph.microsoft.us",
     "https://dod-graph.microsoft.us/.default", "https://portal.azure.us"},
    {"china", "https://login.partner.microsoftonline.cn",
     "https://partner.outlook.cn/.default",
     "smtp://smtp.partner.outlook.cn:587",
     "https://microsoftgraph.chinacloudapi.cn",
     "https://microsoftgraph.chinacloudapi.cn/.default",
     "https://portal.azure.cn"},
};

const struct cloud *cloud_find(const char *name)
{
	for (size_t i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
		if (strcmp(clouds[i].name, name) == 0)
			return &clouds[i];
	return NULL;
}

static const struct cloud *cloud_of(const struct cred *c)
{
	const struct cloud *cl = cloud_find(c->cloud);

	return cl != NULL ? cl : &clouds[0];
}

const char *cloud_authority_url(const struct cred *c)
{
	return c->authority_url[0] ? c->authority_url
				   : cloud_of(c)->authority_url;
}

const char *cloud_smtp_url(const struct cred *c)
{
	return c->smtp_url[0] ? c->smtp_url : cloud_of(c)->smtp_url;
}

const char *cloud_graph_url(const struct cred *c)
{
	return c->graph_url[0] ? c->graph_url : cloud_of(c)->graph_url;
}

const char *cloud_outlook_scope(const struct cred *c)
{
	return cloud_of(c)->outlook_scope;
}

const char *cloud_graph_scope(const struct cred *c)
{
	return cloud_of(c)->graph_scope;
}

const char *cloud_token_scope(const struct cred *c)
{
	return cred_reads_only(c) ? cloud_graph_scope(c)
				  : cloud_outlook_scope(c);
}

void cloud_credentials_link(const struct cred *c, bool service_principal,
			    const char *object_id, const char *app_id,
			    char *out, size_t size)
{
	const char *portal = cloud_of(c)->portal_url;

	if (service_principal)
		snprintf(out, size,
			 "%s/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/"
			 "SignOn/objectId/%s/appId/%s",
			 portal, object_id, app_id);
	else
		snprintf(out, size,
			 "%s/#view/Microsoft_AAD_RegisteredApps/"
			 "ApplicationMenuBlade/~/Credentials/appId/%s",
			 portal, app_id);
}
