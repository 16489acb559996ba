"""Worksheet photos made safe to publish: bounded decoding and a re-encoded, metadata-free public copy.

An upload is checked in two steps. :func:`read_header` opens the image and reads only its header (Pillow
does not decode pixels on open): the type must be the declared one, and the pixel count must be within
:data:`MAX_PHOTO_PIXELS` *before* anything is decoded, so a small file that claims a huge image (a 154 KB
PNG of 6300x6300 pixels would decode to 119 MB) is refused at once. :func:`public_copy` then decodes the
whole image, under :data:`DECODE_GATE` (one decode at a time per worker process, a bounded queue behind it),
turns it upright (EXIF orientation) and encodes it again from its pixels alone: no EXIF (GPS position,
camera), XMP, ICC profile, comment or PNG text chunk survives, and neither do bytes appended after the
image (HTML, a ZIP), because only the pixels are written out. The original upload is kept for HQ only.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from PIL import Image, ImageOps, UnidentifiedImageError

from caucus.service.errors import PhotoBusy, PhotoRejected

T = TypeVar("T")

#: what a worksheet photo may be: media type -> Pillow's format name
PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
MAX_PHOTO_BYTES = 10 * 1024 * 1024
#: at most 25 megapixels (6000x4000 is 24): decoded as RGBA at most 100 MB; the chair app sends at most
#: 1600 pixels on the longest side
MAX_PHOTO_PIXELS = 25_000_000
MIN_PHOTO_SIDE = 200
#: decodes at once per worker process, and uploads that may wait for one before "busy, retry" (503)
DECODE_SLOTS = 1
DECODE_QUEUE = 8
DECODE_WAIT_SECONDS = 30.0
_BAD_IMAGE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError,
              Image.DecompressionBombWarning)


@dataclass(frozen=True)
class Header:
    media: str  # the declared media type, normalized (image/png)
    width: int
    height: int


@dataclass(frozen=True)
class PublicImage:
    """The copy of a photo that may be published: its bytes and what they are."""

    data: bytes
    content_type: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _release_freed_memory() -> None:
    """Hand memory freed by a decode back to the system (glibc keeps it in the thread's arena otherwise)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc: nothing to trim
    _LIBC = None


class DecodeGate:
    """At most ``slots`` decodes at once, each run on the gate's own thread(s) (so decodes reuse one
    allocator arena instead of leaving a decode's worth of memory in each request thread); at most ``queue``
    callers waiting for a slot (for at most ``wait_seconds``), beyond that :class:`PhotoBusy` at once, so a
    burst of uploads neither multiplies the memory a decode takes nor ties up every thread of the worker."""

    def __init__(self, slots: int = DECODE_SLOTS, queue: int = DECODE_QUEUE,
                 wait_seconds: float = DECODE_WAIT_SECONDS) -> None:
        self.slots, self.queue, self.wait_seconds = slots, queue, wait_seconds
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="caucus-decode")
        self.waiting = 0  # callers waiting for a slot now
        self.active = 0  # decodes running now
        self.peak = 0  # the most decodes ever running at once
        self.entered = 0  # decodes started, all told

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one decoding slot (waiting in the bounded queue if none is free)."""
        if not self._free.acquire(blocking=False):
            with self._lock:
                if self.waiting >= self.queue:
                    raise PhotoBusy(f"{self.active} photo(s) are being decoded and {self.waiting} are waiting, the "
                                    f"most this server queues ({self.queue}); send the photo again in a moment")
                self.waiting += 1
            try:
                acquired = self._free.acquire(timeout=self.wait_seconds)
            finally:
                with self._lock:
                    self.waiting -= 1
            if not acquired:
                raise PhotoBusy(f"no decoding slot became free within {self.wait_seconds:g} s; send the photo again "
                                "in a moment")
        with self._lock:
            self.active += 1
            self.entered += 1
            self.peak = max(self.peak, self.active)
        try:
            yield
        finally:
            with self._lock:
                self.active -= 1
            self._free.release()

    def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a slot, on the gate's own thread; its freed memory is returned to the system."""
        def task() -> T:
            try:
                return work()
            finally:
                _release_freed_memory()

        with self.slot():
            return self._executor.submit(task).result()


