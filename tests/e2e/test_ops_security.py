"""Security defaults: uploads need the bearer token when one is configured, oversized
requests are refused, and the HTTP front listens on loopback unless told otherwise."""
import pytest

from conftest import System, server_url
from test_ops_support import table_exists, upload, write_numbers_csv

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    running = System(tmp_path_factory.mktemp("secured"), server_url(),
                     extra_http=f'write_token = "{TOKEN}"\nmax_upload_bytes = 65536')
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    return write_numbers_csv(tmp_path_factory.mktemp("csv") / "small.csv", 50)


def test_upload_without_token_is_refused_with_401(secured, small_csv):
    status, reply, _ = upload(secured.base_url, small_csv, "no_token")

    assert status == 401, reply
    assert reply["error"] == "unauthorized"
    assert not table_exists(secured, "no_token")


def test_upload_with_a_wrong_token_is_refused_with_401(secured, small_csv):
    status, reply, _ = upload(secured.base_url, small_csv, "wrong_token",
                              headers=["Authorization: Bearer not-the-token-at-all"])

    assert status == 401, reply
    assert TOKEN not in str(reply)
    assert not table_exists(secured, "wrong_token")


def test_upload_with_the_token_is_loaded(secured, small_csv):
    status, reply, _ = upload(secured.base_url, small_csv, "with_token",
                              headers=[f"Authorization: Bearer {TOKEN}"])

    assert status == 201, reply
    assert secured.query("SELECT count(*) FROM with_token") == ["50"]


def test_oversized_upload_is_refused_with_413(secured, tmp_path):
    big = write_numbers_csv(tmp_path / "big.csv", 10000)
    assert big.stat().st_size > 65536

    status, _, _ = upload(secured.base_url, big, "too_big",
                          headers=[f"Authorization: Bearer {TOKEN}"])

    assert status == 413
    assert not table_exists(secured, "too_big")


def test_token_never_appears_in_the_log(secured):
    assert TOKEN not in secured.log_path.read_text(errors="replace")
