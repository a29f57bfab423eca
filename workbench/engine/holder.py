"""The holder image: a container per host that owns its hostname and network.

The training container joins its holder's network namespace, so a host's name keeps
resolving for the whole job even after its training container has exited (the
training toolkit waits for every host name to resolve before it starts the script).
The image is one tiny static program that sleeps until killed, written here as raw
machine code so it needs no registry, no compiler and no base image.
"""

from __future__ import annotations

import io
import struct
import tarfile
import threading

from workbench import __version__
from workbench.engine.labels import LABEL_ROLE

HOLDER_IMAGE = f"sm-workbench/holder:{__version__}"

# pause() in a loop (x86-64); ppoll(NULL, 0, NULL, NULL) in a loop (arm64 has no pause).
_CODE = {
    "x86_64": (0x3E, bytes.fromhex("b822000000" "0f05" "ebf7")),
    "aarch64": (0xB7, bytes.fromhex(
        "000080d2" "010080d2" "020080d2" "030080d2" "280980d2" "010000d4" "faffff17")),
}
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}
_lock = threading.Lock()


def holder_program(arch: str) -> bytes:
    return static_program(arch, _CODE)


def static_program(arch: str, codes: dict[str, tuple[int, bytes]]) -> bytes:
    """A minimal static ELF64 executable with one loadable segment: `codes` maps an
    architecture to its ELF machine number and position-independent machine code."""
    machine, code = codes[_ALIASES.get(arch, arch)]
    base, header, phentsize = 0x400000, 64, 56
    offset = header + phentsize
    size = offset + len(code)
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    elf = ident + struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, base + offset, header, 0, 0, header, phentsize, 1, 0, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return elf + program + code


def ensure_holder_image(client) -> str:
    """Import the holder image once per engine (a few hundred bytes, well under a second)."""
    from docker.errors import ImageNotFound  # deferred: the Docker SDK (~0.25 s to import)

    with _lock:
        try:
            client.images.get(HOLDER_IMAGE)
            return HOLDER_IMAGE
        except ImageNotFound:
            pass
        arch = client.info().get("Architecture", "x86_64")
        program = holder_program(arch)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("holder")
            info.size = len(program)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(program))
        repository, tag = HOLDER_IMAGE.rsplit(":", 1)
        client.api.import_image_from_data(
            buffer.getvalue(), repository=repository, tag=tag,
            changes=['ENTRYPOINT ["/holder"]', f"LABEL {LABEL_ROLE}=holder-image"],
        )
        return HOLDER_IMAGE
