"""sppnet's Python side: the reference that the Rust port is checked against, bit for bit.

Modules (run them with `python -m sppnet_ref.<module>` and `PYTHONPATH=python`):
    protocol     the typed Rust<->Python protocol: a job (JSON) in, a reply (JSON + one
                 safetensors file of tensors) out; mirrors src/reference/ on the Rust side
    __main__     `python -m sppnet_ref JOB.json`: runs one job (a parity or fixture suite)
    common       helpers shared by the suites: threads, device, seeded weights, inputs
    yueruchen    our mirror of yueruchen/sppnet-pytorch (each departure commented)
    suites       suites on the mirror: the pool sweep, SppNet, running a saved checkpoint
    ultra        suites on ultralytics' own classes: blocks and blocks of DetectionModels
    torch_files  torch.save files for the porting tests (incl. malicious pickles)
    export       writes modules held in Python as self-describing sppnet checkpoints
    bench        the Python side of `sppnet bench` (a timing server; whole-process forward)
    plot         the latency plot of `sppnet bench --save`
    make_weights regenerates weights/ (`make weights`)
    hostile      crafted hostile inputs for the robustness suite
"""
