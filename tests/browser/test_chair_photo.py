"""The worksheet photo (taken or picked, resized on the phone, sent with an idempotency key), messages from
HQ on the status screen, and a correction sent as a new report with a reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect

from caucus.ledger import make_engine
from caucus.service import load_context
from caucus.service.media import MessageService, PhotoService
from tests.browser.chair_support import check_screen, enter_counts, ledger, open_app, send, sign_in, wait_sent
from tests.browser.conftest import SLUG, LiveServer

Shot = Callable[[Page, str], Path]
CODE = "Poweshiek/7"  # Grinnell 2nd Ward


def _worksheet_photo(path: Path) -> Path:
    """A big phone-camera-sized picture of a worksheet (3000 x 2250 pixels)."""
    image = Image.new("RGB", (3000, 2250), "white")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        draw.line([(150, 200 + i * 160), (2850, 200 + i * 160)], fill="black", width=6)
    draw.rectangle([100, 100, 2900, 2150], outline="black", width=10)
    image.save(path, "JPEG", quality=92)
    return path


def test_photo_is_resized_on_the_phone_and_uploaded_and_hq_messages_show(
    live_server: Callable[..., LiveServer], phone: Page, shot: Shot, tmp_path: Path
) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    sign_in(phone, server, CODE)
    phone.get_by_role("button", name="5 Photo").click()
    picture = _worksheet_photo(tmp_path / "worksheet.jpg")
    phone.get_by_label("Take a photo of the signed worksheet").set_input_files(str(picture))
    expect(phone.get_by_role("img", name="The worksheet photo, as it will be sent")).to_be_visible()
    check_screen(phone, shot, "chair-06-photo")
    send(phone, "Send the photo")
    expect(phone.locator("#outbox-list")).to_contain_text("Sent. HQ has it: photo #1.")
    kept = phone.evaluate("() => JSON.parse(localStorage.getItem('caucus-chair/v1')).outbox[0].body")
    assert kept["dataUrl"] is None and kept["bytes"] > 0  # sent: the phone's storage is freed

    engine = make_engine(server.url)
    try:
        context = load_context(engine, SLUG)
        photos = PhotoService(engine, context).list(CODE)
        assert [(p.width, p.height, p.content_type, p.channel, p.actor) for p in photos] == [
            (1600, 1200, "image/jpeg", "app", f"chair:{CODE}")]
        assert photos[0].size < picture.stat().st_size
        MessageService(engine, context).send(CODE, text="Photo unreadable, please resend it in better light",
                                             actor="reviewer:pat", kind="resend-photo")
    finally:
        engine.dispose()
    phone.get_by_role("button", name="Check with HQ now").click()
    expect(phone.locator("#messages")).to_contain_text("Photo unreadable, please resend it in better light")
    expect(phone.locator("#banner")).to_contain_text("New message from HQ: Photo unreadable, please resend it")
    check_screen(phone, shot, "chair-08-messages")
    phone.get_by_role("button", name="Take the photo again").click()
    expect(phone.get_by_role("heading", name="5. Photo of the signed worksheet")).to_be_visible()
    expect(phone.get_by_role("button", name="Send the photo")).to_be_disabled()


def test_correction_is_a_new_report_with_a_reason(live_server: Callable[..., LiveServer], phone: Page) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    sign_in(phone, server, CODE)
    phone.get_by_label("Eligible caucus-goers counted").fill("382")
    send(phone, "Confirm and send attendance")
    wait_sent(phone, 1)
    phone.get_by_role("button", name="Correct attendance (receipt #1)").click()
    phone.get_by_label("Eligible caucus-goers counted").fill("328")
    send(phone, "Send correction of attendance")
    expect(phone.locator("[data-screen=attendance] .send-error")).to_contain_text("Say why you are correcting it")
    reason = phone.locator("[data-screen=attendance]").get_by_label("Why are you correcting it?")
    reason.fill("digits swapped when typing the head count")
    send(phone, "Send correction of attendance")
    wait_sent(phone, 2)
    rows = ledger(server, CODE)
    assert [(e.seq, e.payload, e.supersedes_seq, e.reason) for e in rows] == [
        (1, {"attendance": 382}, None, None),
        (2, {"attendance": 328}, 1, "digits swapped when typing the head count")]
    expect(phone.locator("#outbox-list")).to_contain_text("(correction of #1: digits swapped when typing")


def test_a_refused_correction_says_why_and_a_fixed_one_goes_through(
    live_server: Callable[..., LiveServer], phone: Page
) -> None:
    server = live_server([CODE])
    open_app(phone, server)
    sign_in(phone, server, CODE)
    phone.get_by_label("Eligible caucus-goers counted").fill("40")
    send(phone, "Confirm and send attendance")
    enter_counts(phone, "first", {"Sanders": 20, "Warren": 18})
    send(phone, "Send first alignment")
    wait_sent(phone, 2)
    phone.get_by_role("button", name="Correct attendance (receipt #1)").click()
    phone.get_by_label("Eligible caucus-goers counted").fill("30")  # below the 38 already in groups
    phone.locator("[data-screen=attendance]").get_by_label("Why are you correcting it?").fill("recounted")
    send(phone, "Send correction of attendance")
    refused = phone.locator("#outbox-list li.state-refused")
    expect(refused).to_contain_text("Not accepted by HQ:")
    expect(refused).to_contain_text("first alignment total 38 exceeds attendance 30")
    expect(phone.locator("#savebar")).to_contain_text("1 not accepted: see Status.")
    assert [e.seq for e in ledger(server, CODE)] == [1, 2]  # nothing refused reaches the ledger
    phone.get_by_role("button", name="Correct attendance (receipt #1)").click()
    phone.get_by_label("Eligible caucus-goers counted").fill("39")
    phone.locator("[data-screen=attendance]").get_by_label("Why are you correcting it?").fill("recounted twice")
    send(phone, "Send correction of attendance")
    expect(phone.locator("#outbox-list")).to_contain_text("Replaced by a fixed version.")
    expect(phone.locator("#savebar")).to_contain_text("Nothing waiting to send.")
    rows = ledger(server, CODE)
    assert [(e.payload, e.supersedes_seq, e.reason) for e in rows][2:] == [({"attendance": 39}, 1, "recounted twice")]
