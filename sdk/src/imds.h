/* imds.h - EC2 instance metadata service, IMDSv2. Internal. */
#ifndef FUGUE_IMDS_H
#define FUGUE_IMDS_H

#include <stddef.h>
#include "creds.h"

/* Fetches the instance role's credentials: PUT /latest/api/token (with
 * X-aws-ec2-metadata-token-ttl-seconds), GET
 * /latest/meta-data/iam/security-credentials/ for the role name, then GET
 * that role's document (AccessKeyId, SecretAccessKey, Token, Expiration).
 * The endpoint is AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * http://169.254.169.254. Short timeouts (1 s connect, 2 attempts), as the
 * SDKs, so a machine off EC2 fails fast.
 * Returns 0, FUGUE_ENOTFOUND (no metadata service or no role) or
 * FUGUE_EPROTO (a malformed document), with the reason in ERRBUF. */
int fugue_imds_credentials(fugue_credentials *out, char *errbuf, size_t errsize);

#endif
