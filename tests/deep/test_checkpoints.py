"""Loading local weight files: prefixes stripped, mismatched and missing layers reported."""

from __future__ import annotations

import pytest
import torch

from ildrad.errors import InputError
from ildrad.models.deep.checkpoints import load_weights
from ildrad.models.deep.networks import build_backbone


def test_medicalnet_style_file_loads_with_a_report(tmp_path) -> None:
    source = build_backbone("resnet18_small", "3d")
    state = {f"module.{k}": v.clone() for k, v in source.body.state_dict().items()}
    first_conv = "module.conv1.weight"
    state[first_conv] = torch.zeros(8, 3, 7, 7, 7)  # 3-channel stem: mismatched for a 1-channel net
    dropped = "module.layer4.1.bn2.weight"
    del state[dropped]
    path = tmp_path / "medicalnet.pth"
    torch.save({"state_dict": state}, path)

    target = build_backbone("resnet18_small", "3d")
    report = load_weights(target, path)
    assert [m[0] for m in report.mismatched] == ["body.conv1.weight"]
    assert report.mismatched[0][1] == (8, 3, 7, 7, 7)
    assert report.missing == ["body.layer4.1.bn2.weight"]
    assert len(report.matched) == len(target.state_dict()) - 2
    key = "body.layer2.0.conv1.weight"
    assert torch.equal(target.state_dict()[key], source.state_dict()[key])


def test_plain_state_dict_of_another_network_is_refused(tmp_path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"foo.weight": torch.zeros(3)}, path)
    with pytest.raises(InputError, match="no tensor matches"):
        load_weights(build_backbone("densenet121_small", "2.5d"), path)
    (tmp_path / "junk.pt").write_text("not a checkpoint")
    with pytest.raises(InputError, match="not a torch weight file"):
        load_weights(build_backbone("densenet121_small", "2.5d"), tmp_path / "junk.pt")
