# Writes the small torch.save fixtures that tests/test_pth.cpp reads, each a few KB. Values are
# multiples of 1/4 (or thirds, for float64), so every dtype holds them exactly and the test can
# recompute them. Run once; the outputs are committed. Needs python3-torch (Debian):
#   cd tests/data && /usr/bin/python3 make_pth_fixtures.py
import collections
import torch

torch.manual_seed(0)


def ramp(n, dtype=torch.float32):
    # -1, -0.75, -0.5, ...: element i is i / 4 - 1
    return (torch.arange(n, dtype=torch.float32) / 4 - 1).to(dtype)


# pth_nested.pth: {"model": OrderedDict of tensors, "epoch": 7, "meta": {...}} with every dtype,
# a Parameter, and views (transposed, sliced, one row, expanded) that share one storage.
grid = ramp(24).reshape(4, 6)
state = collections.OrderedDict()
state["half"] = ramp(6, torch.float16).reshape(2, 3)
state["bfloat"] = ramp(5, torch.bfloat16)
state["double"] = torch.arange(4, dtype=torch.float64) / 3
state["param"] = torch.nn.Parameter(ramp(3))
state["transposed"] = grid.t()      # 6 x 4, strides (1, 6)
state["slice"] = grid[1:3, 2:5]     # 2 x 3, storage offset 8, strides (6, 1)
state["row"] = grid[2]              # 6, storage offset 12
state["expanded"] = ramp(3).expand(2, 3)  # strides (0, 1)
state["scalar"] = torch.tensor(2.5)
state["empty"] = torch.zeros(0, 3)
state["count"] = 3                  # not a tensor: skipped
torch.save({"model": state, "epoch": 7, "meta": {"lr": 0.5, "name": "fixture"}}, "pth_nested.pth")

# pth_state_dict.pth: a module's state_dict (an OrderedDict carrying _metadata, set by BUILD)
# under "state_dict".
linear = torch.nn.Linear(3, 2)
with torch.no_grad():
    linear.weight.copy_(ramp(6).reshape(2, 3))
    linear.bias.copy_(torch.tensor([0.5, -0.5]))
torch.save({"state_dict": linear.state_dict()}, "pth_state_dict.pth")

# pth_protocol4.pth: pickle protocol 4 (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE).
torch.save({"a": ramp(4).reshape(2, 2), "b": ramp(3, torch.float16)}, "pth_protocol4.pth", pickle_protocol=4)
