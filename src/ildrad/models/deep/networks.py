"""Backbones from MONAI with their reference depths and widths, as embedding extractors.

=====================  ========================================================================
arch                   definition (MONAI)
=====================  ========================================================================
``resnet18``           ``monai.networks.nets.ResNet`` basic blocks [2, 2, 2, 2], widths
                       64-128-256-512, 7-voxel stride-2 stem (as torchvision / MedicalNet),
                       no classifier: 512 features
``densenet121``        ``monai.networks.nets.DenseNet121`` (growth 32, blocks 6-12-24-16), its
                       classifier replaced by the identity: 1024 features
``swin``               ``monai.networks.nets.swin_unetr.SwinTransformer`` as in SwinUNETR-V2's
                       encoder (embed 48, depths 2-2-2-2, heads 3-6-12-24, window 7, patch 2,
                       ``use_v2``: a residual convolution block before every stage, He et al.
                       2023, "SwinUNETR-V2", MICCAI), global mean of the last stage: 768
                       features. The stagewise convolutions give the transformer the local
                       inductive bias that lets it learn lung texture from a small cohort (the
                       plain V1 encoder stayed at chance on the texture test)
``*_small``            the same families with fewer channels / blocks, for tests and CPU trials
                       (named as such; never reported as the reference network)
=====================  ========================================================================

``dims="2.5d"`` builds the 2D network with 3 input channels (three axial slices), ``"3d"`` the 3D
network with 1 channel. All three families use BatchNorm by default (``norm="batch"``; its
batch statistics keep the per-scan texture energy that per-sample normalisation divides away, so the
GroupNorm option, for batch sizes of 1-2, learned texture worse in our tests). For Swin this means
:class:`TokenBatchNorm` (channels-last BatchNorm, the same parameters) as the ``norm_layer`` of
the transformer blocks and patch merging, and BatchNorm in place of the InstanceNorm of the V2
convolution blocks: with MONAI's per-token LayerNorm and per-scan InstanceNorm (``norm="group"``)
the small Swin stayed at chance on the texture test (validation loss never below 0.62, held-out
AUC 0.17-0.47 for seed 1). ``fit`` re-estimates
the running statistics after every epoch, so small CPU batches give sound eval-mode outputs. Parameter counts are checked against torchvision's published 2D
ResNet-18 / DenseNet-121 counts and MONAI's SwinUNETR encoder in ``tests/deep``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ARCHS", "Backbone", "TokenBatchNorm", "build_backbone", "count_parameters"]

ARCHS = ("resnet18", "densenet121", "swin", "resnet18_small", "densenet121_small", "swin_small")
GROUPS = 8  #: GroupNorm groups (Wu & He 2018, "Group normalization", ECCV; batch-size independent)


class Backbone(nn.Module):
    """A network body returning one embedding vector per input (``features`` long)."""

    def __init__(self, body: nn.Module, features: int, pool_last_stage: bool = False) -> None:
        super().__init__()
        self.body = body
        self.features = features
        self.pool_last_stage = pool_last_stage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.pool_last_stage:  # SwinTransformer returns the hidden states of every stage
            last = out[-1]
            return last.flatten(2).mean(-1)
        return out.flatten(1)


def _norm(norm: str) -> str | tuple:
    """MONAI norm argument: GroupNorm with 8 groups (every channel count here is a multiple of 8)."""
    return ("group", {"num_groups": GROUPS}) if norm == "group" else "batch"


def _resnet18(spatial_dims: int, channels: int, widen: float, norm: str) -> Backbone:
    from monai.networks.nets import ResNet

    body = ResNet(
        "basic", [2, 2, 2, 2], [64, 128, 256, 512], spatial_dims=spatial_dims, n_input_channels=channels,
        conv1_t_size=7, conv1_t_stride=2, widen_factor=widen, feed_forward=False, norm=_norm(norm),
    )
    return Backbone(body, int(512 * widen))


def _densenet(spatial_dims: int, channels: int, small: bool, norm: str) -> Backbone:
    from monai.networks.nets import DenseNet

    if small:
        body = DenseNet(spatial_dims, channels, 1, init_features=16, growth_rate=8, block_config=(2, 2, 2, 2),
                        norm=_norm(norm))
    else:
        body = DenseNet(spatial_dims, channels, 1, init_features=64, growth_rate=32, block_config=(6, 12, 24, 16),
                        norm=_norm(norm))
    features = body.class_layers.out.in_features
    body.class_layers.out = nn.Identity()
    return Backbone(body, features)


class TokenBatchNorm(nn.BatchNorm1d):
    """Batch normalisation over the last (channel) axis of channels-last tokens, a drop-in for the
    ``norm_layer(dim)`` of MONAI's Swin blocks and patch merging (same parameters as LayerNorm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def _batch_norm_conv_blocks(body: nn.Module, spatial_dims: int) -> None:
    """Replace the InstanceNorm of SwinUNETR-V2's residual convolution blocks by BatchNorm."""
    batch_norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
    for name in ("layers1c", "layers2c", "layers3c", "layers4c"):
        for block in getattr(body, name):
            for attr in ("norm1", "norm2", "norm3"):
                if hasattr(block.layer, attr):
                    setattr(block.layer, attr, batch_norm(getattr(block.layer, attr).num_features))


def _swin(spatial_dims: int, channels: int, small: bool, norm: str) -> Backbone:
    from monai.networks.nets.swin_unetr import SwinTransformer

    embed, depths, heads = (12, (1, 1, 1, 1), (1, 2, 4, 8)) if small else (48, (2, 2, 2, 2), (3, 6, 12, 24))
    body = SwinTransformer(
        in_chans=channels, embed_dim=embed, window_size=(7,) * spatial_dims, patch_size=(2,) * spatial_dims,
        depths=depths, num_heads=heads, spatial_dims=spatial_dims, use_v2=True,
        norm_layer=TokenBatchNorm if norm == "batch" else nn.LayerNorm,
    )
    if norm == "batch":
        _batch_norm_conv_blocks(body, spatial_dims)
    return Backbone(body, embed * 16, pool_last_stage=True)


def build_backbone(arch: str, dims: str, norm: str = "batch") -> Backbone:
    """The backbone ``arch`` (see :data:`ARCHS`) for ``dims`` ``2.5d`` (2D, 3 channels) or ``3d``;
    ``norm``: ``batch`` or the per-sample ``group`` (GroupNorm for ResNet / DenseNet, MONAI's own
    LayerNorm + InstanceNorm for Swin)."""
    from ildrad.errors import ConfigError

    if arch not in ARCHS:
        raise ConfigError(f"unknown deep architecture '{arch}' (choose from {', '.join(ARCHS)})")
    if dims not in ("2.5d", "3d"):
        raise ConfigError(f"unknown input dims '{dims}' (2.5d or 3d)")
    if norm not in ("group", "batch"):
        raise ConfigError(f"unknown normalisation '{norm}' (group or batch)")
    spatial_dims, channels = (3, 1) if dims == "3d" else (2, 3)
    small = arch.endswith("_small")
    family = arch.removesuffix("_small")
    if family == "resnet18":
        return _resnet18(spatial_dims, channels, 0.125 if small else 1.0, norm)
    if family == "densenet121":
        return _densenet(spatial_dims, channels, small, norm)
    return _swin(spatial_dims, channels, small, norm)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
