"""The upload page in a real headless Chromium (tests/browser/upload_test.mjs)."""
import subprocess

from conftest import CASES, ROOT


def test_upload_page_in_chromium(system):
    out_dir = ROOT / "build" / "browser-output"
    run = subprocess.run(["node", str(ROOT / "tests" / "browser" / "upload_test.mjs"),
                          "--base-url", system.base_url, "--cases", str(CASES),
                          "--out", str(out_dir)],
                         capture_output=True, text=True, timeout=300)
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary == "6 passed, 0 failed", summary
    for shot in ("reference_result.png", "catalog_after_upload.png", "live_events.png",
                 "ragged_rows_error.png", "view_created.png", "view_bad_sql.png"):
        assert (out_dir / shot).stat().st_size > 0