#: the worker's gate (threads of one process share it; each worker process has its own)
DECODE_GATE = DecodeGate()


def _open(data: bytes) -> Image.Image:
    """The image's header only (no pixels decoded), of one of the three accepted formats."""
    return Image.open(io.BytesIO(data), formats=tuple(PHOTO_TYPES.values()))


def read_header(data: bytes, content_type: str) -> Header:
    """Check ``data`` from its header alone: the declared type, the byte and pixel bounds, the minimum side.
    Raises PhotoRejected naming the rule broken. Decodes no pixels."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in PHOTO_TYPES:
        raise PhotoRejected(f"a worksheet photo must be JPEG, PNG or WebP (got {content_type or 'no type'!r})")
    if not data:
        raise PhotoRejected("the photo is empty (0 bytes)")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoRejected(f"the photo is {len(data):,} bytes; the limit is {MAX_PHOTO_BYTES:,} bytes "
                            "(the app resizes photos before sending)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(data) as image:
                kind, (width, height) = image.format, image.size
    except _BAD_IMAGE as exc:
        raise PhotoRejected(f"the photo could not be read as a JPEG, PNG or WebP image ({exc})") from exc
    if width * height > MAX_PHOTO_PIXELS:
        raise PhotoRejected(f"the photo is {width}x{height} pixels ({width * height:,}); at most "
                            f"{MAX_PHOTO_PIXELS:,} pixels are accepted (max-photo-pixels)")
    if kind != PHOTO_TYPES[media]:
        raise PhotoRejected(f"the photo was sent as {media} but its content is {kind or 'unknown'}")
    if min(width, height) < MIN_PHOTO_SIDE:
        raise PhotoRejected(f"the photo is {width}x{height} pixels; a readable worksheet needs at least "
                            f"{MIN_PHOTO_SIDE} pixels on each side")
    return Header(media, width, height)


def _pixels_only(image: Image.Image, target: str) -> Image.Image:
    """The decoded image upright, in a mode ``target`` writes, with nothing but its pixels (``info`` emptied:
    Pillow's writers take the ICC profile, comment and EXIF from it)."""
    ImageOps.exif_transpose(image, in_place=True)
    alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if target == "JPEG":
        mode = image.mode if image.mode in ("L", "RGB") else "RGB"
    elif target == "PNG":
        mode = image.mode if image.mode in ("1", "L", "LA", "RGB", "RGBA") else ("RGBA" if alpha else "RGB")
    else:  # WEBP
        mode = image.mode if image.mode in ("RGB", "RGBA") else ("RGBA" if alpha else "RGB")
    clean = image if mode == image.mode else image.convert(mode)
    clean.info.clear()
    return clean


def public_copy(data: bytes, content_type: str, *, gate: DecodeGate = DECODE_GATE) -> tuple[Header, PublicImage]:
    """(the header, the copy that may be published) of an upload: checked by :func:`read_header` first,
    then decoded in full (inside ``gate``) and re-encoded in its own format from its pixels alone. A
    truncated or corrupt image is refused here."""
    header = read_header(data, content_type)
    target = PHOTO_TYPES[header.media]

    def decode() -> PublicImage:
        out = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with _open(data) as image:
                    image.load()  # the one full decode: a truncated or corrupt file fails here
                    clean = _pixels_only(image, target)
                    if target == "JPEG":
                        clean.save(out, "JPEG", quality=90)
                    elif target == "PNG":
                        clean.save(out, "PNG")
                    else:
                        clean.save(out, "WEBP", quality=90)
                    return PublicImage(out.getvalue(), header.media, *clean.size)
        except _BAD_IMAGE as exc:
            raise PhotoRejected(f"the photo could not be read as an image ({exc})") from exc

    return header, gate.run(decode)


def inspect_image(data: bytes, content_type: str) -> tuple[int, int]:
    """(width, height) of ``data``, which must be a decodable image of the declared type within the bounds;
    raises PhotoRejected naming the rule broken."""
    header, _ = public_copy(data, content_type)
    return header.width, header.height
