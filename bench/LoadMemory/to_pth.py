#!/usr/bin/python3
"""Re-saves a safetensors checkpoint with torch.save (zip format), so the bench can time VitSharp's .pth reader on
a file written by real PyTorch. Usage: /usr/bin/python3 bench/LoadMemory/to_pth.py IN.safetensors OUT.pth"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "fixtures"))
import torch  # noqa: E402

from safetensors_writer import load_file  # noqa: E402

tensors, _ = load_file(sys.argv[1], strict=False)
torch.save({name: torch.from_numpy(array) for name, array in tensors.items()}, sys.argv[2])
