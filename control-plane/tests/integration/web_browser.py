"""The registrars' web page in headless Chromium, driven by Selenium (Debian's chromium and
chromium-driver): log in, every page through its links, a search, a domain, the CSV download,
log out. Each page is saved as a screenshot; the script exits non-zero at the first page that is
not what it should be.

    python web_browser.py PORT REGISTRAR PASSWORD SCREENSHOTS DOWNLOADS
"""

import glob
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, NoSuchElementException
from selenium.webdriver.common.by import By


def expect(condition, what, driver):
    """Waits up to 10 s for `condition` (a function) while the page loads; exits if it never holds."""
    deadline = time.time() + 10
    held = False
    while not held and time.time() < deadline:
        try:
            held = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            held = False
        if not held:
            time.sleep(0.05)
    if not held:
        sys.exit("%s\nat %s:\n%s" % (what, driver.current_url, driver.page_source[:3000]))
    print("ok: " + what)


def main():
    port, registrar, password, shots, downloads = sys.argv[1:6]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    # The test's certificate is self-signed for localhost; the page is still a secure
    # context, so its __Host- cookies are kept.
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
                     "--window-size=1280,900", "--lang=en"]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads,
        "download.prompt_for_download": False,
    })
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    base = "https://localhost:%s" % port

    def shot(name):
        driver.save_screenshot(os.path.join(shots, name + ".png"))

    def heading():
        return driver.find_element(By.TAG_NAME, "h1").text

    def follow(text):
        driver.find_element(By.LINK_TEXT, text).click()

    try:
        driver.get(base + "/domains")
        expect(lambda: driver.current_url.endswith("/login"), "an anonymous visit lands on the log-in form", driver)
        shot("01-login")
        driver.find_element(By.ID, "registrar").send_keys(registrar)
        driver.find_element(By.ID, "password").send_keys("wrong")
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        expect(lambda: "wrong password" in driver.page_source, "a wrong password is said so", driver)
        driver.find_element(By.ID, "registrar").send_keys(registrar)
        driver.find_element(By.ID, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form.login button").click()
        expect(lambda: heading().startswith("Account of"), "log-in leads to the account", driver)
        expect(lambda: "The balance is low" in driver.page_source, "the low-balance warning", driver)
        shot("02-account")

        follow("Domains")
        expect(lambda: heading() == "Domains" and "mine.smith.name" in driver.page_source, "the domains", driver)
        shot("03-domains")
        search = driver.find_element(By.ID, "q")
        search.clear()
        search.send_keys("mine")
        driver.find_element(By.CSS_SELECTOR, "form[role=search] button").click()
        expect(lambda: "1 domain containing" in driver.page_source, "a search", driver)
        follow("mine.smith.name")
        expect(lambda: heading() == "mine.smith.name" and "CREATE DOMAIN" in driver.page_source,
               "a domain and its history", driver)
        shot("04-domain")

        follow("Statement")
        expect(lambda: heading().startswith("Statement for") and "mine.smith.name" in driver.page_source,
               "the statement", driver)
        shot("05-statement")
        follow("Download as CSV")
        deadline = time.time() + 10
        files = []
        while time.time() < deadline and not files:
            files = [f for f in glob.glob(os.path.join(downloads, "*.csv"))]
            time.sleep(0.1)
        expect(lambda: files, "the CSV downloaded", driver)
        with open(files[0]) as csv:
            lines = csv.read().splitlines()
        expect(lambda: lines[0] == "registrar,iana_id,name,time,kind,domain,amount,balance"
               and all(line.startswith(registrar + ",") for line in lines[1:]),
               "the CSV holds the registrar's own rows", driver)

        follow("Messages")
        expect(lambda: heading() == "Messages not yet acknowledged" and "transferred.smith.name" in driver.page_source,
               "the unread messages", driver)
        shot("06-messages")
        follow("Notices")
        expect(lambda: "Maintenance" in driver.page_source, "the notices", driver)
        shot("07-notices")
        follow("Prices")
        expect(lambda: heading() == "Prices" and ".name" in driver.page_source, "the prices", driver)
        shot("08-prices")

        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        expect(lambda: driver.current_url.endswith("/login"), "log-out leads back to the log-in form", driver)
        driver.get(base + "/")
        expect(lambda: driver.current_url.endswith("/login"), "and the session is over", driver)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
