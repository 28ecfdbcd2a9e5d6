"""ansible_peer.py - the same infrastructure as tests/tools/gen_composition.py,
as an Ansible project using the amazon.aws modules (and community.aws for
the IAM role and managed policy, which amazon.aws 5.x does not have yet;
both collections ship in Debian's `ansible` package), for the benchmarks'
side-by-side.

    write_project(DIR, n, endpoint_url, python, forks=10)
    run_playbook(DIR, env) -> (seconds, exit status, output)

Each block of 20 resources is one inventory host (b0, b1, ...; a local
connection), so Ansible works on `forks` blocks at a time and registers
ids per block, the way an operator runs many similar stacks. Within a
block the tasks run in dependency order, one module call each. The block
is the one gen_composition.py makes (with instances):

    vpc, igw, subnet-a..d, routes (0.0.0.0/0 to the igw, the four subnets),
    sg-1..5 (443 from the VPC, then each from the previous group), data (a
    volume), role-app (with its instance profile) and role-ops, policy,
    web-1 and web-2 (instances with the profile), lb (classic ELB)

The instance profile is made by community.aws.iam_role itself
(create_instance_profile), so 19 tasks make the 20 resources.
"""

import json
import os
import shutil
import subprocess
import time

BLOCK = 20
IMAGE = "ami-04681a1dbd79675a5"
ASSUME_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
     "Action": "sts:AssumeRole"}]}


class PeerError(RuntimeError):
    """Ansible or its collections are missing; the message says how to fix it."""


def check_ansible():
    """The ansible-playbook path; raises PeerError naming the fix when
    Ansible or the amazon.aws / community.aws collections are missing."""
    exe = shutil.which("ansible-playbook")
    if not exe:
        raise PeerError("ansible-playbook not found: the peer benchmark needs Debian's "
                        "`ansible` package (apt-get install ansible)")
    out = subprocess.run(["ansible-galaxy", "collection", "list", "amazon.aws"],
                         capture_output=True, text=True)
    out2 = subprocess.run(["ansible-galaxy", "collection", "list", "community.aws"],
                          capture_output=True, text=True)
    if "amazon.aws" not in out.stdout or "community.aws" not in out2.stdout:
        raise PeerError("the amazon.aws / community.aws collections are not installed "
                        "(Debian's `ansible` package ships them)")
    return exe


