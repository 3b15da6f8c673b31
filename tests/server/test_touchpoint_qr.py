"""``/s/<slug>/qr.png`` and ``/s/<slug>/qr.svg``: the QR code of a touchpoint's page, public as the page itself, read
back with zxing-cpp to exactly the page's absolute address (under ``SMILEPOST_PUBLIC_URL`` when set, else the
address the request came to); 404 for an unknown or revoked touchpoint. The SVG as Chromium draws it is read in
tests/e2e/test_touchpoint_admin.py."""

from __future__ import annotations

import re

import pytest

from server.qrcodes import qr_inline_svg, qr_png, qr_svg
from server.touchpoints import add_touchpoint, revoke_touchpoint
from tests.support.qrcodes import decoded


@pytest.fixture
def touchpoint(engine, location):
    with engine.begin() as conn:
        return add_touchpoint(conn, location_id=location, name="Table 4")


def test_the_png_reads_back_as_the_pages_address_without_signing_in(client, touchpoint):
    answer = client.get(f"/s/{touchpoint.slug}/qr.png")

    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert decoded(answer.content) == [f"http://testserver/s/{touchpoint.slug}"]


def test_the_code_holds_the_public_url_when_one_is_set(app, client, touchpoint):
    app.state.settings.public_url = "https://feedback.example.com/"

    answer = client.get(f"/s/{touchpoint.slug}/qr.png")

    assert decoded(answer.content) == [f"https://feedback.example.com/s/{touchpoint.slug}"]


def test_the_svg_is_a_scalable_image_of_the_same_code(client, touchpoint):
    url = f"http://testserver/s/{touchpoint.slug}"

    answer = client.get(f"/s/{touchpoint.slug}/qr.svg")

    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"
    svg = answer.text
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg" width="(\d+)mm" height="\1mm" viewBox="0 0 \1 \1"', svg)
    assert f"<title>{url}</title>" in svg and "<script" not in svg
    assert svg.encode() == qr_svg(url, title=url)  # the same segno code as the PNG, which reads back:
    assert decoded(qr_png(url)) == [url]


def test_unknown_and_revoked_touchpoints_have_no_code(client, engine, touchpoint):
    with engine.begin() as conn:
        revoke_touchpoint(conn, touchpoint.id)

    slugs = (touchpoint.slug, "no-such-slug")
    answers = [client.get(f"/s/{slug}/qr.{kind}") for slug in slugs for kind in ("svg", "png")]

    assert [a.status_code for a in answers] == [404] * 4
    assert all(a.headers["content-type"].startswith("text/html") for a in answers)


@pytest.mark.parametrize(
    "text",
    ["http://127.0.0.1:8000/s/AAAAAAAAAAAAAAAAAAAAAA", "https://feedback.example.com/s/-_zZ09-_zZ09-_zZ09-_zZ0",
     "https://a-rather-long-host-name.customer-feedback.example.org:8443/smilepost/s/AbCdEfGhIjKlMnOpQrStUv"],
)  # fmt: skip
def test_every_kind_of_address_reads_back_exactly(text):
    assert decoded(qr_png(text)) == [text]
    inline = qr_inline_svg(text)
    assert inline.startswith("<svg viewBox=") and text not in inline
