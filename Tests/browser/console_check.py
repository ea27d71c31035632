"""The operator console in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium).

Run by Tests/EndToEndTests/ConsoleBrowserTests.swift against a live daemon and mock upstream:
  SWITCHYARD_BASE, SWITCHYARD_ADMIN_TOKEN, SWITCHYARD_MOCK_BASE, SWITCHYARD_SHOTS (screenshot folder).
Prints one line per check and "N passed, M failed"; exits 1 on any failure, including any JavaScript console
error the pages logged.
"""
import json
import os
import sys
import time
import traceback
import urllib.request
import urllib.error

# Never let Selenium Manager fetch a browser or driver: the system's are named below.
os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait, Select

BASE = os.environ["SWITCHYARD_BASE"]
TOKEN = os.environ["SWITCHYARD_ADMIN_TOKEN"]
MOCK = os.environ["SWITCHYARD_MOCK_BASE"]
SHOTS = os.environ.get("SWITCHYARD_SHOTS", "console-shots")
# Markup in names a user typed: the console must show it as text, never run or render it.
HOSTILE = '<img src=x id=injected onerror="document.title=\'pwned\'">'

passed, failed = 0, 0
console_errors = []


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print("ok   " + name)
    else:
        failed += 1
        print("FAIL " + name + (": " + str(detail) if detail else ""))


def api(method, path, body=None, headers=None):
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("authorization", "Bearer " + TOKEN)
    request.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text else None


def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                 "--no-first-run", "--disable-extensions", "--disable-background-networking"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def collect_console(driver, page):
    # A value the page forgot to leave out shows as the text "null" or "undefined": a defect like a script error.
    stray = driver.execute_script("""
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const found = [];
        while (walker.nextNode()) { const t = walker.currentNode.textContent.trim(); if (t === 'null' || t === 'undefined') found.push(t); }
        return found;
    """)
    if stray:
        console_errors.append(page + ": the page shows the text " + ", ".join(stray))
    for entry in driver.get_log("browser"):
        if entry.get("level") == "SEVERE":
            message = entry.get("message", "")
            # A failed request the page made on purpose (a refused sign-in, the CSRF probe, a signed-out session)
            # is logged by Chromium as a network error, not a script error.
            if "Failed to load resource" in message and any(code in message for code in ("401", "403", "409")):
                continue
            console_errors.append(page + ": " + message)


def wait_for(driver, condition, timeout=10):
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: condition(d))


def status_text(driver):
    return driver.find_element(By.ID, "status").text


def wait_status(driver, fragment, timeout=10):
    try:
        wait_for(driver, lambda d: fragment in status_text(d), timeout)
        return True
    except Exception:
        return False


def settle(driver, element_id, text, timeout=60):
    """Waits (at most `timeout` s) for a live page's element to show `text`, then collects its console; the checks
    that follow say what was missing."""
    try:
        wait_for(driver, lambda d: text in d.find_element(By.ID, element_id).text, timeout)
    except Exception:
        pass
    collect_console(driver, element_id)


def shot(driver, name):
    os.makedirs(SHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))


def visit(driver, path, ready_id):
    driver.get(BASE + path)
    wait_for(driver, lambda d: d.find_elements(By.ID, ready_id))
    collect_console(driver, path)


