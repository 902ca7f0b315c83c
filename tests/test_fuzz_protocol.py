"""Fuzzing the firmware's protocol handler on the host build, under AddressSanitizer and UBSan.

tests/fuzz/proto_fuzz.c binds edgeai_bench_feed (and the frame parser under it) to a fake model whose buffers
sit between guard canaries, and aborts on any write outside them, any response that is not one valid frame
that fits its buffer, or any handler state out of range. Here we feed it random bytes and structured hostile
streams (valid frames with wrong length fields, bad CRCs, oversized uploads, offsets near UINT32_MAX, frames cut
off by a timeout), for a bounded time, on several buffer sizes.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from edgeai import REPO_ROOT
from edgeai.protocol import INFO, MAX_PAYLOAD, PING, READ_OUTPUT, RUN, STATS, SYNC, VERSION, WRITE_INPUT, crc16

pytestmark = [pytest.mark.toolchain, pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")]

HARNESS = Path(__file__).parent / "fuzz" / "proto_fuzz.c"
RUNTIME = REPO_ROOT / "compilers" / "c" / "runtime"
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
SIZES = [(37, 13, 16), (1000, 600, 64), (0, 0, 0), (511, 511, 8), (9000, 4200, 32)]  # input, output, arena bytes of the fake model
SECONDS = 12.0
PAUSE = b"\xfe\xfe"  # the harness reads two 0xFE in a row as a pause of 1 s: a half frame times out


def build(out: Path, bench_c: Path = RUNTIME / "edgeai_bench.c") -> Path:
    cmd = ["gcc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", *SANITIZE, f"-I{RUNTIME}", str(HARNESS),
           str(bench_c), str(RUNTIME / "edgeai_proto.c"), "-o", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("proto_fuzz") / "proto_fuzz")


def run_harness(exe: Path, sizes, files: list[Path]) -> subprocess.CompletedProcess:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    return subprocess.run([str(exe), *map(str, sizes), *map(str, files)], capture_output=True, text=True, env=env,
                          timeout=120)


# -- hostile streams ------------------------------------------------------------------------------------------
def frame(command: int, payload: bytes = b"", *, seq: int = 0, version: int = VERSION, length: int | None = None,
          bad_crc: bool = False) -> bytes:
    """A frame; `length` overrides the length field (the payload bytes sent stay as given)."""
    body = bytes([version, command, seq & 0xFF]) + struct.pack("<H", len(payload) if length is None else length)
    body += payload
    crc = crc16(body) ^ (0x1234 if bad_crc else 0)
    return SYNC + body + struct.pack("<H", crc)


NEAR_MAX = [0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFC, 0xFFFFFE00, 0x80000000, 0x7FFFFFFF]


def hostile_frame(rng: random.Random, input_size: int, output_size: int) -> bytes:
    kind = rng.randrange(12)
    seq = rng.randrange(256)
    if kind == 0:  # an upload chunk that runs past the input buffer, or starts past it
        offset = rng.choice([0, input_size, max(input_size - 1, 0), input_size + 1, rng.choice(NEAR_MAX)])
        return frame(WRITE_INPUT, struct.pack("<I", offset) + rng.randbytes(rng.randrange(0, MAX_PAYLOAD - 3)), seq=seq)
    if kind == 1:  # offsets chosen so that offset + count wraps around 2^32
        count = rng.randrange(1, MAX_PAYLOAD - 3)
        offset = (2**32 - count + rng.randrange(-2, 3)) % 2**32
        return frame(WRITE_INPUT, struct.pack("<I", offset) + bytes(count), seq=seq)
    if kind == 2:  # reads past the output buffer, long reads, wrapping offsets
        offset = rng.choice([0, output_size, output_size + 1, rng.randrange(0, output_size + 2), rng.choice(NEAR_MAX)])
        length = rng.choice([0, 1, output_size, output_size + 1, MAX_PAYLOAD - 1, MAX_PAYLOAD, 0xFFFF, (2**32 - offset) % 2**16])
        return frame(READ_OUTPUT, struct.pack("<IH", offset, length), seq=seq)
    if kind == 3:  # a length field that lies: shorter or longer than what is sent, or beyond the maximum
        payload = rng.randbytes(rng.randrange(0, MAX_PAYLOAD + 100))
        return frame(rng.choice([PING, WRITE_INPUT, READ_OUTPUT, RUN]), payload[:MAX_PAYLOAD],
                     length=rng.choice([0, 1, MAX_PAYLOAD, MAX_PAYLOAD + 1, 0xFFFF, rng.randrange(0, 0x10000)]), seq=seq)
    if kind == 4:
        return frame(rng.randrange(256), rng.randbytes(rng.randrange(0, 40)), seq=seq, bad_crc=True)
    if kind == 5:  # payloads of the wrong size for their command
        cmd = rng.choice([WRITE_INPUT, RUN, READ_OUTPUT, INFO, STATS])
        return frame(cmd, rng.randbytes(rng.choice([0, 1, 2, 3, 5, 6, 7, MAX_PAYLOAD])), seq=seq)
    if kind == 6:  # wrong protocol version, unknown commands, responses sent to the device
        return frame(rng.randrange(256), rng.randbytes(rng.randrange(0, 16)), seq=seq,
                     version=rng.choice([0, 1, 2, 3, 255]))
    if kind == 7:  # a whole valid upload, run and read: the handler must still work between the attacks
        chunks, offset = [], 0
        data = rng.randbytes(input_size)
        while offset < input_size:
            n = min(MAX_PAYLOAD - 4, input_size - offset)
            chunks.append(frame(WRITE_INPUT, struct.pack("<I", offset) + data[offset:offset + n], seq=seq))
            offset += n
        return b"".join(chunks) + frame(RUN, struct.pack("<H", rng.randrange(0, 4)), seq=seq) + \
            frame(READ_OUTPUT, struct.pack("<IH", 0, min(output_size, MAX_PAYLOAD - 1)), seq=seq)
    if kind == 8:  # a frame cut short, then a pause: the parser must drop it
        whole = frame(PING, rng.randbytes(rng.randrange(0, MAX_PAYLOAD)), seq=seq)
        return whole[:rng.randrange(1, len(whole))] + PAUSE
    if kind == 9:  # sync bytes inside payloads, and doubled syncs
        return SYNC * rng.randrange(1, 3) + frame(PING, (SYNC + b"\xed") * rng.randrange(0, 100), seq=seq)
    if kind == 10:  # the maximum payload in every command
        return frame(rng.choice([PING, WRITE_INPUT, READ_OUTPUT, RUN, INFO, STATS]), rng.randbytes(MAX_PAYLOAD),
                     seq=seq)
    return rng.randbytes(rng.randrange(1, 64))  # noise


def hostile_stream(rng: random.Random, input_size: int, output_size: int) -> bytes:
    parts = [hostile_frame(rng, input_size, output_size) for _ in range(rng.randrange(1, 12))]
    stream = bytearray(b"".join(parts))
    for _ in range(rng.randrange(0, 3)):  # and a few bit flips on top
        if stream:
            stream[rng.randrange(len(stream))] ^= 1 << rng.randrange(8)
    return bytes(stream)


def fuzz(exe: Path, folder: Path, seconds: float, make) -> int:
    """Streams from make(rng, sizes) in batches of files per harness process, round-robin over the sizes,
    until the time is up. Returns the number of streams fed."""
    rng = random.Random(int(os.environ.get("EDGEAI_FUZZ_SEED", "0")))
    deadline = time.monotonic() + seconds
    fed, batch = 0, 0
    while time.monotonic() < deadline:
        sizes = SIZES[batch % len(SIZES)]
        files = []
        for i in range(50):
            path = folder / f"case{batch}_{i}.bin"
            path.write_bytes(make(rng, sizes))
            files.append(path)
        proc = run_harness(exe, sizes, files)
        if proc.returncode != 0:
            kept = folder.parent / "proto_fuzz_failures"
            kept.mkdir(exist_ok=True)
            for f in files:
                shutil.copy(f, kept)
            pytest.fail(f"harness failed on sizes {sizes} (inputs kept in {kept}):\n{proc.stderr[-4000:]}")
        for f in files:
            f.unlink()
        fed += len(files)
        batch += 1
    return fed


def test_known_attacks_are_harmless(harness, tmp_path):
    """Hand-written worst cases, each on every buffer size."""
    cases = {
        "write_wraps": frame(WRITE_INPUT, struct.pack("<I", 0xFFFFFFFF) + b"x" * 8),
        "write_past_end": frame(WRITE_INPUT, struct.pack("<I", 0) + bytes(MAX_PAYLOAD - 4)) * 3,
        "read_wraps": frame(READ_OUTPUT, struct.pack("<IH", 0xFFFFFFF0, 0x20)),
        "read_long": frame(READ_OUTPUT, struct.pack("<IH", 0, 0xFFFF)),
        "length_65535": SYNC + bytes([VERSION, PING, 0]) + b"\xff\xff" + bytes(600),
        "length_lies_short": frame(PING, bytes(100), length=10) + frame(PING, b"after"),
        "length_lies_long": frame(PING, bytes(10), length=MAX_PAYLOAD) + PAUSE + frame(PING, b"after"),
        "max_ping": frame(PING, bytes(MAX_PAYLOAD)),
        "old_version": frame(PING, b"v1", version=1) + frame(INFO),
        "bad_crc_then_good": frame(PING, b"a", bad_crc=True) + frame(PING, b"b"),
        "run_without_input": frame(RUN, struct.pack("<H", 3)),
        "run_failing_model": frame(WRITE_INPUT, struct.pack("<I", 0) + b"\xee" * 37) + frame(RUN, b"\x01\x00"),
        "only_syncs": SYNC * 2000,
        "all_bytes": bytes(range(256)) * 8,
    }
    files = []
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        files.append(tmp_path / name)
    for sizes in SIZES:
        proc = run_harness(harness, sizes, files)
        assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.mark.slow  # bounded by SECONDS
def test_fuzz_random_bytes(harness, tmp_path):
    fed = fuzz(harness, tmp_path, SECONDS / 3, lambda rng, sizes: rng.randbytes(rng.randrange(0, 4096)))
    assert fed >= 200


@pytest.mark.slow  # bounded by SECONDS
def test_fuzz_hostile_frames(harness, tmp_path):
    fed = fuzz(harness, tmp_path, SECONDS, lambda rng, sizes: hostile_stream(rng, sizes[0], sizes[1]))
    assert fed >= 200


def test_harness_catches_a_missing_bounds_check(tmp_path):
    """The harness is worth something: with the upload bounds check taken out of the handler, it reports the
    out-of-bounds write on the oversized-upload case."""
    source = (RUNTIME / "edgeai_bench.c").read_text()
    check = "if (offset > b->input_size || count > b->input_size - offset) {"
    assert check in source
    broken = tmp_path / "edgeai_bench.c"
    broken.write_text(source.replace(check, "if (0) {"))
    exe = build(tmp_path / "proto_fuzz_broken", broken)
    (tmp_path / "attack").write_bytes(frame(WRITE_INPUT, struct.pack("<I", 0) + bytes(100)))
    proc = run_harness(exe, (37, 13, 16), [tmp_path / "attack"])
    assert proc.returncode != 0
    assert "write outside a buffer" in proc.stderr or "AddressSanitizer" in proc.stderr
