"""Reference mirror of yueruchen/sppnet-pytorch (`spp_layer.py`, `cnn_with_spp.py`).

Written by us from upstream's code (github.com/yueruchen/sppnet-pytorch, now
yifanjiang19/sppnet-pytorch), line for line, carrying the fixes listed in docs/FACTS.md §3.
Every line that departs from upstream says so in a `# FIX:` or `# OURS:` comment:
  FIX  — upstream's line cannot run, or runs wrong; the change is the minimal working reading.
  OURS — a generalisation upstream does not have (levels, sizes, other bin rules); with the
         defaults it reduces to upstream.
The Rust port (src/ops/pyramid.rs, src/modules/yueruchen/spp_net.rs) is tested bit for bit
against this file.
"""
import math

import torch  # FIX: upstream spp_layer.py imports neither torch nor nn.
import torch.nn as nn
import torch.nn.functional as F


# FIX: upstream's signature starts with a stray `self` although this is a free function.
def spatial_pyramid_pool(previous_conv, num_sample, previous_conv_size, out_pool_size):
    """
    previous_conv: a tensor vector of previous convolution layer
    num_sample: an int number of image in the batch
    previous_conv_size: an int vector [height, width] of the matrix features size of previous convolution layer
    out_pool_size: a int vector of expected output size of max pooling layer

    returns: a tensor vector with shape [num_sample x n] is the concentration of multi-level pooling
    """
    for i in range(len(out_pool_size)):
        h_wid = int(math.ceil(previous_conv_size[0] / out_pool_size[i]))
        w_wid = int(math.ceil(previous_conv_size[1] / out_pool_size[i]))
        # FIX: upstream writes `/2`, a float on Python 3 that MaxPool2d rejects; integer floor
        # division (Python 2's reading) is the only one that runs.
        h_pad = (h_wid * out_pool_size[i] - previous_conv_size[0] + 1) // 2
        w_pad = (w_wid * out_pool_size[i] - previous_conv_size[1] + 1) // 2
        maxpool = nn.MaxPool2d((h_wid, w_wid), stride=(h_wid, w_wid), padding=(h_pad, w_pad))
        x = maxpool(previous_conv)
        if i == 0:
            spp = x.view(num_sample, -1)
        else:
            spp = torch.cat((spp, x.view(num_sample, -1)), 1)
    return spp


# OURS: the two other bin rules sppnet offers, written with PyTorch's own ops.
def adaptive_pyramid_pool(x, out_pool_size):
    """Rule::Adaptive: adaptive_max_pool2d(n) per level, flattened per sample, concatenated."""
    return torch.cat([F.adaptive_max_pool2d(x, n).view(x.size(0), -1) for n in out_pool_size], 1)


def paper_pyramid_pool(x, out_pool_size):
    """Rule::Paper (He et al. 2014): window ceil(a/n), stride floor(a/n), no padding."""
    h, w = x.size(2), x.size(3)
    parts = []
    for n in out_pool_size:
        k = (math.ceil(h / n), math.ceil(w / n))
        s = (h // n, w // n)
        parts.append(F.max_pool2d(x, k, stride=s, padding=0).view(x.size(0), -1))
    return torch.cat(parts, 1)


def pyramid_pool(x, levels, rule="yueruchen"):
    """OURS: dispatch on the rule; `yueruchen` is upstream's function, batch-aware."""
    if rule == "yueruchen":
        # FIX: upstream passes num_sample=1, so batches > 1 break; one row per sample instead.
        return spatial_pyramid_pool(x, x.size(0), [int(x.size(2)), int(x.size(3))], levels)
    if rule == "adaptive":
        return adaptive_pyramid_pool(x, levels)
    if rule == "paper":
        return paper_pyramid_pool(x, levels)
    raise ValueError(f"unknown rule {rule}")


class SPP_NET(nn.Module):
    '''
    A CNN model which adds spp layer so that we can input multi-size tensor
    '''
    # OURS: levels, hidden, classes and rule are parameters; upstream hard-codes [4,2,1],
    # Linear(10752, 4096), Linear(4096, 1000) and its own bin rule.
    def __init__(self, opt, input_nc, ndf=64, gpu_ids=[], levels=(4, 2, 1), hidden=4096,
                 classes=1000, rule="yueruchen"):
        super(SPP_NET, self).__init__()
        self.gpu_ids = gpu_ids
        self.output_num = list(levels)
        self.rule = rule  # OURS

        self.conv1 = nn.Conv2d(input_nc, ndf, 4, 2, 1, bias=False)
        # FIX: upstream's forward uses self.LReLU1 but never defines it (issue #11); this is
        # the definition from the authors' own Pedestrian-Synthesis-GAN.
        self.LReLU1 = nn.LeakyReLU(0.2, inplace=True)

        self.conv2 = nn.Conv2d(ndf, ndf * 2, 4, 1, 1, bias=False)
        self.BN1 = nn.BatchNorm2d(ndf * 2)

        self.conv3 = nn.Conv2d(ndf * 2, ndf * 4, 4, 1, 1, bias=False)
        self.BN2 = nn.BatchNorm2d(ndf * 4)

        self.conv4 = nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1, bias=False)
        self.BN3 = nn.BatchNorm2d(ndf * 8)

        self.conv5 = nn.Conv2d(ndf * 8, 64, 4, 1, 0, bias=False)
        # OURS: in-features Σn²·8·ndf (upstream: the literal 10752 = 21·8·64) and sizes.
        self.fc1 = nn.Linear(sum(n * n for n in levels) * ndf * 8, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def features(self, x):
        """OURS: the pooled vector fed to fc1 (upstream's forward up to `spp`)."""
        x = self.conv1(x)
        x = self.LReLU1(x)

        x = self.conv2(x)
        x = F.leaky_relu(self.BN1(x))

        x = self.conv3(x)
        x = F.leaky_relu(self.BN2(x))

        x = self.conv4(x)
        # x = F.leaky_relu(self.BN3(x))
        # x = self.conv5(x)
        # FIX: batch-aware and rule-aware; upstream calls
        # spatial_pyramid_pool(x, 1, [H, W], self.output_num).
        return pyramid_pool(x, self.output_num, self.rule)

    def forward(self, x):
        spp = self.features(x)
        fc1 = self.fc1(spp)
        fc2 = self.fc2(fc1)
        s = nn.Sigmoid()
        output = s(fc2)
        return output


def build(config, opt=None):
    """OURS: an SPP_NET from sppnet's config dict (the `sppnet.config` metadata)."""
    return SPP_NET(opt, config.get("input_nc", 3), ndf=config.get("ndf", 64),
                   levels=config.get("levels", [4, 2, 1]), hidden=config.get("hidden", 4096),
                   classes=config.get("classes", 1000), rule=config.get("rule", "yueruchen"))
