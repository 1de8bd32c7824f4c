# Writes tiny_dinov2.pth: a DINOv2-layout checkpoint (Meta's key names, torch.save zip format, an
# OrderedDict as Meta's files hold) for the T-112 test config: dim 64, 2 blocks, MLP 256,
# pos_embed grid 16. Element i of the k-th tensor (in the order below) is
# ((i * 7 + k * 13) % 101 - 50) / 500, so tests can check every value. Run once; the output is
# committed. Needs python3-torch (Debian): /usr/bin/python3 make_tiny_dinov2.py
import collections
import torch

D, depth, hidden, grid = 64, 2, 256, 16
shapes = [("cls_token", (1, 1, D)), ("pos_embed", (1, 1 + grid * grid, D)), ("mask_token", (1, D)),
          ("patch_embed.proj.weight", (D, 3, 14, 14)), ("patch_embed.proj.bias", (D,))]
for b in range(depth):
    p = f"blocks.{b}."
    shapes += [(p + "norm1.weight", (D,)), (p + "norm1.bias", (D,)),
               (p + "attn.qkv.weight", (3 * D, D)), (p + "attn.qkv.bias", (3 * D,)),
               (p + "attn.proj.weight", (D, D)), (p + "attn.proj.bias", (D,)), (p + "ls1.gamma", (D,)),
               (p + "norm2.weight", (D,)), (p + "norm2.bias", (D,)),
               (p + "mlp.fc1.weight", (hidden, D)), (p + "mlp.fc1.bias", (hidden,)),
               (p + "mlp.fc2.weight", (D, hidden)), (p + "mlp.fc2.bias", (D,)), (p + "ls2.gamma", (D,))]
shapes += [("norm.weight", (D,)), ("norm.bias", (D,))]

state = collections.OrderedDict()
for k, (name, shape) in enumerate(shapes):
    n = 1
    for s in shape:
        n *= s
    i = torch.arange(n, dtype=torch.int64)
    state[name] = (((i * 7 + k * 13) % 101 - 50).to(torch.float32) / 500).reshape(shape)
torch.save(state, "tiny_dinov2.pth")
with open("tiny_dinov2_keys.txt", "w") as f:
    f.write("\n".join(name for name, _ in shapes) + "\n")
