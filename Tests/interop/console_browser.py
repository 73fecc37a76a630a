"""The admin console in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium):
an administrator signs in through the development identity provider, sees a session appear after an invocation,
stops it with the console's button, and finds the session's start, its end and who ended it in the audit log.

Arguments: gateway base URL, invocation URL of a sandboxed agent, an invoke API key, the agent's runtime id, and
the session id to use. Prints one OK line per check; exits non-zero at the first failed one."""
import json
import signal
import sys
import tempfile
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

base, invoke_url, invoke_key, runtime_id, session_id = sys.argv[1:6]
# A browser that stops answering must not hang the test run.
signal.alarm(180)


def check(condition, message, detail=""):
    if not condition:
        print(f"FAILED {message}: {detail}"[:4000])
        sys.exit(1)
    print(f"OK {message}")


def browser():
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking", "--no-proxy-server",
                     f"--user-data-dir={tempfile.mkdtemp(prefix='console-browser-')}"]:
        options.add_argument(argument)
    # Chromium occasionally fails to come up on a loaded machine ("DevToolsActivePort file doesn't exist"): that is
    # the browser's start, not the console, so it gets a second chance, said out loud.
    for attempt in (1, 2):
        try:
            driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
            break
        except WebDriverException as error:
            if attempt == 2:
                raise
            print(f"NOTE the browser did not start ({str(error).splitlines()[0][:200]}); starting it again")
    driver.set_page_load_timeout(30)
    return driver


def wait(driver):
    """Twenty seconds for a condition; an element the console re-rendered while it was read is read again."""
    return WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def wait_for_heading(driver, text):
    try:
        wait(driver).until(lambda d: heading(d) == text)
    except TimeoutException:
        check(False, f"the page titled {text!r} appears", driver.current_url + "\n" + driver.page_source)


def table_rows(driver, section):
    """The rows of the table under the h2 whose text starts with `section`, as lists of cell texts."""
    tables = driver.find_elements(By.XPATH, f"//h2[starts-with(normalize-space(.), '{section}')]/following-sibling::*[1][self::table]")
    if not tables:
        return []
    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in tables[0].find_elements(By.XPATH, "./tbody/tr")]


def invoke():
    request = urllib.request.Request(
        invoke_url, data=json.dumps({"action": "echo"}).encode(), method="POST",
        headers={"Authorization": f"Bearer {invoke_key}", "Content-Type": "application/json",
                 "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": session_id})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


