"""Two plans in a row: what `pulumi up` would do between them, and whether AWS would take it.

`update_steps` replays the Pulumi engine's step order for the parts that matter here
(pulumi/pulumi pkg/resource/deploy/step_generator.go):
- resources are stepped in registration order; one whose URN (or an alias) is in the old
  state and whose replacing inputs or `replacementTrigger` changed, or that is `replaceWith`
  a resource being replaced, is replaced;
- a replacement with `deleteBeforeReplace` first deletes every old resource that is
  `replaceWith` it (`findDependentCascadeReplacements`), then itself, then creates it;
  without it the new one is created and the old one deleted at the end ("the delete step is
  generated later on, after all creates/updates finish");
- a resource no longer registered is deleted at the end (`GenerateDeletes`), unless a
  cascade already deleted it.

`Ec2StandIn` applies the steps with the AWS rules that break updates: reservations in a
subnet may not overlap (VPC user guide, subnet CIDR reservations; the CloudFormation
`AWS::EC2::SubnetCidrReservation` Cidr: "must not overlap an existing reservation"), subnets of a VPC may not overlap
(InvalidSubnet.Conflict, VPC user guide, subnet sizing), and a subnet has one route table
association (Resource.AlreadyAssociated). Which inputs force a replacement follows
terraform-provider-aws: every field of a reservation (`vpc_subnet_cidr_reservation.go`,
all ForceNew), a subnet's `cidrBlock`, `availabilityZone` and `vpcId` (`vpc_subnet.go`),
an association's `subnetId`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from ipaddress import IPv4Network
from typing import Any

import pytest

from tests.helpers import ns, planned, planned_with

RESERVATION = "aws:ec2/subnetCidrReservation:SubnetCidrReservation"
SUBNET = "aws:ec2/subnet:Subnet"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
STASH = "pulumi:index:Stash"
REPLACING_INPUTS = {
    RESERVATION: ("cidrBlock", "description", "reservationType", "subnetId"),
    SUBNET: ("cidrBlock", "availabilityZone", "vpcId"),
    ASSOCIATION: ("subnetId",),
}


def _alias_urns(r) -> list[str]:
    """Old URNs a registration answers to (name aliases under the same parent and type)."""
    out = []
    for alias in r.options.get("aliases", []):
        spec = alias.get("spec")
        if spec and spec.get("name"):
            out.append(r.urn.rsplit("::", 1)[0] + "::" + spec["name"])
        elif alias.get("urn"):
            out.append(alias["urn"])
    return out


def update_steps(old, new) -> list[tuple[str, str]]:
    """(operation, URN) in the order the engine runs them, for custom resources."""
    olds = {r.urn: r for r in old.registrations if r.custom}
    steps: list[tuple[str, str]] = []
    deleted: set[str] = set()
    replaced: set[str] = set()
    registered: set[str] = set()
    deferred: list[str] = []
    for r in (r for r in new.registrations if r.custom):
        registered.add(r.urn)
        prior = next((u for u in [r.urn, *_alias_urns(r)] if u in olds), None)
        if prior is None:
            steps.append(("create", r.urn))
            continue
        registered.add(prior)
        before = olds[prior]
        keys = REPLACING_INPUTS.get(r.type, ())
        replace = any(before.inputs.get(k) != r.inputs.get(k) for k in keys)
        replace |= before.options.get("replacementTrigger") != r.options.get("replacementTrigger")
        replace |= any(u in replaced for u in r.options.get("replaceWith", []))
        if not replace:
            if prior in deleted:  # deleted by a cascade: comes back
                steps.append(("create", r.urn))
            continue
        replaced.add(r.urn)
        if r.options.get("deleteBeforeReplace"):
            for dependent in (u for u, o in olds.items() if r.urn in o.options.get("replaceWith", []) and u not in deleted):
                steps.append(("delete", dependent))
                deleted.add(dependent)
            if prior not in deleted:
                steps.append(("delete", prior))
                deleted.add(prior)
            steps.append(("create", r.urn))
        else:
            steps.append(("create", r.urn))
            deferred.append(prior)
    for urn in deferred:
        if urn not in deleted:
            steps.append(("delete", urn))
            deleted.add(urn)
    for urn in olds:
        if urn not in registered and urn not in deleted:
            steps.append(("delete", urn))
            deleted.add(urn)
    return steps


class AwsRefusedError(Exception):
    pass


class Ec2StandIn:
    """The live objects of a deployment, refusing what EC2 refuses.

    The mocks give a resource the same id in both plans, so dependents of a replaced
    resource are not followed through changed ids; the overlaps are what is checked.
    """

    def __init__(self, result) -> None:
        self.live: list[tuple[str, Any]] = []
        self.apply(result, [("create", r.urn) for r in result.registrations if r.custom], result)

    def apply(self, new, steps: list[tuple[str, str]], old=None) -> None:
        by_urn = {r.urn: r for r in new.registrations}
        old_by_urn = {r.urn: r for r in (old or new).registrations}
        for op, urn in steps:
            if op == "delete":
                # the oldest instance: a create-before-delete replacement has two for a while
                index = next(i for i, (u, _) in enumerate(self.live) if u == urn)
                self.live.pop(index)
                continue
            r = by_urn.get(urn) or old_by_urn[urn]
            self._check(r)
            self.live.append((urn, r))

    def _check(self, r) -> None:
        for _, other in self.live:
            if other.type != r.type:
                continue
            if r.type == RESERVATION and other.inputs["subnetId"] == r.inputs["subnetId"]:
                if IPv4Network(other.inputs["cidrBlock"]).overlaps(IPv4Network(r.inputs["cidrBlock"])):
                    raise AwsRefusedError(f"reservation {r.inputs['cidrBlock']} overlaps {other.inputs['cidrBlock']}")
            if r.type == SUBNET and other.inputs["vpcId"] == r.inputs["vpcId"]:
                if IPv4Network(other.inputs["cidrBlock"]).overlaps(IPv4Network(r.inputs["cidrBlock"])):
                    raise AwsRefusedError(f"InvalidSubnet.Conflict: {r.inputs['cidrBlock']} conflicts with {other.inputs['cidrBlock']}")
            if r.type == ASSOCIATION and other.inputs["subnetId"] == r.inputs["subnetId"]:
                raise AwsRefusedError(f"Resource.AlreadyAssociated: {r.inputs['subnetId']}")


def _update(stack: str, mutate: Callable[[dict], None], strip: Callable[[Any], None] | None = None):
    old, new = planned_with(stack, lambda f: None), planned_with(stack, mutate)
    if strip:
        for r in [*old.registrations, *new.registrations]:
            strip(r)
    steps = update_steps(old, new)
    aws = Ec2StandIn(old)
    aws.apply(new, steps, old)
    return old, new, steps


def _wider_range(flat):
    ns(flat, "networks")[0]["ipam"]["rangeEnd"] = "100.64.30.200"


def _reservations(result) -> dict[str, Any]:
    return {r.name: r for r in result.registrations if r.type == RESERVATION}


def test_a_changed_range_replaces_the_subnets_reservations_delete_first():
    old, new, steps = _update("dev", _wider_range)
    before, after = _reservations(old), _reservations(new)
    added = sorted(set(after) - set(before))
    assert "eks-multus-vpc-reservation-100.64.30.64/26" in added  # the merged block, named by its CIDR
    for name in added:
        options = after[name].options
        assert options["deleteBeforeReplace"] is True
        assert options["replaceWith"] == [next(r.urn for r in new.registrations if r.type == STASH)]
    # blocks the range still has keep their names; nothing else in the stack changes name
    assert "eks-multus-vpc-reservation-100.64.30.10/31" in before and "eks-multus-vpc-reservation-100.64.30.10/31" in after
    others = {r.urn for r in old.registrations if r.type != RESERVATION}
    assert others == {r.urn for r in new.registrations if r.type != RESERVATION}
    # every old reservation goes before any new one is made (the anchor's cascade)
    order = [(op, urn) for op, urn in steps if "subnetCidrReservation" in urn]
    first_create = next(i for i, (op, _) in enumerate(order) if op == "create")
    assert all(op == "delete" for op, _ in order[:first_create]) and len(order[:first_create]) == len(before)


def test_without_the_anchor_the_same_update_would_overlap():
    """The check above can fail: drop the anchor's options and AWS refuses the update."""

    def strip(r):
        r.options = {**r.options, "replaceWith": [], "replacementTrigger": None}

    with pytest.raises(AwsRefusedError, match="overlaps"):
        _update("dev", _wider_range, strip)


