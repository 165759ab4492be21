"""Deep models on chest CT (issue 9): cached lung inputs, MONAI networks, multi-horizon heads,
cross-validated training, self-supervised pretraining, checkpoint loading and Grad-CAM.

torch and MONAI are imported by the submodules, never by ``ildrad.models``.
"""
