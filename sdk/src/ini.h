/* ini.h - the AWS shared config and credentials files. Internal. */
#ifndef FUGUE_INI_H
#define FUGUE_INI_H

#include <stddef.h>

/* Looks up KEY in SECTION of the INI file at PATH (keys and section names
 * trimmed; '#' and ';' start comments; "key =" continuation lines of nested
 * sub-sections are skipped). Returns 0 and copies the value into OUT,
 * FUGUE_ENOTFOUND when the file, section or key is missing, FUGUE_EINVAL when
 * the value does not fit. */
int fugue_ini_lookup(char *out, size_t size, const char *path, const char *section, const char *key);

/* Looks up SUBKEY in the nested sub-section KEY of SECTION ("ec2 =" followed
 * by indented "endpoint_url = ..." lines). Returns as fugue_ini_lookup(). */
int fugue_ini_lookup_sub(char *out, size_t size, const char *path, const char *section,
                         const char *key, const char *subkey);

/* Paths of the shared files: AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE,
 * else ~/.aws/config and ~/.aws/credentials ($HOME, else the passwd entry). */
int fugue_aws_config_path(char *out, size_t size);
int fugue_aws_credentials_path(char *out, size_t size);

/* The profile in use: PROFILE if non-NULL, else AWS_PROFILE, else "default". */
const char *fugue_aws_profile_name(const char *profile);

/* KEY of PROFILE in the shared config file ("[default]" or "[profile NAME]").
 * Returns 0, FUGUE_ENOTFOUND or FUGUE_EINVAL as fugue_ini_lookup(). */
int fugue_aws_profile_get(char *out, size_t size, const char *profile, const char *key);

#endif
