/* creds.h - AWS credentials and the provider chain. Internal. */
#ifndef FUGUE_CREDS_H
#define FUGUE_CREDS_H

#include <stddef.h>
#include <time.h>

typedef struct fugue_credentials {
	char access_key_id[128];
	char secret_access_key[128];
	char session_token[4096];  /* "" when none */
	time_t expiration;         /* 0: does not expire */
	char source[64];           /* "environment", "shared-credentials-file (profile p)",
	                              "shared-config-file (profile p)", "imds (role r)" */
} fugue_credentials;

/* Overwrites the secret members with zeros before the struct goes away. */
void fugue_credentials_wipe(fugue_credentials *c);

typedef struct fugue_creds_provider fugue_creds_provider;

/* The chain of the AWS SDKs, in order: the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the shared credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) then the shared config
 * file (AWS_CONFIG_FILE or ~/.aws/config) for PROFILE (NULL: AWS_PROFILE or
 * "default"); the EC2 instance role through IMDSv2 (unless
 * AWS_EC2_METADATA_DISABLED=true). Returns 0 or FUGUE_ENOMEM. */
int fugue_creds_provider_new(fugue_creds_provider **out, const char *profile);
void fugue_creds_provider_free(fugue_creds_provider *p);

/* Copies the current credentials into *OUT, resolving the chain on first use
 * and again when they expire within 5 minutes (IMDS credentials). Thread-safe.
 * Returns 0, or FUGUE_EAUTH with ERRBUF naming every source tried and why
 * each gave nothing: "no aws credentials found: environment: AWS_ACCESS_KEY_ID
 * not set; shared-credentials-file /root/.aws/credentials: no such file; ..." */
int fugue_creds_get(fugue_credentials *out, fugue_creds_provider *p, char *errbuf, size_t errsize);

#endif
