"""The web dashboard in a real browser: headless Chromium (Debian's chromium + chromium-driver)
driven by Selenium, against the real `ferry serve --ui-listen` over TLS, with readings uploaded
through the published Viam Python SDK. Signs in, filters and pages the Data table, draws a chart,
runs a query with a bad stage (the API's error shows), creates a pipeline and watches its runs
appear without a reload (the polling refresh), signs out; a viewer sees no edit controls and the
server refuses its delete anyway; another organisation's data never shows. A screenshot of each
page is written to the artefact directory (argv[2], or FERRY_TEST_ARTIFACTS), printed at the end.

Nothing needs the internet: the driver is /usr/bin/chromedriver, named explicitly, so Selenium
Manager never runs. Run by Tests/EndToEndTests/DashboardBrowserTests.swift:
    python3 Tests/python/dashboard_browser_e2e.py /path/to/ferry [ARTEFACT_DIR]"""

import asyncio
import os
import struct
import sys
import time
import zlib
from datetime import datetime, timedelta, timezone

os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager look for a driver online
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("selenium is not installed: pip install selenium (CI's .ci/run does); chromium and chromium-driver come from apt")
    sys.exit(2)

from ferry_e2e import check, connect, ferry, run

ARTEFACTS = os.environ.get("FERRY_TEST_ARTIFACTS") or (sys.argv[2] if len(sys.argv) > 2 else "dashboard-screenshots")
os.makedirs(ARTEFACTS, exist_ok=True)
shots = []


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--ignore-certificate-errors",
                     "--window-size=1280,1000", "--disable-gpu", "--no-first-run"]:
        options.add_argument(argument)
    options.accept_insecure_certs = True  # the server's self-signed certificate
    return webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)


def shot(driver, name):
    path = os.path.join(ARTEFACTS, f"{len(shots) + 1:02d}-{name}.png")
    driver.save_screenshot(path)
    shots.append(path)


def wait(driver, what, condition, timeout=60):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: condition(d))
    except Exception as error:
        check(False, f"{what} (waited {timeout} s: {type(error).__name__})")
        return None


def sign_in(driver, base, key_id, key):
    driver.get(base + "/machines")
    wait(driver, "an unsigned visit lands on the sign-in form", lambda d: d.find_elements(By.ID, "signin"))
    driver.find_element(By.ID, "key_id").send_keys(key_id)
    driver.find_element(By.ID, "key").send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#signin button[type=submit]").click()
    wait(driver, "signing in shows Machines", lambda d: d.current_url.endswith("/machines") and d.find_elements(By.ID, "machines"))


