"""What each SageMaker training instance type has: vCPUs, memory, and its NVIDIA GPUs.

The one table the GPU assignment and `Workbench.EmulateInstanceResources` read. Figures are
AWS's published ones (EC2 instance type specifications; SageMaker's ml.* types are the same
machines). Trainium types carry Neuron devices, not NVIDIA GPUs: they count as CPU-only
here, and the notice says so. A type this table does not know (a botocore newer than this
table) falls back to "no GPU, no limits" with a warning rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

K80 = "NVIDIA K80"
V100 = "NVIDIA V100"
V100_32 = "NVIDIA V100 32 GB"
A100_40 = "NVIDIA A100 40 GB"
A100_80 = "NVIDIA A100 80 GB"
H100 = "NVIDIA H100"
H200 = "NVIDIA H200"
B200 = "NVIDIA B200"
B300 = "NVIDIA B300"
T4 = "NVIDIA T4"
A10G = "NVIDIA A10G"
L4 = "NVIDIA L4"
L40S = "NVIDIA L40S"
RTX_PRO_6000 = "NVIDIA RTX PRO 6000 Blackwell"
RTX_PRO_4500 = "NVIDIA RTX PRO 4500 Blackwell"
TRAINIUM = "AWS Trainium"
TRAINIUM2 = "AWS Trainium2"


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float | None  # None: not published when this table was written
    gpus: int = 0  # NVIDIA GPUs
    accelerator: str = ""  # what the accelerators are ("NVIDIA A10G", "AWS Trainium")
    neuron_devices: int = 0  # Trainium chips: accelerators, but not GPUs Docker can hand out
    known: bool = True  # False: not in the table; figures unknown

    @property
    def has_gpus(self) -> bool:
        return self.gpus > 0

    def describe_gpus(self) -> str:
        """'1 NVIDIA A10G GPU', '8 NVIDIA H100 GPUs', 'no GPU'."""
        if not self.gpus:
            return "no GPU"
        return f"{self.gpus} {self.accelerator} GPU" + ("s" if self.gpus > 1 else "")


# name: (vCPUs, memory GiB) for CPU types;
#       (vCPUs, memory GiB, NVIDIA GPUs, accelerator[, Neuron devices]) for accelerated ones.
_TABLE: dict[str, tuple] = {
    # --- NVIDIA GPU types ------------------------------------------------------------
    # p2
    "ml.p2.xlarge": (4, 61, 1, K80),
    "ml.p2.8xlarge": (32, 488, 8, K80),
    "ml.p2.16xlarge": (64, 732, 16, K80),
    # p3, p3dn
    "ml.p3.2xlarge": (8, 61, 1, V100),
    "ml.p3.8xlarge": (32, 244, 4, V100),
    "ml.p3.16xlarge": (64, 488, 8, V100),
    "ml.p3dn.24xlarge": (96, 768, 8, V100_32),
    # p4d, p4de
    "ml.p4d.24xlarge": (96, 1152, 8, A100_40),
    "ml.p4de.24xlarge": (96, 1152, 8, A100_80),
    # p5, p5e, p5en
    "ml.p5.4xlarge": (16, 256, 1, H100),
    "ml.p5.48xlarge": (192, 2048, 8, H100),
    "ml.p5e.48xlarge": (192, 2048, 8, H200),
    "ml.p5en.48xlarge": (192, 2048, 8, H200),
    # p6 (p6e-gb200: one Grace Blackwell node of an UltraServer, 4 GPUs)
    "ml.p6-b200.48xlarge": (192, 2048, 8, B200),
    "ml.p6-b300.48xlarge": (192, 4096, 8, B300),
    "ml.p6e-gb200.36xlarge": (144, 960, 4, B200),
    # g4dn
    "ml.g4dn.xlarge": (4, 16, 1, T4),
    "ml.g4dn.2xlarge": (8, 32, 1, T4),
    "ml.g4dn.4xlarge": (16, 64, 1, T4),
    "ml.g4dn.8xlarge": (32, 128, 1, T4),
    "ml.g4dn.12xlarge": (48, 192, 4, T4),
    "ml.g4dn.16xlarge": (64, 256, 1, T4),
    # g5
    "ml.g5.xlarge": (4, 16, 1, A10G),
    "ml.g5.2xlarge": (8, 32, 1, A10G),
    "ml.g5.4xlarge": (16, 64, 1, A10G),
    "ml.g5.8xlarge": (32, 128, 1, A10G),
    "ml.g5.16xlarge": (64, 256, 1, A10G),
    "ml.g5.12xlarge": (48, 192, 4, A10G),
    "ml.g5.24xlarge": (96, 384, 4, A10G),
    "ml.g5.48xlarge": (192, 768, 8, A10G),
    # g6
    "ml.g6.xlarge": (4, 16, 1, L4),
    "ml.g6.2xlarge": (8, 32, 1, L4),
    "ml.g6.4xlarge": (16, 64, 1, L4),
    "ml.g6.8xlarge": (32, 128, 1, L4),
    "ml.g6.16xlarge": (64, 256, 1, L4),
    "ml.g6.12xlarge": (48, 192, 4, L4),
    "ml.g6.24xlarge": (96, 384, 4, L4),
    "ml.g6.48xlarge": (192, 768, 8, L4),
    # g6e
    "ml.g6e.xlarge": (4, 32, 1, L40S),
    "ml.g6e.2xlarge": (8, 64, 1, L40S),
    "ml.g6e.4xlarge": (16, 128, 1, L40S),
    "ml.g6e.8xlarge": (32, 256, 1, L40S),
    "ml.g6e.16xlarge": (64, 512, 1, L40S),
    "ml.g6e.12xlarge": (48, 384, 4, L40S),
    "ml.g6e.24xlarge": (96, 768, 4, L40S),
    "ml.g6e.48xlarge": (192, 1536, 8, L40S),
    # g7e
    "ml.g7e.2xlarge": (8, 64, 1, RTX_PRO_6000),
    "ml.g7e.4xlarge": (16, 128, 1, RTX_PRO_6000),
    "ml.g7e.8xlarge": (32, 256, 1, RTX_PRO_6000),
    "ml.g7e.12xlarge": (48, 512, 2, RTX_PRO_6000),
    "ml.g7e.24xlarge": (96, 1024, 4, RTX_PRO_6000),
    "ml.g7e.48xlarge": (192, 2048, 8, RTX_PRO_6000),
    # g7: GPU counts as g7e's sizes; memory not yet in this table (None: not capped)
    "ml.g7.2xlarge": (8, None, 1, RTX_PRO_4500),
    "ml.g7.4xlarge": (16, None, 1, RTX_PRO_4500),
    "ml.g7.8xlarge": (32, None, 1, RTX_PRO_4500),
    "ml.g7.12xlarge": (48, None, 2, RTX_PRO_4500),
    "ml.g7.24xlarge": (96, None, 4, RTX_PRO_4500),
    "ml.g7.48xlarge": (192, None, 8, RTX_PRO_4500),
    # --- Trainium: Neuron devices, not NVIDIA GPUs (CPU-only here) -------------------
    "ml.trn1.2xlarge": (8, 32, 0, TRAINIUM, 1),
    "ml.trn1.32xlarge": (128, 512, 0, TRAINIUM, 16),
    "ml.trn1n.32xlarge": (128, 512, 0, TRAINIUM, 16),
    "ml.trn2.48xlarge": (192, 2048, 0, TRAINIUM2, 16),
    # --- CPU types -------------------------------------------------------------------
    # m4
    "ml.m4.xlarge": (4, 16),
    "ml.m4.2xlarge": (8, 32),
    "ml.m4.4xlarge": (16, 64),
    "ml.m4.10xlarge": (40, 160),
    "ml.m4.16xlarge": (64, 256),
    # m5
    "ml.m5.large": (2, 8),
    "ml.m5.xlarge": (4, 16),
    "ml.m5.2xlarge": (8, 32),
    "ml.m5.4xlarge": (16, 64),
    "ml.m5.12xlarge": (48, 192),
    "ml.m5.24xlarge": (96, 384),
    # c4
    "ml.c4.xlarge": (4, 7.5),
    "ml.c4.2xlarge": (8, 15),
    "ml.c4.4xlarge": (16, 30),
    "ml.c4.8xlarge": (36, 60),
    # c5
    "ml.c5.xlarge": (4, 8),
    "ml.c5.2xlarge": (8, 16),
    "ml.c5.4xlarge": (16, 32),
    "ml.c5.9xlarge": (36, 72),
    "ml.c5.18xlarge": (72, 144),
    # c5n
    "ml.c5n.xlarge": (4, 10.5),
    "ml.c5n.2xlarge": (8, 21),
    "ml.c5n.4xlarge": (16, 42),
    "ml.c5n.9xlarge": (36, 96),
    "ml.c5n.18xlarge": (72, 192),
    # m6i
    "ml.m6i.large": (2, 8),
    "ml.m6i.xlarge": (4, 16),
    "ml.m6i.2xlarge": (8, 32),
    "ml.m6i.4xlarge": (16, 64),
    "ml.m6i.8xlarge": (32, 128),
    "ml.m6i.12xlarge": (48, 192),
    "ml.m6i.16xlarge": (64, 256),
    "ml.m6i.24xlarge": (96, 384),
    "ml.m6i.32xlarge": (128, 512),
    # c6i
    "ml.c6i.xlarge": (4, 8),
    "ml.c6i.2xlarge": (8, 16),
    "ml.c6i.8xlarge": (32, 64),
    "ml.c6i.4xlarge": (16, 32),
    "ml.c6i.12xlarge": (48, 96),
    "ml.c6i.16xlarge": (64, 128),
    "ml.c6i.24xlarge": (96, 192),
    "ml.c6i.32xlarge": (128, 256),
    # r5d
    "ml.r5d.large": (2, 16),
    "ml.r5d.xlarge": (4, 32),
    "ml.r5d.2xlarge": (8, 64),
    "ml.r5d.4xlarge": (16, 128),
    "ml.r5d.8xlarge": (32, 256),
    "ml.r5d.12xlarge": (48, 384),
    "ml.r5d.16xlarge": (64, 512),
    "ml.r5d.24xlarge": (96, 768),
    # t3
    "ml.t3.medium": (2, 4),
    "ml.t3.large": (2, 8),
    "ml.t3.xlarge": (4, 16),
    "ml.t3.2xlarge": (8, 32),
    # r5
    "ml.r5.large": (2, 16),
    "ml.r5.xlarge": (4, 32),
    "ml.r5.2xlarge": (8, 64),
    "ml.r5.4xlarge": (16, 128),
    "ml.r5.8xlarge": (32, 256),
    "ml.r5.12xlarge": (48, 384),
    "ml.r5.16xlarge": (64, 512),
    "ml.r5.24xlarge": (96, 768),
    # m7i
    "ml.m7i.large": (2, 8),
    "ml.m7i.xlarge": (4, 16),
    "ml.m7i.2xlarge": (8, 32),
    "ml.m7i.4xlarge": (16, 64),
    "ml.m7i.8xlarge": (32, 128),
    "ml.m7i.12xlarge": (48, 192),
    "ml.m7i.16xlarge": (64, 256),
    "ml.m7i.24xlarge": (96, 384),
    "ml.m7i.48xlarge": (192, 768),
    # c7i
    "ml.c7i.large": (2, 4),
    "ml.c7i.xlarge": (4, 8),
    "ml.c7i.2xlarge": (8, 16),
    "ml.c7i.4xlarge": (16, 32),
    "ml.c7i.8xlarge": (32, 64),
    "ml.c7i.12xlarge": (48, 96),
    "ml.c7i.16xlarge": (64, 128),
    "ml.c7i.24xlarge": (96, 192),
    "ml.c7i.48xlarge": (192, 384),
    # r7i
    "ml.r7i.large": (2, 16),
    "ml.r7i.xlarge": (4, 32),
    "ml.r7i.2xlarge": (8, 64),
    "ml.r7i.4xlarge": (16, 128),
    "ml.r7i.8xlarge": (32, 256),
    "ml.r7i.12xlarge": (48, 384),
    "ml.r7i.16xlarge": (64, 512),
    "ml.r7i.24xlarge": (96, 768),
    "ml.r7i.48xlarge": (192, 1536),
    # r6i
    "ml.r6i.large": (2, 16),
    "ml.r6i.xlarge": (4, 32),
    "ml.r6i.2xlarge": (8, 64),
    "ml.r6i.4xlarge": (16, 128),
    "ml.r6i.8xlarge": (32, 256),
    "ml.r6i.12xlarge": (48, 384),
    "ml.r6i.16xlarge": (64, 512),
    "ml.r6i.24xlarge": (96, 768),
    "ml.r6i.32xlarge": (128, 1024),
    # m8i
    "ml.m8i.large": (2, 8),
    "ml.m8i.xlarge": (4, 16),
    "ml.m8i.2xlarge": (8, 32),
    "ml.m8i.4xlarge": (16, 64),
    "ml.m8i.8xlarge": (32, 128),
    "ml.m8i.12xlarge": (48, 192),
    "ml.m8i.16xlarge": (64, 256),
    "ml.m8i.24xlarge": (96, 384),
    "ml.m8i.32xlarge": (128, 512),
    "ml.m8i.48xlarge": (192, 768),
    "ml.m8i.96xlarge": (384, 1536),
    # c8i
    "ml.c8i.xlarge": (4, 8),
    "ml.c8i.2xlarge": (8, 16),
    "ml.c8i.4xlarge": (16, 32),
    "ml.c8i.8xlarge": (32, 64),
    "ml.c8i.12xlarge": (48, 96),
    "ml.c8i.16xlarge": (64, 128),
    "ml.c8i.24xlarge": (96, 192),
    "ml.c8i.32xlarge": (128, 256),
    "ml.c8i.48xlarge": (192, 384),
    "ml.c8i.96xlarge": (384, 768),
    # r8i
    "ml.r8i.large": (2, 16),
    "ml.r8i.xlarge": (4, 32),
    "ml.r8i.2xlarge": (8, 64),
    "ml.r8i.4xlarge": (16, 128),
    "ml.r8i.8xlarge": (32, 256),
    "ml.r8i.12xlarge": (48, 384),
    "ml.r8i.16xlarge": (64, 512),
    "ml.r8i.24xlarge": (96, 768),
    "ml.r8i.32xlarge": (128, 1024),
    "ml.r8i.48xlarge": (192, 1536),
    "ml.r8i.96xlarge": (384, 3072),
    # m7i-flex
    "ml.m7i-flex.large": (2, 8),
    "ml.m7i-flex.xlarge": (4, 16),
    "ml.m7i-flex.2xlarge": (8, 32),
    "ml.m7i-flex.4xlarge": (16, 64),
    "ml.m7i-flex.8xlarge": (32, 128),
    "ml.m7i-flex.12xlarge": (48, 192),
    "ml.m7i-flex.16xlarge": (64, 256),
    # c7i-flex
    "ml.c7i-flex.xlarge": (4, 8),
    "ml.c7i-flex.2xlarge": (8, 16),
    "ml.c7i-flex.4xlarge": (16, 32),
    "ml.c7i-flex.8xlarge": (32, 64),
    "ml.c7i-flex.12xlarge": (48, 96),
    "ml.c7i-flex.16xlarge": (64, 128),
    # m8i-flex
    "ml.m8i-flex.large": (2, 8),
    "ml.m8i-flex.xlarge": (4, 16),
    "ml.m8i-flex.2xlarge": (8, 32),
    "ml.m8i-flex.4xlarge": (16, 64),
    "ml.m8i-flex.8xlarge": (32, 128),
    "ml.m8i-flex.12xlarge": (48, 192),
    "ml.m8i-flex.16xlarge": (64, 256),
    # c8i-flex
    "ml.c8i-flex.xlarge": (4, 8),
    "ml.c8i-flex.2xlarge": (8, 16),
    "ml.c8i-flex.4xlarge": (16, 32),
    "ml.c8i-flex.8xlarge": (32, 64),
    "ml.c8i-flex.12xlarge": (48, 96),
    "ml.c8i-flex.16xlarge": (64, 128),
    # r8i-flex
    "ml.r8i-flex.large": (2, 16),
    "ml.r8i-flex.xlarge": (4, 32),
    "ml.r8i-flex.2xlarge": (8, 64),
    "ml.r8i-flex.4xlarge": (16, 128),
    "ml.r8i-flex.8xlarge": (32, 256),
    "ml.r8i-flex.12xlarge": (48, 384),
    "ml.r8i-flex.16xlarge": (64, 512),
}

INSTANCE_TYPES: dict[str, InstanceType] = {name: InstanceType(name, *row) for name, row in _TABLE.items()}


def instance_type(name: str) -> InstanceType:
    """The figures of an instance type; unknown types get `known=False`, no GPU, no limits."""
    found = INSTANCE_TYPES.get(name)
    if found is not None:
        return found
    return InstanceType(name, vcpus=0, memory_gib=None, known=False)


def looks_accelerated(name: str) -> bool:
    """A type this table does not know, in a family that has accelerators (ml.p*, ml.g*, ml.trn*, ml.inf*)."""
    family = name.split(".")[1] if name.count(".") >= 2 else ""
    return family.startswith(("p", "g", "trn", "inf"))
