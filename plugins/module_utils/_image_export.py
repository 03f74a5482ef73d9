# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading a Docker engine's export of an image into compressed registry layers.

Private to the collection (registry_push): the export is streamed, each layer spooled to a
file, then gzip-compressed deterministically (no name, no time) and handed to a sender in a
pool of threads, so that layers compress on every core while later ones are still being read.
"""

import gzip
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.onlywave.infra.plugins.module_utils._registry import RegistryError

CHUNK = 1024 * 1024


class _StreamReader:
    """A file-like view of the chunks the engine streams."""

    def __init__(self, chunks):
        self.chunks, self.buffer = iter(chunks), b""

    def read(self, size=-1):
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        if size < 0:
            data, self.buffer = self.buffer, b""
        else:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


class _HashingWriter:
    """Writes to a file and hashes what it writes."""

    def __init__(self, raw):
        self.raw, self.hasher = raw, hashlib.sha256()

    def write(self, data):
        self.hasher.update(data)
        return self.raw.write(data)

    def flush(self):
        self.raw.flush()


def compress(source, workdir, level):
    """gzip a stream into a file, deterministically (no name, no time); return (path, digest, size)."""
    fd, path = tempfile.mkstemp(dir=workdir)
    with os.fdopen(fd, "wb") as raw:
        writer = _HashingWriter(raw)
        with gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=level, mtime=0) as zipped:
            shutil.copyfileobj(source, zipped, CHUNK)
    return path, "sha256:" + writer.hasher.hexdigest(), os.path.getsize(path)


def _spool(content, workdir):
    """Copy a stream into a temporary file; return its path."""
    fd, path = tempfile.mkstemp(dir=workdir)
    with os.fdopen(fd, "wb") as raw:
        shutil.copyfileobj(content, raw, CHUNK)
    return path


def _compress_and_send(raw_path, workdir, level, send):
    """Compress a spooled layer, drop the raw copy, and hand the result to send(); return (digest, size, how)."""
    with open(raw_path, "rb") as raw:
        path, digest, size = compress(raw, workdir, level)
    os.unlink(raw_path)
    how = send(path, digest, size)
    os.unlink(path)
    return digest, size, how


def export_layers(engine_image, workdir, level, send):
    """Read the engine's export of an image, compressing and sending its layers while it streams.

    Each layer is spooled to a file as the export is read, then compressed and given to
    send(path, digest, size) in a pool of threads (zlib, hashing and uploads release the GIL),
    so layers compress on every core while later ones are still being read. Blobs under 1 MiB
    are kept in memory until the export's manifest.json (last) tells layers from the config.
    Returns (config bytes, [(digest, size, how), ...] in the manifest's order).
    """
    pending, small = {}, {}
    manifest = None
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        with tarfile.open(fileobj=_StreamReader(engine_image.save(named=False)), mode="r|") as archive:
            for member in archive:
                if not member.isfile():
                    continue
                content = archive.extractfile(member)
                if member.name == "manifest.json":
                    manifest = json.load(content)[0]
                elif member.size < CHUNK or member.name.endswith(".json"):
                    small[member.name] = content.read()
                elif member.name.endswith("layer.tar") or member.name.startswith("blobs/"):
                    raw = _spool(content, workdir)
                    pending[member.name] = pool.submit(_compress_and_send, raw, workdir, level, send)
        if manifest is None:
            raise RegistryError("protocol", "the engine's image export has no manifest.json")
        for path in manifest["Layers"]:
            if path not in pending:
                raw = _spool(_BytesReader(small[path]), workdir)
                pending[path] = pool.submit(_compress_and_send, raw, workdir, level, send)
        layers = [pending[path].result() for path in manifest["Layers"]]
    return small[manifest["Config"]], layers


class _BytesReader:
    def __init__(self, data):
        self.data, self.offset = data, 0

    def read(self, size=-1):
        end = len(self.data) if size < 0 else self.offset + size
        chunk, self.offset = self.data[self.offset : end], min(end, len(self.data))
        return chunk
