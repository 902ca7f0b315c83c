"""Board farms: a labgrid place (serial console, power, flashing tool) as a target for the same framed protocol
that QEMU and a serial port speak. Sweeps on a Ray cluster live in edgeai.bench.runner."""
