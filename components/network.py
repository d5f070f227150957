"""The VPC both targets run in: two AZs, private subnets for Airflow, public subnets for NAT only."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

AZ_COUNT = 2  # MWAA needs exactly two private subnets in different AZs; EKS is happy with two.


@dataclass
class NetworkArgs:
    vpc_cidr: str
    nat_gateways: str  # "single" or "perAz"
    tags: dict[str, str]


def subnet_cidrs(vpc_cidr: str) -> tuple[list[str], list[str]]:
    """Quarter the VPC: two large private subnets (pods take VPC IPs on EKS), two public ones for NAT."""
    quarters = [str(net) for net in ipaddress.IPv4Network(vpc_cidr).subnets(prefixlen_diff=2)]
    return quarters[:AZ_COUNT], quarters[AZ_COUNT:]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("airflow:platform:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        private_cidrs, public_cidrs = subnet_cidrs(args.vpc_cidr)
        zones = aws.get_availability_zones_output(state="available").names

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.vpc_cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags={**args.tags, "Name": f"{name}-vpc"}, opts=child)
        # The default security group of a new VPC allows all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=args.tags, opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=args.tags, opts=child)

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                       routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
                                       tags={**args.tags, "Name": f"{name}-public"}, opts=child)
        self.public_subnet_ids, self.private_subnet_ids, private_rts, nats = [], [], [], []
        for i in range(AZ_COUNT):
            zone = zones.apply(lambda names, i=i: names[i])
            public = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=public_cidrs[i], availability_zone=zone,
                                    map_public_ip_on_launch=False,
                                    tags={**args.tags, "Name": f"{name}-public-{i}", "kubernetes.io/role/elb": "1"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=public.id, route_table_id=public_rt.id, opts=child)
            self.public_subnet_ids.append(public.id)
            if i == 0 or args.nat_gateways == "perAz":
                eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=args.tags, opts=child)
                nats.append(aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public.id,
                                               tags={**args.tags, "Name": f"{name}-nat-{i}"},
                                               opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))
            private = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=private_cidrs[i], availability_zone=zone,
                                     tags={**args.tags, "Name": f"{name}-private-{i}", "kubernetes.io/role/internal-elb": "1"}, opts=child)
            rt = aws.ec2.RouteTable(f"{name}-private-rt-{i}", vpc_id=vpc.id,
                                    routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nats[-1].id}],
                                    tags={**args.tags, "Name": f"{name}-private-{i}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=private.id, route_table_id=rt.id, opts=child)
            self.private_subnet_ids.append(private.id)
            private_rts.append(rt.id)

        # S3 traffic (DAGs, logs, requirements) stays on the AWS network and skips NAT data charges.
        region = aws.get_region_output().region
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
                            service_name=region.apply(lambda r: f"com.amazonaws.{r}.s3"),
                            route_table_ids=private_rts, tags=args.tags, opts=child)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.register_outputs({"vpcId": vpc.id, "privateSubnetIds": self.private_subnet_ids,
                               "publicSubnetIds": self.public_subnet_ids})
