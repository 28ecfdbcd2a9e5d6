/* types.h - the resource types of the vpc planner, one file each, and what
 * one type asks of another. */
#ifndef FUGUE_VPC_TYPES_H
#define FUGUE_VPC_TYPES_H

#include "fugue/planner.h"

/* One per file: vpc.c, subnet.c, internet_gateway.c, ... */
extern const fugue_type_ops fugue_vpc_vpc;              /* AWS.VPC.Vpc */
extern const fugue_type_ops fugue_vpc_subnet;           /* AWS.VPC.Subnet */
extern const fugue_type_ops fugue_vpc_internet_gateway; /* AWS.VPC.InternetGateway */
extern const fugue_type_ops fugue_vpc_route_table;      /* AWS.VPC.RouteTable */
extern const fugue_type_ops fugue_vpc_security_group;   /* AWS.VPC.SecurityGroup */
extern const fugue_type_ops fugue_vpc_elastic_ip;       /* AWS.VPC.ElasticIp */
extern const fugue_type_ops fugue_vpc_nat_gateway;      /* AWS.VPC.NatGateway */

/* Detaches every internet gateway attached to VPC (internet_gateway.c):
 * AWS deletes no VPC with a gateway attached, and a VPC replaced
 * delete-then-create is deleted before its gateway moves to the new one.
 * 0 or the error, recorded. */
int fugue_vpc_detach_gateways(fugue_ctx *ctx, const char *vpc);

#endif
