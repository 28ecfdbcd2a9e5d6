/* types.h - the resource types of the ec2 planner, one file each. */
#ifndef FUGUE_EC2_TYPES_H
#define FUGUE_EC2_TYPES_H

#include <stdint.h>

#include "fugue/planner.h"

extern const fugue_type_ops fugue_ec2_instance; /* AWS.EC2.Instance (instance.c) */
extern const fugue_type_ops fugue_ec2_volume;   /* AWS.EC2.Volume (volume.c) */
extern const fugue_type_ops fugue_ec2_key_pair; /* AWS.EC2.KeyPair (key_pair.c) */

/* validate(): EBS's size and IOPS limits for volume TYPE (unknown types
 * pass), SIZE / IOPS negative when not declared; errors reported under
 * PREFIX ("" for a volume, "rootVolume." for an instance's root). Returns
 * the number of errors reported. (volume.c) */
int fugue_ec2_check_ebs(fugue_ctx *ctx, const char *prefix, const char *type, int64_t size,
                        int64_t iops);

#endif
