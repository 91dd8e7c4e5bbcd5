using VitSharp.Bench.Peers;

// bench/compare's C# peers, one JSON line each on stdout:
//   Peers ort     --model M.onnx --check C.safetensors --arch A --size HxW --batch N --threads T [--warmup --iterations --seconds]
//   Peers control --weights W.safetensors --check C.safetensors --heads H --arch A --size HxW --batch N --threads T [...]
//   Peers matmul  --threads T [--n 2048]
//   Peers ort-profile --model M.onnx --arch A --size HxW --batch N --threads T [--seconds 5 --warmup 10]   (a table, not JSON)
if (args.Length == 0) { Console.Error.WriteLine("usage: Peers ort|control|matmul --option value ..."); return 2; }
var options = new Args(args[1..]);
return args[0] switch
{
    "ort" => OrtPeer.Run(options),
    "ort-profile" => OrtProfile.Run(options),
    "control" => ControlPeer.Run(options),
    "matmul" => MatmulCeiling.Run(options),
    _ => throw new ArgumentException($"unknown peer '{args[0]}'"),
};