def post_from_page(driver, path):
    """POSTs a form to `path` from inside the page with the page's own CSRF token (what a tampered
    page could send), and returns the HTTP status."""
    return driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const token = document.querySelector('input[name=csrf]').value;
        fetch(arguments[0], {method: 'POST', body: new URLSearchParams({csrf: token}), redirect: 'manual'})
            .then(r => done(r.status)).catch(e => done('error ' + e));""", path)


def png(width, height):
    """A real PNG (a gradient) for the gallery to show."""
    rows = b"".join(b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 128)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def data_values(driver):
    # In one script: the first page's table is replaced in place by its refresh.
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#readings tbody tr td:last-child')).map(td => td.textContent)")


async def main(data, port, _metrics_port, ports):
    base = f"https://127.0.0.1:{ports['ui']}"
    org = ferry("org", "create", "acme", data=data)
    owner_id, owner_key = ferry("key", "create", "--org", org, "--role", "owner", data=data).split()
    viewer_id, viewer_key = ferry("key", "create", "--org", org, "--role", "viewer", data=data).split()
    rival = ferry("org", "create", "rival", data=data)
    rival_id, rival_key = ferry("key", "create", "--org", rival, "--role", "owner", data=data).split()

    # 30 readings three hours ago (backfill finds them), one a minute; the rival's one reading.
    base_time = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    client = await connect(port, owner_id, owner_key)
    await client.data_client.tabular_data_capture_upload(
        tabular_data=[{"readings": {"temperature": 20.0 + (i % 7)}} for i in range(30)], part_id="part-1",
        component_type="rdk:component:sensor", component_name="thermo", method_name="Readings",
        data_request_times=[(base_time + timedelta(minutes=i), base_time + timedelta(minutes=i, seconds=1)) for i in range(30)])
    image_id = await client.data_client.binary_data_capture_upload(
        binary_data=png(64, 48), part_id="part-1", component_type="rdk:component:camera", component_name="cam",
        method_name="ReadImage", file_extension=".png", mime_type="image/png", tags=["gallery"], data_request_times=(base_time, base_time))
    await client.data_client.add_bounding_box_to_image_by_id(image_id, "cup", 0.25, 0.25, 0.75, 0.9, confidence_score=0.8)
    rival_client = await connect(port, rival_id, rival_key)
    await rival_client.data_client.tabular_data_capture_upload(
        tabular_data=[{"readings": {"temperature": 99.0}}], part_id="rival-part", component_type="rdk:component:sensor",
        component_name="rival-sensor", method_name="Readings", data_request_times=[(base_time, base_time)])

    client.close()
    rival_client.close()

    driver = browser()
    try:
        driver.get(base + "/machines")
        wait(driver, "the sign-in page loads", lambda d: d.find_elements(By.ID, "signin"))
        shot(driver, "signin")
        sign_in(driver, base, owner_id, owner_key)
        machines = driver.find_element(By.ID, "machines").text
        check("part-1" in machines and "thermo" in machines, f"Machines lists the part and its component: {machines[:300]}")
        check("rival" not in driver.page_source, "Machines shows nothing of the other organisation")
        shot(driver, "machines")

        # Data: filter, then page.
        driver.find_element(By.LINK_TEXT, "Data").click()
        wait(driver, "the Data page loads", lambda d: d.find_elements(By.ID, "filters"))
        driver.find_element(By.NAME, "component").send_keys("thermo")
        limit = driver.find_element(By.NAME, "limit")
        limit.clear()
        limit.send_keys("12")
        driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
        wait(driver, "the filtered table shows", lambda d: "component=thermo" in d.current_url and d.find_elements(By.ID, "readings"))
        first = data_values(driver)
        check(len(first) == 12, f"the first page has 12 readings: {len(first)}")
        shot(driver, "data-filtered")
        driver.find_element(By.ID, "next-page").click()
        wait(driver, "the next page loads", lambda d: "after=" in d.current_url)
        second = data_values(driver)
        check(len(second) == 12 and second != first, f"the second page has 12 other readings")
        driver.find_element(By.ID, "next-page").click()
        wait(driver, "the last page loads", lambda d: len(data_values(d)) == 6)
        check(not driver.find_elements(By.ID, "next-page"), "the last page has no next link")
        shot(driver, "data-paged")

        # A chart of the temperature.
        driver.get(base + "/data?component=thermo")
        driver.find_element(By.NAME, "chart").send_keys("readings.temperature")
        driver.find_element(By.CSS_SELECTOR, "#filters button[type=submit]").click()
        wait(driver, "the chart draws", lambda d: d.find_elements(By.CSS_SELECTOR, "svg#chart polyline"))
        points = driver.find_element(By.CSS_SELECTOR, "svg#chart polyline").get_attribute("points").split()
        check(len(points) == 30, f"the chart has a point per reading (30 < the point limit): {len(points)}")
        shot(driver, "chart")

        # The gallery: the image with its box, the full view, the download link.
        driver.find_element(By.LINK_TEXT, "Files").click()
        thumb = wait(driver, "the gallery shows the image", lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery .thumb img"))
        if thumb:
            loaded = wait(driver, "the thumbnail loads", lambda d: d.execute_script(
                "const i = document.querySelector('#gallery .thumb img'); return i.complete && i.naturalWidth === 64;"))
            check(bool(loaded), "the thumbnail is the uploaded 64x48 image")
            check(len(driver.find_elements(By.CSS_SELECTOR, "#gallery svg.boxes rect.bbox")) == 1, "its bounding box is drawn")
            check("gallery" in driver.find_element(By.ID, "gallery").text and "cup" in driver.find_element(By.ID, "gallery").text,
                  "its tag and label show")
        shot(driver, "gallery")
        driver.find_element(By.CSS_SELECTOR, "#gallery a").click()
        wait(driver, "the full view opens", lambda d: d.find_elements(By.CSS_SELECTOR, ".full img"))
        check("cup (0.80)" in driver.page_source and bool(driver.find_elements(By.ID, "download")), "the full view has the box and a download")
        status = driver.execute_async_script(
            """const done = arguments[arguments.length - 1];
            fetch(document.getElementById('download').href).then(r => r.arrayBuffer().then(b => done([r.status, b.byteLength])));""")
        check(status[0] == 200 and status[1] == len(png(64, 48)), f"the download is the file: {status}")
        shot(driver, "image")

        # The query console: a bad stage shows the API's error, a good query a table.
        driver.find_element(By.LINK_TEXT, "Query").click()
        wait(driver, "the Query page loads", lambda d: d.find_elements(By.ID, "q"))
        driver.find_element(By.ID, "q").send_keys('[{"$match": {}}, {"$bogus": 1}]')
        driver.find_element(By.CSS_SELECTOR, "#query-form button[type=submit]").click()
        error = wait(driver, "the bad stage's error shows", lambda d: d.find_elements(By.CSS_SELECTOR, "#query-error [role=alert]"))
        if error:
            check("$bogus" in error[0].text and "invalid MQL pipeline" in error[0].text, f"the error as the API words it: {error[0].text}")
        shot(driver, "query-error")
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys('[{"$group": {"_id": "$component_name", "n": {"$sum": 1}}}]')
        driver.find_element(By.CSS_SELECTOR, "#query-form button[type=submit]").click()
        table = wait(driver, "the results table shows", lambda d: d.find_elements(By.ID, "results-table"))
        if table:
            check("thermo" in table[0].text and "30" in table[0].text and "rival" not in table[0].text,
                  f"the results: {table[0].text}")
        shot(driver, "query-results")
        box = driver.find_element(By.ID, "q")
        box.clear()
        box.send_keys('[{"$project": {"_id": 0, "t": "$time_received", "v": "$data.readings.temperature"}}]')
        driver.find_element(By.CSS_SELECTOR, "#query-form button[type=submit]").click()
        wait(driver, "the chart controls show", lambda d: d.find_elements(By.ID, "chart-form"))
        driver.find_element(By.CSS_SELECTOR, "#chart-y option[value=v]").click()
        driver.find_element(By.CSS_SELECTOR, "#chart-form button[type=submit]").click()
        line = wait(driver, "the query's chart draws", lambda d: d.find_elements(By.CSS_SELECTOR, "svg#chart polyline"))
        if line:
            check(len(line[0].get_attribute("points").split()) == 30, "a point per row")
        shot(driver, "query-chart")

        # A pipeline with backfill: its runs appear in the open page, refreshed by polling.
        driver.find_element(By.LINK_TEXT, "Pipelines").click()
        wait(driver, "the create form shows for an owner", lambda d: d.find_elements(By.ID, "create-pipeline"))
        form = driver.find_element(By.ID, "create-pipeline")
        form.find_element(By.NAME, "name").send_keys("hourly-average")
        form.find_element(By.NAME, "schedule").send_keys("0 * * * *")
        form.find_element(By.NAME, "backfill").click()
        form.find_element(By.NAME, "mql").send_keys('[{"$group": {"_id": "$component_name", "avg": {"$avg": "$data.readings.temperature"}}}]')
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait(driver, "the new pipeline's page opens", lambda d: d.find_elements(By.ID, "runs"))
        pipeline_url = driver.current_url
        check(bool(driver.find_elements(By.ID, "delete")), "an owner sees the delete control")
        completed = wait(driver, "a completed run appears without a reload",
                         lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline rect.run-completed"), timeout=180)
        check(bool(completed) and driver.current_url == pipeline_url, "the runs timeline refreshed in place")
        sink = wait(driver, "the sink's summary shows", lambda d: [t for t in d.find_elements(By.ID, "results-table") if "thermo" in t.text])
        if sink:
            check("22.83" in sink[0].text, f"the sink holds the hour's average of 20 + i % 7 over 30 minutes: {sink[0].text}")
        shot(driver, "pipeline-runs")

        # Phone width: nothing but the tables' own scroll areas is wider than the screen.
        driver.set_window_size(390, 844)
        driver.get(base + "/machines")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        check(width <= 400, f"the page fits a phone's width: {width}px")
        shot(driver, "machines-phone")
        driver.set_window_size(1280, 1000)

        # Sign out.
        driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
        wait(driver, "signing out shows the sign-in form", lambda d: d.find_elements(By.ID, "signin"))
        driver.get(base + "/data")
        check(bool(driver.find_elements(By.ID, "signin")), "after signing out, pages ask to sign in again")
        shot(driver, "signed-out")

        # A viewer: no edit controls, and the server refuses a delete it sends anyway.
        sign_in(driver, base, viewer_id, viewer_key)
        driver.get(pipeline_url)
        wait(driver, "the viewer sees the pipeline", lambda d: d.find_elements(By.ID, "runs"))
        check(not driver.find_elements(By.ID, "delete") and not driver.find_elements(By.ID, "disable"),
              "a viewer sees no delete or disable control")
        shot(driver, "viewer-pipeline")
        status = post_from_page(driver, pipeline_url.replace(base, "") + "/delete")
        check(status == 403, f"the server refuses a viewer's delete: {status}")
        driver.get(pipeline_url)
        check(bool(driver.find_elements(By.ID, "runs")), "the pipeline is still there")
    finally:
        driver.quit()
    print("screenshots in " + os.path.abspath(ARTEFACTS) + ": " + ", ".join(os.path.basename(s) for s in shots))


run(main, serve_args=("--ui-listen", "127.0.0.1:0", "--pipeline-start-delay", "0", "--backfill-throttle", "0"),
    extra_ports={"ui": r"serving the web dashboard on https://[^ ]+:(\d+)/"})
