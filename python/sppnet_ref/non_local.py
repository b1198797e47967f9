"""OURS: a mirror of AlexHex7/Non-local_pytorch's `NONLocalBlock2D` (Wang et al. 2018, "Non-local
Neural Networks"), which is on no package registry. Source files, master branch:
lib/non_local_embedded_gaussian.py, lib/non_local_gaussian.py, lib/non_local_dot_product.py and
lib/non_local_concatenation.py — one `_NonLocalBlockND` per file; this mirror keeps their 2-D
path (Conv2d, MaxPool2d((2, 2)), BatchNorm2d) with the same children, keys and ops.

Departures, marked:
- the four files become one class with `mode` ('embedded', 'gaussian', 'dot', 'concatenation');
- upstream's Gaussian `forward` reads `self.store_last_batch_nl_map`, which no constructor sets
  (an AttributeError on every call); the mirror drops that line;
- `return_nl_map` is dropped (the map is not an output of the block).
"""
import torch
from torch import nn
from torch.nn import functional as F

MODES = ("embedded", "gaussian", "dot", "concatenation")


class NONLocalBlock2D(nn.Module):
    def __init__(self, in_channels, inter_channels=None, sub_sample=True, bn_layer=True, mode="embedded"):
        super().__init__()
        assert mode in MODES
        self.mode = mode
        self.sub_sample = sub_sample
        self.in_channels = in_channels
        self.inter_channels = inter_channels
        if self.inter_channels is None:
            self.inter_channels = in_channels // 2
            if self.inter_channels == 0:
                self.inter_channels = 1
        max_pool_layer = nn.MaxPool2d(kernel_size=(2, 2))
        self.g = nn.Conv2d(self.in_channels, self.inter_channels, kernel_size=1, stride=1, padding=0)
        if bn_layer:
            self.W = nn.Sequential(nn.Conv2d(self.inter_channels, self.in_channels, 1, 1, 0),
                                   nn.BatchNorm2d(self.in_channels))
            nn.init.constant_(self.W[1].weight, 0)
            nn.init.constant_(self.W[1].bias, 0)
        else:
            self.W = nn.Conv2d(self.inter_channels, self.in_channels, 1, 1, 0)
            nn.init.constant_(self.W.weight, 0)
            nn.init.constant_(self.W.bias, 0)
        if mode != "gaussian":
            self.theta = nn.Conv2d(self.in_channels, self.inter_channels, 1, 1, 0)
            self.phi = nn.Conv2d(self.in_channels, self.inter_channels, 1, 1, 0)
        if mode == "concatenation":
            self.concat_project = nn.Sequential(nn.Conv2d(self.inter_channels * 2, 1, 1, 1, 0, bias=False), nn.ReLU())
        if sub_sample:
            self.g = nn.Sequential(self.g, max_pool_layer)
            self.phi = max_pool_layer if mode == "gaussian" else nn.Sequential(self.phi, max_pool_layer)

    def forward(self, x):
        batch_size = x.size(0)
        g_x = self.g(x).view(batch_size, self.inter_channels, -1)
        g_x = g_x.permute(0, 2, 1)
        if self.mode == "gaussian":
            theta_x = x.view(batch_size, self.in_channels, -1)
            theta_x = theta_x.permute(0, 2, 1)
            if self.sub_sample:
                phi_x = self.phi(x).view(batch_size, self.in_channels, -1)
            else:
                phi_x = x.view(batch_size, self.in_channels, -1)
            f = torch.matmul(theta_x, phi_x)
            f_div_C = F.softmax(f, dim=-1)
        elif self.mode == "concatenation":
            theta_x = self.theta(x).view(batch_size, self.inter_channels, -1, 1)
            phi_x = self.phi(x).view(batch_size, self.inter_channels, 1, -1)
            h = theta_x.size(2)
            w = phi_x.size(3)
            theta_x = theta_x.repeat(1, 1, 1, w)
            phi_x = phi_x.repeat(1, 1, h, 1)
            concat_feature = torch.cat([theta_x, phi_x], dim=1)
            f = self.concat_project(concat_feature)
            b, _, h, w = f.size()
            f = f.view(b, h, w)
            N = f.size(-1)
            f_div_C = f / N
        else:
            theta_x = self.theta(x).view(batch_size, self.inter_channels, -1)
            theta_x = theta_x.permute(0, 2, 1)
            phi_x = self.phi(x).view(batch_size, self.inter_channels, -1)
            f = torch.matmul(theta_x, phi_x)
            if self.mode == "embedded":
                f_div_C = F.softmax(f, dim=-1)
            else:
                N = f.size(-1)
                f_div_C = f / N
        y = torch.matmul(f_div_C, g_x)
        y = y.permute(0, 2, 1).contiguous()
        y = y.view(batch_size, self.inter_channels, *x.size()[2:])
        W_y = self.W(y)
        return W_y + x