def _tasks():
    """The task list of one block; variables: k (the block), net ("10.K")."""
    ec2 = "amazon.aws."
    t = []
    t.append({"name": "vpc", ec2 + "ec2_vpc_net": {
        "name": "{{ p }}vpc", "cidr_block": "{{ net }}.0.0/16",
        "tags": {"purpose": "benchmark"}}, "register": "vpc"})
    t.append({"name": "igw", ec2 + "ec2_vpc_igw": {
        "vpc_id": "{{ vpc.vpc.id }}", "tags": {"Name": "{{ p }}igw"}}, "register": "igw"})
    for i, zone in enumerate("abcd"):
        t.append({"name": "subnet-" + zone, ec2 + "ec2_vpc_subnet": {
            "vpc_id": "{{ vpc.vpc.id }}", "cidr": "{{ net }}.%d.0/24" % i,
            "az": "us-east-1" + "ab"[i % 2], "tags": {"Name": "{{ p }}subnet-" + zone}},
            "register": "subnet_" + zone})
    t.append({"name": "routes", ec2 + "ec2_vpc_route_table": {
        "vpc_id": "{{ vpc.vpc.id }}", "tags": {"Name": "{{ p }}routes"},
        "routes": [{"dest": "0.0.0.0/0", "gateway_id": "{{ igw.gateway_id }}"}],
        "subnets": ["{{ subnet_%s.subnet.id }}" % z for z in "abcd"]}})
    for i in range(1, 6):
        rule = {"proto": "tcp", "ports": [443]}
        if i == 1:
            rule["cidr_ip"] = "{{ net }}.0.0/16"
        else:
            rule["group_id"] = "{{ sg_%d.group_id }}" % (i - 1)
        t.append({"name": "sg-%d" % i, ec2 + "ec2_security_group": {
            "name": "{{ p }}sg-%d" % i, "description": "tier %d" % i,
            "vpc_id": "{{ vpc.vpc.id }}", "rules": [rule], "purge_rules_egress": False},
            "register": "sg_%d" % i})
    t.append({"name": "data", ec2 + "ec2_vol": {
        "name": "{{ p }}data", "zone": "us-east-1a", "volume_size": 8}})
    for role in ("app", "ops"):
        t.append({"name": "role-" + role, "community.aws.iam_role": {
            "name": "{{ p }}role-" + role, "assume_role_policy_document": ASSUME_EC2,
            "create_instance_profile": role == "app", "purge_policies": False}})
    t.append({"name": "policy", "community.aws.iam_managed_policy": {
        "policy_name": "{{ p }}policy", "state": "present",
        "policy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": "arn:aws:s3:::bench-{{ k }}/*"}]}}})
    for i, zone in ((1, "a"), (2, "b")):
        t.append({"name": "web-%d" % i, ec2 + "ec2_instance": {
            "name": "{{ p }}web-%d" % i, "image_id": IMAGE, "instance_type": "t3.micro",
            "vpc_subnet_id": "{{ subnet_%s.subnet.id }}" % zone,
            "security_group": "{{ sg_5.group_id }}",
            "iam_instance_profile": "{{ p }}role-app", "wait": True},
            "register": "web_%d" % i})
    t.append({"name": "lb", ec2 + "elb_classic_lb": {
        "name": "{{ p }}lb", "state": "present",
        "subnets": ["{{ subnet_a.subnet.id }}", "{{ subnet_b.subnet.id }}"],
        "security_group_ids": ["{{ sg_1.group_id }}"],
        "listeners": [{"protocol": "http", "load_balancer_port": 80, "instance_port": 80}],
        "instance_ids": ["{{ web_1.instance_ids[0] }}", "{{ web_2.instance_ids[0] }}"]}})
    return t


def write_project(directory, n, endpoint_url, python, forks=10):
    """Writes ansible.cfg, inventory.ini and playbook.yml (JSON is YAML) for N
    resources (a multiple of 20) into DIRECTORY."""
    if n % BLOCK:
        raise ValueError("the peer needs whole blocks: N a multiple of %d" % BLOCK)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "ansible.cfg"), "w") as f:
        f.write("[defaults]\ninventory = inventory.ini\nforks = %d\nhost_key_checking = False\n"
                "retry_files_enabled = False\ngathering = explicit\n"
                "interpreter_python = %s\nlocal_tmp = %s/tmp\n"
                % (forks, python, directory))
    with open(os.path.join(directory, "inventory.ini"), "w") as f:
        f.write("[blocks]\n")
        for k in range(n // BLOCK):
            f.write("b%d k=%d net=10.%d p=b%d- ansible_connection=local\n"
                    % (k, k, k % 256, k))
    aws = {"endpoint_url": endpoint_url, "region": "us-east-1",
           "aws_access_key": "testing", "aws_secret_key": "testing"}
    play = [{"name": "benchmark blocks", "hosts": "blocks", "gather_facts": False,
             "module_defaults": {"group/amazon.aws.aws": aws, "group/community.aws.aws": aws},
             "tasks": _tasks()}]
    with open(os.path.join(directory, "playbook.yml"), "w") as f:
        json.dump(play, f, indent=1)


def run_playbook(directory, env, timeout=7200):
    """Runs the playbook; returns (seconds, exit status, output tail)."""
    exe = check_ansible()
    full = dict(env)
    full["ANSIBLE_CONFIG"] = os.path.join(directory, "ansible.cfg")
    full["ANSIBLE_NOCOLOR"] = "1"
    full.pop("AWS_ENDPOINT_URL", None)  # endpoint_url in the play says where
    t0 = time.monotonic()
    p = subprocess.run([exe, "playbook.yml"], cwd=directory, env=full, capture_output=True,
                       text=True, timeout=timeout)
    secs = time.monotonic() - t0
    with open(os.path.join(directory, "ansible.log"), "w") as f:
        f.write(p.stdout)
        f.write(p.stderr)
    return secs, p.returncode, (p.stdout + p.stderr)[-4000:]
