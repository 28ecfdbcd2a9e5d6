/* error.c - result code descriptions, and what an AWS error code means for
 * the caller: not found, conflict, auth, try later, or anything else.
 *
 * The throttling and transient lists are the ones retry.c applies (botocore's
 * standard retry mode), so that an error classified FUGUE_ERETRY here is one
 * the client already retried until it ran out of attempts. */
#include <stdio.h>
#include <string.h>

#include "fugue/aws.h"
#include "fugue/common.h"
#include "retry.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *fugue_strerror(int code)
{
	switch (code) {
	case FUGUE_OK:
		return "success";
	case FUGUE_EINVAL:
		return "invalid argument";
	case FUGUE_ENOMEM:
		return "out of memory";
	case FUGUE_ENOTFOUND:
		return "not found";
	case FUGUE_ECONFLICT:
		return "conflict with the current state";
	case FUGUE_ERETRY:
		return "throttled or temporarily unavailable, try again later";
	case FUGUE_EAUTH:
		return "authentication or authorization failed";
	case FUGUE_EAWS:
		return "aws error";
	case FUGUE_EIO:
		return "i/o error";
	case FUGUE_ETIMEOUT:
		return "timed out";
	case FUGUE_ECANCELED:
		return "canceled";
	case FUGUE_EPROTO:
		return "unparseable response";
	case FUGUE_ECONFIG:
		return "invalid configuration";
	default:
		return "unknown error";
	}
}

static const char *const not_found_codes[] = {
	"NoSuchEntity",
	"NoSuchBucket",
	"NoSuchKey",
	"QueueDoesNotExist",
	"AWS.SimpleQueueService.NonExistentQueue",
};

static const char *const auth_codes[] = {
	"AuthFailure",
	"UnauthorizedOperation",
	"SignatureDoesNotMatch",
	"InvalidSignatureException",
	"InvalidClientTokenId",
	"IncompleteSignature",
	"MissingAuthenticationToken",
	"MissingAuthenticationTokenException",
	"AccessDenied",
	"AccessDeniedException",
	"UnrecognizedClientException",
	"AuthorizationError",
	"ExpiredToken",
	"ExpiredTokenException",
	"InvalidAccessKeyId",
	"RequestExpired",
	"OptInRequired",
	"Blocked",
};

static const char *const conflict_codes[] = {
	"EntityAlreadyExists",
	"DuplicateLoadBalancerName",
	"ResourceConflictException",
	"ResourceInUseException",
	"ResourceInUse",
	"DependencyViolation",
	"IncorrectState",
	"IncorrectInstanceState",
	"InvalidGroup.Duplicate",
	"InvalidPermission.Duplicate",
	"DeleteConflict",
	"ConcurrentModification",
	"ConcurrentModificationException",
	"ConditionalCheckFailedException",
	"TransactionConflictException",
	"BucketAlreadyOwnedByYou",
	"OperationAbortedException",
};

static int in_list(const char *code, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(code, list[i]) == 0)
			return 1;
	}
	return 0;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s);
	size_t m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_not_found(const char *code)
{
	/* "InvalidVpcID.NotFound", "LoadBalancerNotFound",
	 * "ResourceNotFoundException", "NotFoundException", ... */
	if (strstr(code, "NotFound"))
		return 1;
	return starts_with(code, "NoSuch") || in_list(code, not_found_codes, COUNT(not_found_codes));
}

static int is_conflict(const char *code)
{
	/* "*AlreadyExists*", EC2's "*.Duplicate" and "*.InUse",
	 * ELB's "Duplicate*Name". */
	if (strstr(code, "AlreadyExists"))
		return 1;
	if (ends_with(code, ".Duplicate") || ends_with(code, ".InUse"))
		return 1;
	if (starts_with(code, "Duplicate"))
		return 1;
	return in_list(code, conflict_codes, COUNT(conflict_codes));
}

static int classify_status(int http_status)
{
	if (http_status == 429 || (http_status >= 500 && http_status <= 599))
		return FUGUE_ERETRY;
	if (http_status == 404)
		return FUGUE_ENOTFOUND;
	if (http_status == 401 || http_status == 403)
		return FUGUE_EAUTH;
	if (http_status == 409)
		return FUGUE_ECONFLICT;
	return FUGUE_EAWS;
}

int fugue_aws_error_classify(const char *code, int http_status)
{
	if (!code || !*code)
		return classify_status(http_status);
	if (fugue_retry_is_throttle_code(code))
		return FUGUE_ERETRY;
	if (is_not_found(code))
		return FUGUE_ENOTFOUND;
	if (in_list(code, auth_codes, COUNT(auth_codes)))
		return FUGUE_EAUTH;
	if (is_conflict(code))
		return FUGUE_ECONFLICT;
	/* Transient codes and statuses: the retry policy's own list, so that
	 * what is retried and what is reported as "try again" never disagree. */
	if (fugue_retry_classify(0, http_status, code) != FUGUE_RETRY_NONE)
		return FUGUE_ERETRY;
	if (http_status == 429 || (http_status >= 500 && http_status <= 599))
		return FUGUE_ERETRY;
	return FUGUE_EAWS;
}

/* A bounded writer: appends never overflow, the result is always
 * NUL-terminated, and a full buffer just drops what does not fit. */
typedef struct out_buf {
	char *p;
	size_t size;
	size_t len;
} out_buf;

static void out_put(out_buf *o, const char *s)
{
	int n;

	if (o->len + 1 >= o->size)
		return;
	n = snprintf(o->p + o->len, o->size - o->len, "%s", s);
	if (n < 0)
		return;
	o->len += (size_t)n < o->size - o->len ? (size_t)n : o->size - o->len - 1;
}

/* Appends PART after SEP unless PART is empty (SEP left out at the start). */
static void out_part(out_buf *o, const char *sep, const char *part)
{
	if (!part[0])
		return;
	if (o->len > 0)
		out_put(o, sep);
	out_put(o, part);
}

/* "HTTP n, request id R" into DST; "" when neither is known. */
static void format_details(char *dst, size_t size, const fugue_aws_error *err)
{
	out_buf o = { dst, size, 0 };
	char part[sizeof(err->request_id) + 16];

	dst[0] = '\0';
	if (err->http_status > 0) {
		snprintf(part, sizeof(part), "HTTP %d", err->http_status);
		out_part(&o, ", ", part);
	}
	if (err->request_id[0]) {
		snprintf(part, sizeof(part), "request id %s", err->request_id);
		out_part(&o, ", ", part);
	}
}

void fugue_aws_error_format(char *buf, size_t size, const fugue_aws_error *err)
{
	out_buf o = { buf, size, 0 };
	char details[sizeof(err->request_id) + 64];

	if (!buf || size == 0)
		return;
	buf[0] = '\0';
	if (!err)
		return;
	out_part(&o, ": ", err->action);
	out_part(&o, ": ", err->code);
	out_part(&o, ": ", err->message);
	format_details(details, sizeof(details), err);
	if (!details[0])
		return;
	if (o.len > 0)
		out_put(&o, " ");
	out_put(&o, "(");
	out_put(&o, details);
	out_put(&o, ")");
}
