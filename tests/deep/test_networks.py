"""Networks: reference parameter counts, monotone multi-horizon risks, masked and Cox losses."""

from __future__ import annotations

import math

import pytest
import torch

from ildrad.models.deep.heads import HorizonHead, cox_loss, horizon_loss
from ildrad.models.deep.networks import build_backbone, count_parameters

# Independent references: torchvision's published ImageNet models (2D, 3 input channels) minus
# their 1000-class classifier (ResNet-18 11,689,512 - 513,000; DenseNet-121 7,978,856 - 1,025,000).
TORCHVISION_FEATURES = {"resnet18": 11_176_512, "densenet121": 6_953_856}


@pytest.mark.parametrize("arch", ["resnet18", "densenet121"])
def test_2d_parameter_counts_match_torchvision_within_1_percent(arch: str) -> None:
    n = count_parameters(build_backbone(arch, "2.5d"))
    assert abs(n - TORCHVISION_FEATURES[arch]) / TORCHVISION_FEATURES[arch] < 0.01


def test_3d_and_swin_parameter_counts_match_monai_definitions() -> None:
    from monai.networks.nets import DenseNet121, SwinUNETR, resnet18

    ref_resnet = count_parameters(resnet18(spatial_dims=3, n_input_channels=1, feed_forward=False))
    assert abs(count_parameters(build_backbone("resnet18", "3d")) - ref_resnet) / ref_resnet < 0.01
    dense = DenseNet121(spatial_dims=3, in_channels=1, out_channels=2)
    ref_dense = count_parameters(dense) - count_parameters(dense.class_layers.out)
    assert abs(count_parameters(build_backbone("densenet121", "3d")) - ref_dense) / ref_dense < 0.01
    for dims, spatial in (("3d", 3), ("2.5d", 2)):
        swin = SwinUNETR(in_channels=1 if spatial == 3 else 3, out_channels=2, feature_size=48, spatial_dims=spatial,
                         use_v2=True)
        ref_swin = count_parameters(swin.swinViT)
        assert abs(count_parameters(build_backbone("swin", dims)) - ref_swin) / ref_swin < 0.01
    # the small variants are genuinely smaller (never to be reported as the reference networks)
    assert count_parameters(build_backbone("resnet18_small", "2.5d")) < 0.1 * TORCHVISION_FEATURES["resnet18"]


def test_horizon_risks_are_monotone_and_the_loss_masks_unassessable_terms() -> None:
    torch.manual_seed(0)
    head = HorizonHead(8, 3)
    risk = head(torch.randn(50, 8) * 5)
    assert (risk[:, 1:] >= risk[:, :-1]).all() and (risk > 0).all() and (risk < 1).all()
    y = torch.tensor([[0.0, float("nan"), float("nan")], [1.0, 1.0, 1.0]])
    r = torch.tensor([[0.2, 0.9, 0.9], [0.5, 0.6, 0.7]])
    expected = -(math.log(0.8) + math.log(0.5) + math.log(0.6) + math.log(0.7)) / 4
    assert float(horizon_loss(r, y)) == pytest.approx(expected, rel=1e-5)


def test_cox_loss_equals_a_hand_computed_partial_likelihood() -> None:
    score = torch.tensor([0.5, -0.2, 1.0])
    time = torch.tensor([1.0, 2.0, 3.0])
    event = torch.tensor([True, False, True])
    # risk sets: t=1 {all}, t=3 {third}; Breslow, no ties
    e = [math.exp(v) for v in (0.5, -0.2, 1.0)]
    expected = -((0.5 - math.log(sum(e))) + (1.0 - math.log(e[2]))) / 2
    assert float(cox_loss(score, time, event)) == pytest.approx(expected, rel=1e-5)


def test_token_batch_norm_equals_batch_norm_on_channels_first_maps() -> None:
    from ildrad.models.deep.networks import TokenBatchNorm

    torch.manual_seed(0)
    tokens = torch.randn(4, 6, 5, 12) * 3 + 1  # (batch, y, x, channels), as inside MONAI's Swin blocks
    ours, reference = TokenBatchNorm(12), torch.nn.BatchNorm2d(12)
    expected = reference(tokens.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert torch.allclose(ours(tokens), expected, atol=1e-5)
    assert torch.allclose(ours.running_var, reference.running_var, atol=1e-5)


def _module_kinds(net: torch.nn.Module) -> set[str]:
    return {type(m).__name__ for m in net.modules()}


def test_swin_normalisation_follows_the_norm_setting() -> None:
    per_scan = _module_kinds(build_backbone("swin_small", "2.5d", "group"))  # MONAI's own: LayerNorm + InstanceNorm
    batch = _module_kinds(build_backbone("swin_small", "2.5d", "batch"))
    assert {"LayerNorm", "InstanceNorm2d"} <= per_scan
    assert {"TokenBatchNorm", "BatchNorm2d"} <= batch and not {"LayerNorm", "InstanceNorm2d"} & batch