def test_renaming_a_network_keeps_its_reservations_and_replaces_them_in_place():
    def rename(flat):
        ns(flat, "networks")[0]["name"] = "ipvlan-seed"

    old, new, steps = _update("dev", rename)
    assert set(_reservations(old)) == set(_reservations(new))
    assert all(r.inputs["description"] == "eks-multus default/ipvlan-seed pod addresses" for r in _reservations(new).values())
    assert {op for op, urn in steps if "subnetCidrReservation" in urn} == {"delete", "create"}


def test_renaming_a_multus_subnet_is_a_tag_update_not_a_second_subnet():
    def rename(flat):
        ns(flat, "multusSubnets")[0]["name"] = "seed-net"
        ns(flat, "nodeGroups")[0]["multusInterfaces"] = ["seed-net"]

    _, new, steps = _update("dev", rename)
    subnet = next(r for r in new.registrations if r.type == SUBNET and r.inputs["cidrBlock"] == "100.64.0.0/19")
    assert subnet.name == "eks-multus-vpc-multus-100.64.0.0/19" and subnet.inputs["tags"]["eks-multus.io/multus-subnet"] == "seed-net"
    assert not [s for s in steps if "aws:ec2/subnet:" in s[1] or "routeTableAssociation" in s[1]]


def test_moving_a_subnet_to_another_zone_deletes_it_first():
    def move(flat):
        ns(flat, "multusSubnets")[0]["availabilityZone"] = "ap-northeast-2c"
        ns(flat, "nodeGroups")[0]["availabilityZone"] = "ap-northeast-2c"

    _, new, steps = _update("dev", move)
    urn = next(r.urn for r in new.registrations if r.type == SUBNET and r.name.endswith("100.64.0.0/19"))
    ops = [op for op, u in steps if u == urn]
    assert ops == ["delete", "create"]