driver = browser()
try:
    # Not signed in: the console offers the issuers to sign in with, and returns to the page asked for.
    driver.get(base + "/console/sessions")
    wait_for_heading(driver, "Portcullis console")
    driver.find_element(By.LINK_TEXT, "Sign in with dev").click()
    driver.find_element(By.XPATH, "//button[contains(., 'Bob')]").click()
    wait_for_heading(driver, "Sessions")
    check("/console/sessions" in driver.current_url, "sign-in returns to the sessions page", driver.current_url)
    check("bob" in driver.find_element(By.TAG_NAME, "nav").text, "the navigation names who is signed in", driver.find_element(By.TAG_NAME, "nav").text)
    check(not any(session_id in row for row in table_rows(driver, "Active")), "no session before the invocation")

    status, answer = invoke()
    check(status == 200 and answer.get("session") == session_id, "the agent answers in its session", json.dumps(answer))

    driver.refresh()
    wait_for_heading(driver, "Sessions")
    rows = [row for row in table_rows(driver, "Active") if session_id in row]
    check(len(rows) == 1, "the session appears in the active sessions", driver.page_source)
    row = rows[0]
    headers = [cell.text for cell in driver.find_elements(By.XPATH, "//h2[starts-with(., 'Active')]/following-sibling::table[1]/thead/tr/th")]
    cells = dict(zip(headers, row))
    check(cells["Agent"] == runtime_id and cells["Driver"] == "bubblewrap", "the row names the agent and the driver", json.dumps(cells))
    check(cells["Principal"].startswith("apikey:") and cells["Calls"] == "1", "the row shows the caller and one call", json.dumps(cells))
    check(float(cells["CPU s"]) > 0, "the row shows the session's CPU time", json.dumps(cells))

    # The stop button: a form post with the page's token.
    button = driver.find_element(By.XPATH, f"//tr[td/code[text()='{session_id}']]//button[text()='Stop']")
    button.click()
    try:
        wait(driver).until(lambda d: f"Session {session_id} was stopped." in d.page_source)
    except TimeoutException:
        check(False, "the console confirms the stop", driver.page_source)
    check(not any(session_id in row for row in table_rows(driver, "Active")), "the session is no longer active", driver.page_source)
    ended = [row for row in table_rows(driver, "Recently ended") if session_id in row]
    check(len(ended) == 1 and "stopped" in ended[0], "the session is listed as ended with reason stopped", json.dumps(ended))

    # The audit log: newest first, the administrator's stop above the session's end and start.
    driver.get(base + "/console/audit?agentRuntimeId=" + runtime_id)
    wait_for_heading(driver, "Audit log")
    headers = [cell.text for cell in driver.find_elements(By.XPATH, "//table[1]/thead/tr/th")]
    records = [dict(zip(headers, row)) for row in driver.find_elements(By.XPATH, "//table[1]/tbody/tr") for row in [[c.text for c in row.find_elements(By.TAG_NAME, "td")]]]
    mine = [record for record in records if session_id in record["Details"]]
    kinds = [record["Kind"] for record in mine]
    check(kinds == ["controlplane.change", "session.ended", "session.started"], "the audit log shows the stop, the end and the start, newest first", json.dumps(mine))
    check(mine[0]["Action"] == "TerminateSession" and mine[0]["Principal"].endswith("|bob"), "the stop is recorded as Bob's TerminateSession", json.dumps(mine[0]))
    check('"reason":"stopped"' in mine[1]["Details"], "the session's end has its reason", mine[1]["Details"])

    Select(driver.find_element(By.NAME, "kind")).select_by_value("session.started")
    driver.find_element(By.XPATH, "//button[text()='Search']").click()
    # A click only starts the navigation; the old page has the same heading.
    try:
        wait(driver).until(lambda d: "kind=session.started" in d.current_url and heading(d) == "Audit log")
    except TimeoutException:
        check(False, "the search runs", driver.current_url)
    kinds = {row[2] for row in [[c.text for c in r.find_elements(By.TAG_NAME, "td")] for r in driver.find_elements(By.XPATH, "//table[1]/tbody/tr")]}
    check(kinds == {"session.started"} and "kind=session.started" in driver.current_url, "the kind filter narrows the search", f"{kinds} {driver.current_url}")

    # The playground: would carol, in no group, be allowed to invoke the agent? Would an administrator?
    driver.get(base + "/console/playground")
    wait_for_heading(driver, "Policy playground")
    driver.find_element(By.NAME, "subject").send_keys("carol")
    Select(driver.find_element(By.NAME, "agent")).select_by_value(runtime_id)
    driver.find_element(By.XPATH, "//button[text()='Would this be allowed?']").click()
    try:
        verdict = wait(driver).until(lambda d: (d.find_elements(By.CSS_SELECTOR, "p.denied, p.allowed") or [None])[0])
    except TimeoutException:
        check(False, "the playground answers", driver.page_source)
    check(verdict.get_attribute("class") == "denied" and verdict.text.startswith("Denied"), "carol may not invoke the agent", verdict.text)
    check("denied by default" in driver.page_source, "the denial is the default deny", driver.page_source)

    # The policy page lists the policies in force with where they are written.
    driver.get(base + "/console/policies")
    wait_for_heading(driver, "Policies")
    check("administrators-use-the-control-plane" in driver.page_source and "administrators.cedar:3:1" in driver.page_source,
          "the policy page lists the policies in force", driver.page_source[:2000])

    # Signing out ends the console session (the click only starts the form's navigation: wait for where it lands).
    driver.find_element(By.XPATH, "//nav//button[text()='Sign out']").click()
    try:
        wait(driver).until(lambda d: d.current_url.endswith("/auth/session"))
    except TimeoutException:
        check(False, "signing out lands on the session page", driver.current_url)
    driver.get(base + "/console")
    wait_for_heading(driver, "Portcullis console")
    print("OK signing out ends the console session")
finally:
    driver.quit()