def main():
    driver = browser()
    try:
        run(driver)
    except Exception:
        traceback.print_exc()
        check("the walk through the console finished", False)
        try:
            shot(driver, "failure")
        except Exception:
            pass
    finally:
        try:
            collect_console(driver, "end")
        finally:
            driver.quit()
    check("no JavaScript console errors", not console_errors, console_errors)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def run(driver):
    # Signed out: any page leads to sign-in, remembering where it was going.
    driver.get(BASE + "/")
    wait_for(driver, lambda d: "/console/signin" in d.current_url)
    check("a signed-out visit lands on sign-in", "next=%2Fconsole%2Foverview" in driver.current_url, driver.current_url)
    token_input = driver.find_element(By.ID, "token")
    check("the token field has focus on arrival", driver.switch_to.active_element.get_attribute("id") == "token")
    check("the token field is labelled", token_input.get_attribute("id") == "token"
          and driver.find_element(By.XPATH, "//label[.//input[@id='token']]").text.startswith("Admin token"))
    token_input.send_keys("not-the-token")
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    check("a wrong token is refused with a message", wait_status(driver, "not this daemon's admin token"))
    shot(driver, "signin")
    token_input.clear()
    # Signing in with the keyboard alone: Enter submits.
    token_input.send_keys(TOKEN + Keys.ENTER)
    wait_for(driver, lambda d: d.current_url.endswith("/console/overview") and d.find_elements(By.ID, "queue-depth"))
    check("signing in goes on to the page asked for", driver.current_url.endswith("/console/overview"))
    cookies = {c["name"]: c for c in driver.get_cookies()}
    session = cookies.get("switchyard_session", {})
    check("the session cookie is HttpOnly and SameSite=Strict", session.get("httpOnly") is True and session.get("sameSite") == "Strict",
          session)
    check("the admin token is in no cookie, URL or page", TOKEN not in json.dumps(list(cookies.values()))
          and TOKEN not in driver.current_url and TOKEN not in driver.page_source)
    headers = urllib.request.urlopen(BASE + "/console/overview", timeout=5).headers
    csp = headers.get("content-security-policy", "")
    check("pages carry a strict Content-Security-Policy", "script-src 'self'" in csp and "unsafe-inline" not in csp, csp)
    collect_console(driver, "overview")

    # Keyboard: the first Tab reaches "Skip to content", which moves focus to the page's main part; the navigation's
    # links follow in order.
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    check("the first Tab reaches the skip link", driver.switch_to.active_element.text == "Skip to content")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    check("which moves focus to the main part", driver.switch_to.active_element.get_attribute("id") == "main")
    driver.get(BASE + "/console/overview")
    wait_for(driver, lambda d: d.find_elements(By.ID, "queue-depth"))
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    body = driver.switch_to.active_element
    body.send_keys(Keys.TAB)
    check("Tab goes on to the navigation", driver.switch_to.active_element.text == "Overview")

    # Users and keys: a user whose name is markup, and a key read once.
    visit(driver, "/console/users", "new-user")
    form = driver.find_element(By.ID, "new-user")
    form.find_element(By.NAME, "name").send_keys(HOSTILE)
    form.find_element(By.NAME, "quota").send_keys("5000000")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check("a user is created", wait_status(driver, "created"))
    wait_for(driver, lambda d: HOSTILE in d.find_element(By.ID, "user-list").text)
    check("a name that is markup shows as text", not driver.find_elements(By.ID, "injected") and driver.title != "pwned")
    row = driver.find_element(By.XPATH, "//tr[@data-user][.//td[contains(., 'id ')]][last()]")
    user_id = int(row.get_attribute("data-user"))
    wait_for(driver, lambda d: row.find_elements(By.XPATH, ".//button[starts-with(@aria-label, 'New key for')]"))
    row.find_element(By.XPATH, ".//button[starts-with(@aria-label, 'New key for')]").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "new-key"))
    key = driver.find_element(By.ID, "new-key").text.strip()
    check("a new key is shown once, in full", key.startswith("sk-") and len(key) > 20, key[:6])
    shot(driver, "users")
    driver.refresh()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-user='%d'] li[data-key]" % user_id))
    check("after a reload the key is not shown again", key not in driver.page_source)

    # Editing a user: quota and multiplier, with the balance that follows.
    row = driver.find_element(By.CSS_SELECTOR, "tr[data-user='%d']" % user_id)
    row.find_element(By.XPATH, ".//button[starts-with(@aria-label, 'Edit user')]").click()
    edit = driver.find_element(By.XPATH, "//tr[@data-user='%d']/following-sibling::tr[1]//form" % user_id)
    quota = edit.find_element(By.NAME, "quota")
    quota.clear()
    quota.send_keys("7000000")
    multiplier = edit.find_element(By.NAME, "rate_multiplier")
    multiplier.clear()
    multiplier.send_keys("1.5")
    edit.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check("a user's quota and multiplier are edited", wait_status(driver, "saved"))
    saved = api("GET", "/api/users/%d" % user_id)[1]
    check("and stored", saved["quota"] == 7000000 and saved["rate_multiplier"] == 1.5, saved)
    wait_for(driver, lambda d: "1.5×" in d.find_element(By.CSS_SELECTOR, "tr[data-user='%d']" % user_id).text)

    # Channels: one to the mock upstream, tested with a real call.
    visit(driver, "/console/channels", "new-channel")
    form = driver.find_element(By.ID, "new-channel")
    form.find_element(By.NAME, "name").send_keys("mock " + HOSTILE)
    form.find_element(By.NAME, "base_url").send_keys(MOCK)
    form.find_element(By.NAME, "api_key").send_keys("sk-upstream-browser-test")
    form.find_element(By.NAME, "models").send_keys("gpt-4o-mini")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check("a channel is added", wait_status(driver, "added"))
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-channel]"))
    check("a channel name that is markup shows as text", not driver.find_elements(By.ID, "injected")
          and ("mock " + HOSTILE) in driver.find_element(By.ID, "channel-list").text)
    driver.find_element(By.XPATH, "//button[starts-with(@aria-label, 'Test mock')]").click()
    check("the channel test makes a real call and answers", wait_status(driver, "answered", 20), status_text(driver))
    shot(driver, "channels")

    # A request relayed with the key made in the console.
    request = urllib.request.Request(BASE + "/v1/chat/completions", method="POST", data=json.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode())
    request.add_header("authorization", "Bearer " + key)
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        check("the console's key relays through the console's channel", response.status == 200)

    # Traces: the request found by its model and key, its detail, and its payload revealed with a reason (audited).
    status, keys = api("GET", "/api/keys?user_id=%d" % user_id)
    key_id = keys["data"][0]["id"]
    deadline = time.time() + 10
    while True:
        visit(driver, "/console/traces?key_id=%d&model=gpt-4o-mini" % key_id, "trace-list")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-trace]")
        if rows or time.time() > deadline:
            break
        time.sleep(0.3)
    check("the relayed request is found by key and model", len(rows) == 1, len(rows))
    shot(driver, "traces")
    rows[0].find_element(By.TAG_NAME, "a").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "trace-detail"))
    detail = driver.find_element(By.ID, "trace-detail").text
    check("a trace's page shows its model, status and tokens", "gpt-4o-mini" in detail and "200" in detail, detail)
    reveal = driver.find_element(By.ID, "reveal-payload")
    reveal.find_element(By.NAME, "reason").send_keys("browser test " + HOSTILE)
    reveal.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda d: "Payload revealed" in status_text(d) or "error" in (d.find_element(By.ID, "status").get_attribute("class") or ""))
    payload = driver.find_element(By.ID, "payload").text
    check("the payload is revealed as text", '"messages"' in payload and "hi" in payload, payload[:200])
    shot(driver, "trace")
    visit(driver, "/console/traces?model=no-such-model", "trace-list")
    check("a search that matches nothing says so", "Nothing here yet." in driver.find_element(By.ID, "trace-list").text)

    # Exit nodes: one added (on loopback) and deleted.
    visit(driver, "/console/nodes", "new-node")
    form = driver.find_element(By.ID, "new-node")
    for name, value in [("name", "exit " + HOSTILE), ("host", "127.0.0.2"), ("expected_ip", "127.0.0.2"),
                        ("relay_url", "http://127.0.0.2:9"), ("relay_key", "rk-browser-test")]:
        form.find_element(By.NAME, name).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    check("a node is added", wait_status(driver, "added"), status_text(driver))
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-node]"))
    check("its name shows as text", ("exit " + HOSTILE) in driver.find_element(By.ID, "node-list").text
          and not driver.find_elements(By.ID, "injected"))
    check("its relay key is never shown", "rk-browser-test" not in driver.page_source)
    shot(driver, "nodes")
    driver.execute_script("window.confirm = () => true")
    driver.find_element(By.XPATH, "//button[starts-with(@aria-label, 'Delete node')]").click()
    check("a node is deleted", wait_status(driver, "deleted") and not api("GET", "/api/nodes")[1]["data"])

    # Reconcile: a dry run started from the console and followed to its end.
    visit(driver, "/console/reconcile", "reconcile-runs")
    driver.find_element(By.ID, "reconcile-dry-run").click()
    wait_for(driver, lambda d: "/console/reconcile/" in d.current_url and d.find_elements(By.ID, "reconcile-run"))
    settle(driver, "reconcile-run", "succeeded")
    run_text = driver.find_element(By.ID, "reconcile-run").text
    check("a reconcile dry run finishes with a line per channel", "succeeded" in run_text and "dry run" in run_text
          and len(driver.find_elements(By.CSS_SELECTOR, "#reconcile-run tr[data-channel]")) >= 1, run_text)
    shot(driver, "reconcile")

    # Jobs: a discarded job retried; a schedule paused, resumed and run now.
    status, created = api("POST", "/api/jobs", {"kind": "noop", "args": {"fail_times": 1}, "max_attempts": 1, "queue": "default"})
    check("a job that fails once is enqueued", status == 201, created)
    job_id = created["id"]
    deadline = time.time() + 20
    while time.time() < deadline and api("GET", "/api/jobs/%d" % job_id)[1]["state"] != "discarded":
        time.sleep(0.2)
    visit(driver, "/console/jobs/%d" % job_id, "job-detail")
    check("the job page shows it discarded with its error", "discarded" in driver.find_element(By.ID, "job-detail").text)
    shot(driver, "job")
    driver.find_element(By.XPATH, "//section[@id='job-detail']//button[text()='Retry']").click()
    check("retry is accepted", wait_status(driver, "will run again"))
    deadline = time.time() + 20
    while time.time() < deadline and api("GET", "/api/jobs/%d" % job_id)[1]["state"] != "completed":
        time.sleep(0.2)
    check("the retried job completes", api("GET", "/api/jobs/%d" % job_id)[1]["state"] == "completed")

    visit(driver, "/console/jobs", "job-counts")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr[data-schedule]"))
    name = driver.find_element(By.CSS_SELECTOR, "tr[data-schedule]").get_attribute("data-schedule")
    driver.find_element(By.XPATH, "//button[@aria-label='Pause %s']" % name).click()
    wait_for(driver, lambda d: d.find_elements(By.XPATH, "//button[@aria-label='Resume %s']" % name))
    check("a schedule is paused", not next(s for s in api("GET", "/api/schedules")[1]["schedules"] if s["name"] == name)["enabled"])
    driver.find_element(By.XPATH, "//button[@aria-label='Resume %s']" % name).click()
    wait_for(driver, lambda d: d.find_elements(By.XPATH, "//button[@aria-label='Pause %s']" % name))
    check("and resumed", next(s for s in api("GET", "/api/schedules")[1]["schedules"] if s["name"] == name)["enabled"])
    driver.find_element(By.XPATH, "//button[@aria-label='Run %s now']" % name).click()
    check("run now enqueues its job", wait_status(driver, name + ": job #"), status_text(driver))
    shot(driver, "jobs")
    Select(driver.find_element(By.CSS_SELECTOR, "#job-filter select[name=state]")).select_by_value("completed")
    driver.find_element(By.CSS_SELECTOR, "#job-filter button[type=submit]").click()
    wait_for(driver, lambda d: "state=completed" in d.current_url and d.find_elements(By.CSS_SELECTOR, "tr[data-job]"))
    states = {e.text for e in driver.find_elements(By.CSS_SELECTOR, "tr[data-job] .badge")}
    check("the job list filters by state (a bookmarkable URL)", states == {"completed"}, states)

    # Batch import: three upstreams against the mock's faults (one good, one refused, one warming up), watched live,
    # rolled back after a dry run.
    request = urllib.request.Request(MOCK + "/_mock/faults", method="POST", data=json.dumps([
        {"key": "sk-browser-revoked", "fault": {"status": 401}}, {"key": "sk-browser-warming", "fault": {"status": 503, "times": 2}}]).encode())
    request.add_header("content-type", "application/json")
    urllib.request.urlopen(request, timeout=5).read()
    channels_before = len(api("GET", "/api/channels?limit=500")[1]["data"])
    visit(driver, "/console/imports", "new-import")
    form = driver.find_element(By.ID, "new-import")
    form.find_element(By.NAME, "list").send_keys("\n".join("%s %s" % (MOCK, key) for key in
                                                          ["sk-browser-good", "sk-browser-revoked", "sk-browser-warming"]))
    for name, value in [("confirm_delay_s", "0"), ("retry_window_s", "60")]:
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(driver, lambda d: "/console/imports/" in d.current_url and d.find_elements(By.ID, "import-run"))
    run_id = driver.current_url.rsplit("/", 1)[1]
    settle(driver, "import-run", "partially_succeeded")
    head = driver.find_element(By.ID, "import-run").text
    check("the run is watched live to its end", "partially_succeeded" in head, head)
    check("its events arrive on the page as they happen", len(driver.find_elements(By.CSS_SELECTOR, "#import-events li")) >= 3)
    items = driver.find_element(By.ID, "import-items").text
    check("the items show their outcome and classification", "auth_failed" in items and items.count("created") >= 2, items)
    wait_for(driver, lambda d: "run_id" in d.find_element(By.ID, "artifact").text)
    check("the run's artifact is shown", run_id in driver.find_element(By.ID, "artifact").text)
    shot(driver, "import")
    check("the import made two channels", len(api("GET", "/api/channels?limit=500")[1]["data"]) == channels_before + 2)
    driver.find_element(By.ID, "rollback-dry-run").click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "rollback-plan"))
    check("a rollback's dry run says what it would undo and changes nothing",
          "would_roll_back" in driver.find_element(By.ID, "rollback-plan").text
          and len(api("GET", "/api/channels?limit=500")[1]["data"]) == channels_before + 2)
    driver.find_element(By.ID, "rollback-apply").click()
    check("the rollback applies", wait_status(driver, "rolled back"))
    check("and removes the channels the import made", len(api("GET", "/api/channels?limit=500")[1]["data"]) == channels_before)
    shot(driver, "import-rolled-back")

    # Artifacts: the import's summary listed, shown and verified against its schema.
    visit(driver, "/console/artifacts?kind=batch-import", "artifact-list")
    check("the import's artifact is listed", run_id in driver.find_element(By.ID, "artifact-list").text)
    driver.find_element(By.PARTIAL_LINK_TEXT, run_id).click()
    wait_for(driver, lambda d: d.find_elements(By.ID, "artifact-detail"))
    driver.find_element(By.ID, "verify-artifact").click()
    wait_for(driver, lambda d: d.find_element(By.ID, "verify-result").text)
    check("and verifies as valid", "valid" in driver.find_element(By.ID, "verify-result").text
          and "invalid" not in driver.find_element(By.ID, "verify-result").text, driver.find_element(By.ID, "verify-result").text)
    shot(driver, "artifact")

    # The overview: the request relayed above is on its charts and in its tables (read from the rollups the record
    # writer keeps; it flushes every 100 ms, so a reload or two may be needed).
    deadline = time.time() + 10
    while True:
        visit(driver, "/console/overview", "by-model")
        text = driver.find_element(By.ID, "by-model").text
        if "gpt-4o-mini" in text or time.time() > deadline:
            break
        time.sleep(0.3)
    check("the overview shows the relayed request by model", "gpt-4o-mini" in text, text)
    check("and by channel, under the channel's name", ("mock " + HOSTILE) in driver.find_element(By.ID, "by-channel").text)
    check("with a requests chart drawn as SVG", len(driver.find_elements(By.CSS_SELECTOR, "svg.chart polyline")) >= 4)
    check("and bars by model and by channel", len(driver.find_elements(By.CSS_SELECTOR, "#by-model svg.bars rect.bar")) >= 1
          and len(driver.find_elements(By.CSS_SELECTOR, "#by-channel svg.bars rect.bar")) >= 1)
    tiles = driver.find_element(By.ID, "totals").text
    check("and totals for the window", "Requests" in tiles and "Latency p50" in tiles, tiles)
    shot(driver, "overview")
    driver.find_element(By.LINK_TEXT, "Last week").click()
    wait_for(driver, lambda d: "window=week" in d.current_url and d.find_elements(By.ID, "by-model"))
    check("the week window is a bookmarkable URL with the same request", "gpt-4o-mini" in driver.find_element(By.ID, "by-model").text)
    shot(driver, "overview-week")

    # A phone-width screen.
    driver.set_window_size(390, 844)
    visit(driver, "/console/channels", "channel-list")
    width = driver.execute_script("return document.documentElement.scrollWidth")
    check("at phone width the page does not scroll sideways", width <= 400, width)
    shot(driver, "channels-phone")
    driver.set_window_size(1280, 900)

    # A change without the session's CSRF token is refused, even with the cookie.
    status = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/api/users', {method: 'POST', credentials: 'same-origin', headers: {'content-type': 'application/json'},
                             body: JSON.stringify({name: 'csrf-probe'})}).then(r => done(r.status), () => done(0));
    """)
    check("a change without X-CSRF-Token is refused (403)", status == 403, status)
    check("and made nothing", all(u["name"] != "csrf-probe" for u in api("GET", "/api/users?limit=500")[1]["data"]))

    # Sign-out ends the session for good, not only in this browser.
    old = {c["name"]: c["value"] for c in driver.get_cookies()}["switchyard_session"]
    driver.find_element(By.ID, "signout").click()
    wait_for(driver, lambda d: "/console/signin" in d.current_url)
    probe = urllib.request.Request(BASE + "/api/users")
    probe.add_header("cookie", "switchyard_session=" + old)
    try:
        urllib.request.urlopen(probe, timeout=5)
        replayed = 200
    except urllib.error.HTTPError as error:
        replayed = error.code
    check("after sign-out the old cookie is refused (401)", replayed == 401, replayed)


if __name__ == "__main__":
    main()
