"""Images that test the photo safeguards, built with Pillow in the test (no files from elsewhere)."""

from __future__ import annotations

import io
import zlib

from PIL import ExifTags, Image, PngImagePlugin

#: Des Moines, the Iowa State Capitol: where a phone would have put the caucus site
CAPITOL = (41.0, 35.0, 29.0), (93.0, 36.0, 13.0)


def gps_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A phone photo: EXIF with the camera, the GPS position and a comment."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", CAPITOL[0]
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "W", CAPITOL[1]
    image = Image.new("RGB", (width, height), (230, 225, 210))
    for x in range(0, width, 40):  # some ink, so the copy has something to keep
        image.paste((20, 20, 60), (x, 100, x + 20, 140))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"shot at the caucus site")
    return out.getvalue()


def html_png(width: int = 400, height: int = 300) -> bytes:
    """A PNG with a text chunk, an ICC profile and an HTML page appended after its IEND chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 41.5909 -93.6037</x:xmpmeta>")
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (250, 250, 240))
    image.paste((0, 0, 0), (50, 50, 150, 80))
    image.save(out, "PNG", pnginfo=info, icc_profile=b"\0" * 128)
    return out.getvalue() + b"<html><script>document.title='pwned'</script></html>"


def bomb_png(side: int = 6300) -> bytes:
    """A valid PNG header for a side x side RGB image followed by a tiny IDAT: a small file claiming
    side*side pixels (the issue's 6300x6300 upload; its full decode would take 119 MB)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    header = side.to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + \
        chunk(b"IEND", b"")
