"""The seed's sample pod, as a stack of its own on top of an eks-multus platform stack.

Everything it needs comes from the platform's outputs: the kubeconfig (secret),
the annotation key, and per network the annotation value and the node selector
of the nodes that carry the network's subnet, with the tolerations those nodes' taints ask for.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config()
platform_stack = config.require("platformStack")
platform = pulumi.StackReference(platform_stack)
network = config.get("network") or "default/ipvlan-conf-1"
image = config.get("image") or "nicolaka/netshoot:v0.13"


def _network(networks: dict) -> dict:
    if network not in networks:
        raise pulumi.RunError(
            f"eks-multus-workload:network: `{network}` is not a network of {platform_stack}; use one of: {', '.join(sorted(networks))}"
        )
    return networks[network]


chosen = platform.require_output("networks").apply(_network)
annotation_key = platform.require_output("networksAnnotationKey")
provider = k8s.Provider("platform", kubeconfig=platform.require_output("kubeconfig"), enable_server_side_apply=True)

pod = k8s.core.v1.Pod(
    "sampleapp-1",
    metadata=pulumi.Output.all(annotation_key, chosen).apply(
        lambda args: {"name": "sampleapp-1", "namespace": args[1]["namespace"], "annotations": {args[0]: args[1]["annotation"]}}
    ),
    spec=chosen.apply(
        lambda net: {
            "nodeSelector": net["nodeSelector"],
            "tolerations": net.get("tolerations", []),
            "containers": [
                {
                    "name": "network-multitool",
                    "image": image,
                    "command": ["sh", "-c", "trap : TERM INT; sleep infinity & wait"],
                    # One routable address of the node's ENI when the network is routable: the scheduler
                    # then places the pod only on a node with one free.
                    "resources": {
                        "requests": {"cpu": "10m", "memory": "32Mi"},
                        "limits": {"memory": "64Mi", **({net["addressResource"]: "1"} if net.get("addressResource") else {})},
                    },
                }
            ],
        }
    ),
    opts=pulumi.ResourceOptions(provider=provider),
)

pulumi.export("pod", pod.metadata.apply(lambda m: f"{m.namespace}/{m.name}"))
pulumi.export("check", pod.metadata.apply(lambda m: f"kubectl -n {m.namespace} exec {m.name} -- ip -d address show net1"))
