"""A labgrid driver for the test's "real board" place, imported by its environment (labgrid's `imports:`).

There is no board here, so its flashing tool is QEMU: load(ELF) starts the firmware on an emulated mps2-an386
with UART0 on a raw TCP port, the way ser2net exposes a real board's UART to a labgrid NetworkSerialPort. The
rest of the place is labgrid's own: NetworkSerialPort + SerialDriver for the console, ExternalPowerDriver for
power. Each step appends a line to `journal`, so the test sees the order edgeai drove the place in."""

import attr
from labgrid.driver.common import Driver
from labgrid.factory import target_factory
from labgrid.protocol import BootstrapProtocol


@attr.s(eq=False)
class QemuLoader(Driver, BootstrapProtocol):
    port = attr.ib(validator=attr.validators.instance_of(int))
    journal = attr.ib(validator=attr.validators.instance_of(str))

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        self.board = None

    def on_activate(self):
        pass

    def on_deactivate(self):
        if self.board is not None:
            self.board.stop()
            self.board = None

    @Driver.check_active
    def load(self, filename):
        from edgeai.emulator import start_program

        with open(self.journal, "a") as journal:
            journal.write(f"load {filename}\n")
        self.on_deactivate()
        self.board = start_program("cortex-m4", filename, count_instructions=False, serial=("tcp", self.port),
                                   wait_for_client=True)


# labgrid executes an environment's imports each time it loads one: the first registration serves them all.
if "QemuLoader" not in target_factory.drivers:
    target_factory.reg_driver(QemuLoader)
