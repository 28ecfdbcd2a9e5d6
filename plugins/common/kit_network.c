/* kit_network.c - IPv4 CIDRs and availability zones (planner_kit.h). */
#include "planner_kit.h"

#include <string.h>

/* A decimal number of 1-3 digits at *S, no leading zero (so "010" is not
 * read as octal by someone else and ten by us); advances *S. */
static int decimal(const char **s, unsigned int max, unsigned int *out)
{
	const char *p = *s;
	unsigned int v = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (unsigned int)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 3 || (digits > 1 && **s == '0') || v > max)
		return FUGUE_EINVAL;
	*s = p;
	*out = v;
	return 0;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int fugue_kit_cidr_parse(const char *s, uint32_t *addr, int *prefix)
{
	uint32_t a = 0;
	unsigned int v;
	int i;

	if (!s)
		return FUGUE_EINVAL;
	for (i = 0; i < 4; i++) {
		if (decimal(&s, 255, &v) != 0)
			return FUGUE_EINVAL;
		a = a << 8 | v;
		if (*s++ != (i < 3 ? '.' : '/'))
			return FUGUE_EINVAL;
	}
	if (decimal(&s, 32, &v) != 0 || *s != '\0')
		return FUGUE_EINVAL;
	if (a & ~prefix_mask((int)v))
		return FUGUE_EINVAL;
	*addr = a;
	*prefix = (int)v;
	return 0;
}

int fugue_kit_cidr_contains(const char *outer, const char *inner)
{
	uint32_t oa, ia;
	int op, ip;

	if (fugue_kit_cidr_parse(outer, &oa, &op) != 0 ||
	    fugue_kit_cidr_parse(inner, &ia, &ip) != 0)
		return 0;
	return ip >= op && (ia & prefix_mask(op)) == oa;
}

int fugue_kit_cidr_overlap(const char *a, const char *b)
{
	uint32_t aa, ba, mask;
	int ap, bp;

	if (fugue_kit_cidr_parse(a, &aa, &ap) != 0 || fugue_kit_cidr_parse(b, &ba, &bp) != 0)
		return 0;
	mask = prefix_mask(ap < bp ? ap : bp);
	return (aa & mask) == (ba & mask);
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A local or Wavelength zone's suffix after the region: "-lax-1a",
 * "-wl1-bos-wlz-1": dash-separated groups of [a-z0-9], the first starting
 * with a letter and at least two long (so "us-east" + "-1a" is refused). */
static int local_zone_suffix(const char *s)
{
	size_t group = 0;
	int first = 1;

	if (*s != '-')
		return 0;
	for (s++;; s++) {
		if (*s == '-' || *s == '\0') {
			if (group == 0 || (first && group < 2))
				return 0;
			if (*s == '\0')
				return 1;
			first = 0;
			group = 0;
		} else if (is_lower(*s) || (is_digit(*s) && !(first && group == 0))) {
			group++;
		} else {
			return 0;
		}
	}
}

int fugue_kit_az_in_region(const char *az, const char *region)
{
	size_t n;

	if (!az || !region || !*region)
		return 0;
	n = strlen(region);
	if (strncmp(az, region, n) != 0)
		return 0;
	az += n;
	if (is_lower(az[0]) && az[1] == '\0')
		return 1;
	return local_zone_suffix(az);
}