def test_reordering_networks_changes_nothing():
    def reorder(flat):
        nets = ns(flat, "networks")
        nets[0], nets[1] = nets[1], nets[0]

    old, new, steps = _update("prod", reorder)
    assert steps == []
    assert {r.urn: r.inputs for r in old.registrations} == {r.urn: r.inputs for r in new.registrations}


def test_options_are_in_resources_json(tmp_path):
    from plan.render import resource_rows

    rows = {row["name"]: row for row in resource_rows(planned("dev"))}
    row = rows["eks-multus-vpc-reservation-100.64.30.16/28"]
    assert set(row["options"]) == {
        "aliases",
        "deleteBeforeReplace",
        "deletedWith",
        "ignoreChanges",
        "protect",
        "replaceOnChanges",
        "replaceWith",
        "replacementTrigger",
        "retainOnDelete",
    }
    assert row["options"]["deleteBeforeReplace"] is True
    # the name it had before reservations were named by CIDR, so an upgraded stack keeps its reservation
    assert row["options"]["aliases"] == [{"spec": {"name": "eks-multus-vpc-default-ipvlan-conf-1-2", "parentUrn": ""}}]
    anchor = rows["eks-multus-vpc-reservations-100.64.0.0/19"]
    assert anchor["options"]["replacementTrigger"][0] == "100.64.30.10/31" and anchor["options"]["deleteBeforeReplace"] is True
    nad = rows["eks-multus-networks-networkattachmentdefinition-default/ipvlan-conf-1"]
    assert nad["options"]["aliases"] == [
        {"spec": {"name": "eks-multus-networks-networkattachmentdefinition-default-ipvlan-conf-1", "parentUrn": ""}}
    ]


def test_every_subnet_is_deleted_before_its_replacement():
    """EC2 keeps one subnet per CIDR range in a VPC; a replacement that overlaps must go first."""
    subnets = [r for r in planned("prod").registrations if r.type == SUBNET]
    assert len(subnets) == 8 and all(r.options["deleteBeforeReplace"] is True for r in subnets)


def test_a_stack_from_before_content_names_keeps_its_resources():
    """The state an earlier version left (old names, no anchor) upgrades without a create or delete."""
    new = planned("prod")
    old = copy.deepcopy(planned_with("prod", lambda f: None))
    earlier = []
    for r in old.registrations:
        if r.type == STASH:
            continue
        names = [a["spec"]["name"] for a in r.options.get("aliases", []) if a.get("spec", {}).get("name")]
        if names:
            r.urn, r.name = r.urn.rsplit("::", 1)[0] + "::" + names[0], names[0]
            r.options = {**r.options, "aliases": [], "replaceWith": []}
        earlier.append(r)
    old.registrations = earlier
    steps = update_steps(old, new)
    # only the two anchors are new (their order between themselves does not matter: neither depends on the other)
    assert sorted(steps) == sorted(
        [
            ("create", next(r.urn for r in new.registrations if r.type == STASH and r.name.endswith("100.64.0.0/21"))),
            ("create", next(r.urn for r in new.registrations if r.type == STASH and r.name.endswith("100.64.8.0/21"))),
        ]
    )
    aws = Ec2StandIn(old)
    aws.apply(new, steps, old)
