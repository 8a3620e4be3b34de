"""The whole takeover path on the real stack, in one headless Chromium per role: the actions server,
Rasa with the trained model and the desk (tests/support/servers.py), a fresh SQLite database.

1. A customer tells the bot their dinner set arrived smashed, sends a photo, wants more than the bot
   may give and is handed over; agent Alice takes the chat, sees the photo and the copilot, asks a
   colleague to approve; agent Bob co-signs from his queue; Alice tells the customer in the chat
   (one click, which marks it delivered); the customer sees it live, rates the chat 1, and the chat
   waits in the live inbox again.
2. A supervisor who rejects a request tells the customer the no himself, in the chat, with what the
   agent can offer instead; the customer sees it live.
"""

from __future__ import annotations

import datetime
import os
import shutil

import pytest
from PIL import Image
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC  # noqa: N812 - Selenium's own alias
from selenium.webdriver.support.ui import WebDriverWait

from makegood.accounts import AccountStore, seed_demo_accounts
from makegood.customers.schema import exception_history
from makegood.db import make_engine
from makegood.ledger import Ledger
from tests.browser.conftest import SCREENSHOTS, _driver
from tests.support.servers import forget_grants

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WAIT_S = 90  # the real bot answers through TensorFlow on a busy two-core machine
OPENING = "the dinner set from order MG-10422 arrived smashed to pieces"


@pytest.fixture(scope="module")
def stack(servers):
    """The session's real stack (tests/conftest.py), with the demo customers' history as seeded
    before and after: the exceptions this module adds must not reach the next module."""
    forget_grants(servers.database_url)
    engine = make_engine(servers.database_url)
    try:
        servers.engine = engine
        servers.passwords = {name: password for name, _role, password in seed_demo_accounts(AccountStore(engine))}
        servers.ledger = Ledger(engine)
        yield servers
    finally:
        engine.dispose()
        forget_grants(servers.database_url)


@pytest.fixture
def browsers():
    """browsers("customer") -> a Chromium of its own for that role; all quit at the end."""
    started = []

    def start(_role):
        driver, profile = _driver()
        started.append((driver, profile))
        return driver

    yield start
    for driver, profile in started:
        try:
            driver.quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)


# -- helpers ----------------------------------------------------------------------------------------
def wait(driver, condition, timeout=WAIT_S):
    """WebDriverWait; on a timeout the page's visible text says what the page showed instead."""
    try:
        return WebDriverWait(driver, timeout).until(condition)
    except TimeoutException:
        shown = driver.find_element(By.TAG_NAME, "body").text[-3000:]
        raise TimeoutException(f"waited {timeout} s on {driver.current_url}; the page shows:\n{shown}") from None


def has_text(css, words):
    def check(driver):
        return any(words in (e.get_attribute("textContent") or "") for e in driver.find_elements(By.CSS_SELECTOR, css))

    return check


def bubbles(driver, css="#chat-log .bubble-bot"):
    return len(driver.find_elements(By.CSS_SELECTOR, css))


def say(customer, words):
    """Send a message and wait for the bot's answer (or, with a person in the chat, for the send)."""
    before = bubbles(customer, "#chat-log .bubble-me")
    box = customer.find_element(By.ID, "chat-input")
    box.send_keys(words)
    customer.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
    wait(customer, lambda d: bubbles(d, "#chat-log .bubble-me") > before)
    wait(customer, lambda d: "typing" not in d.find_element(By.ID, "chat-status").text)


def chat_text(customer):
    return customer.find_element(By.ID, "chat-log").get_attribute("textContent")


def sign_in(driver, stack, name):
    driver.get(stack.urls["desk"] + "/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(stack.passwords[name])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=whoami]"), name))


def take_from_inbox(agent, stack, sender):
    agent.get(stack.urls["desk"] + "/live")
    take = wait(
        agent, EC.element_to_be_clickable((By.CSS_SELECTOR, f"#inbox-waiting li[data-conversation='{sender}'] button"))
    )
    take.click()
    wait(agent, EC.text_to_be_present_in_element((By.ID, "live-state"), "You are in this chat"))


def sender_of(customer):
    return customer.execute_script("return window.sessionStorage.getItem('makegood-chat-sender')")


def screenshot(driver, name):
    """Saved for the README only when MAKEGOOD_SCREENSHOTS=1 (as tests/browser/conftest.py's fixture)."""
    if os.environ.get("MAKEGOOD_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, 700)")
    driver.set_window_size(1280, min(int(height) + 120, 2400))
    driver.save_screenshot(str(SCREENSHOTS / name))
    driver.set_window_size(1280, 900)


def three_recent_exceptions(stack, customer_id):
    """Other chats granted this customer three exceptions this quarter while this one waited: an
    agent is at their limit, so whatever Alice offers now needs a second agent (catalog tiers)."""
    recent = datetime.date.today() - datetime.timedelta(days=10)
    with stack.engine.begin() as db:
        for order in ("MG-10421", "MG-10423", "MG-10421"):
            db.execute(
                exception_history.insert().values(
                    customer_id=customer_id,
                    order_id=order,
                    situation="late_delivery",
                    amount="10.00",
                    granted_on=recent,
                    source="granted",
                    remedy="goodwill_voucher",
                    kind="money",
                    counts=True,
                )
            )


def decide_from_queue(driver, stack, public_id, decision, note=""):
    driver.get(stack.urls["desk"] + "/queue")
    link = wait(
        driver, EC.element_to_be_clickable((By.CSS_SELECTOR, f"#needs-you tr[data-proposal='{public_id}'] a.pid"))
    )
    link.click()
    if note:
        wait(driver, EC.presence_of_element_located((By.ID, "note"))).send_keys(note)
    wait(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, f"button[name=decision][value={decision}]"))).click()


# -- 1. the whole path --------------------------------------------------------------------------------
def test_a_handed_over_chat_is_taken_approved_told_rated_and_reopened(stack, browsers, tmp_path):
    desk = stack.urls["desk"]
    customer, alice, bob = browsers("customer"), browsers("alice"), browsers("bob")

    # The customer, signed in as Ana (C-1001), talks to the real bot.
    customer.get(desk + "/chat?customer=C-1001")
    wait(customer, EC.text_to_be_present_in_element((By.ID, "chat-who"), "C-1001"))
    say(customer, OPENING)
    wait(customer, has_text("#chat-log .bubble-bot", "store credit"))  # the bot offers its options

    photo = tmp_path / "smashed.png"
    Image.new("RGB", (64, 48), (180, 40, 40)).save(photo, format="PNG")
    customer.find_element(By.ID, "chat-photo").send_keys(str(photo))
    wait(customer, EC.presence_of_element_located((By.CSS_SELECTOR, "#chat-log .bubble-photo img")))

    say(customer, "I think a full refund of $129 would be fair")
    wait(customer, has_text("#chat-log .bubble-bot", "more than I can approve on my own"))
    say(customer, "no, I want the full $129 back")
    wait(customer, has_text("#chat-log .bubble-bot", "passed your case to a colleague"))
    sender = sender_of(customer)
    three_recent_exceptions(stack, "C-1001")

    # Alice takes it from the live inbox: transcript, photo, copilot.
    sign_in(alice, stack, "alice")
    take_from_inbox(alice, stack, sender)
    wait(alice, has_text("#live-transcript .turn-customer", "arrived smashed to pieces"))
    wait(customer, has_text("#chat-log .bubble-agent", "Hi, I'm Alice"))
    photo_shown = wait(alice, EC.presence_of_element_located((By.CSS_SELECTOR, "#live-photos img.live-photo")))
    loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
    wait(alice, lambda d: d.execute_script(loaded, photo_shown))
    wait(alice, has_text("#suggestions .situation", "Damaged item"))
    ask = wait(alice, EC.element_to_be_clickable((By.CSS_SELECTOR, ".approval-peer button[data-remedy=full_refund]")))
    screenshot(alice, "takeover-agent-copilot.png")
    ask.click()
    wait(alice, has_text("#log-result", "Sent for approval"))
    requested = alice.find_element(By.CSS_SELECTOR, "#log-result [data-logged]").get_attribute("data-logged")
    alice.find_element(By.ID, "live-send").click()  # "I've asked a colleague to approve …"
    wait(customer, has_text("#chat-log .bubble-agent", "asked a colleague to approve"))

    # Bob co-signs from his queue.
    sign_in(bob, stack, "bob")
    decide_from_queue(bob, stack, requested, "cosign")
    wait(bob, has_text(".flash-success", "approved"))
    assert stack.ledger.get(requested).status == "approved"

    # Alice sees the approval, with the wording ready, and tells the customer in one click.
    wait(alice, EC.presence_of_element_located((By.CSS_SELECTOR, f"#live-tellings [data-proposal='{requested}']")))
    tell = alice.find_element(By.CSS_SELECTOR, f"#live-tellings [data-proposal='{requested}']").text
    assert "Approved by Bob" in tell and "tell the customer" in tell
    wait(alice, lambda d: "Good news" in d.find_element(By.ID, "live-text").get_attribute("value"))
    wording = alice.find_element(By.ID, "live-text").get_attribute("value")
    assert "full refund of $129" in wording
    screenshot(alice, "takeover-agent-approved.png")
    wait(alice, EC.element_to_be_clickable((By.ID, "live-deliver"))).click()
    wait(alice, has_text("#log-result", f"Told the customer about {requested}"))

    # The customer sees it without a reload; the proposal is marked delivered by Alice.
    wait(customer, has_text("#chat-log .bubble-agent", wording))
    assert stack.ledger.get(requested).context["delivered_by"] == "alice"
    screenshot(customer, "takeover-customer-chat.png")

    # The case is settled, so the chat may be rated; Alice hands back to the bot. The customer
    # rates the chat 1, and it waits for a person again.
    say(customer, "Thank you!")
    wait(customer, EC.visibility_of_element_located((By.ID, "chat-rating")))
    alice.find_element(By.ID, "live-release").click()
    wait(customer, has_text("#chat-log .bubble-bot", "You're back with our assistant"))
    customer.find_element(By.CSS_SELECTOR, "#chat-rating input[name=stars][value='1']").click()
    customer.find_element(By.CSS_SELECTOR, "#chat-rating button[type=submit]").click()
    wait(customer, EC.invisibility_of_element_located((By.ID, "chat-rating")))
    bob.get(desk + "/live")
    waiting = wait(
        bob, EC.presence_of_element_located((By.CSS_SELECTOR, f"#inbox-waiting li[data-conversation='{sender}']"))
    )
    assert "rated the chat 1/5" in waiting.text


# -- 2. a supervisor's no, told by the supervisor --------------------------------------------------------
def test_a_supervisors_rejection_is_told_by_the_supervisor_in_the_chat(stack, browsers):
    desk = stack.urls["desk"]
    customer, alice, sam = browsers("customer"), browsers("alice"), browsers("sam")

    # Hugo (C-1008) is beyond a peer's exception limit: only the shipping upgrade is an agent's to give.
    customer.get(desk + "/chat?customer=C-1008")
    wait(customer, EC.text_to_be_present_in_element((By.ID, "chat-who"), "C-1008"))
    say(customer, "my order MG-10491 was supposed to arrive a week ago and it still isn't here")
    say(customer, "I want to talk to a real person")
    wait(customer, has_text("#chat-log .bubble-bot", "colleague"))  # handed over (at once, or when asked)
    sender = sender_of(customer)

    sign_in(alice, stack, "alice")
    take_from_inbox(alice, stack, sender)
    ask = wait(
        alice, EC.element_to_be_clickable((By.CSS_SELECTOR, ".approval-supervisor button[data-remedy=store_credit]"))
    )
    ask.click()
    wait(alice, has_text("#log-result", "Sent for approval"))
    requested = alice.find_element(By.CSS_SELECTOR, "#log-result [data-logged]").get_attribute("data-logged")

    # Sam rejects from his queue and lands in the chat, the no and the alternatives ready to send.
    sign_in(sam, stack, "sam")
    decide_from_queue(sam, stack, requested, "reject", note="a sixth exception this quarter is too many")
    wait(sam, EC.url_to_be(f"{desk}/live/{sender}"))
    wait(sam, EC.presence_of_element_located((By.CSS_SELECTOR, f"#live-tellings [data-proposal='{requested}']")))
    wait(sam, lambda d: "can't approve" in d.find_element(By.ID, "live-text").get_attribute("value"))
    wording = sam.find_element(By.ID, "live-text").get_attribute("value")
    assert "What Alice can do for you instead" in wording and "express" in wording  # the shipping upgrade
    sam.get(desk + "/queue")
    assert requested in sam.find_element(By.ID, "to-deliver").text  # yours to deliver
    sam.get(f"{desk}/live/{sender}")
    wait(sam, lambda d: d.find_element(By.ID, "live-text").get_attribute("value") == wording)
    screenshot(sam, "takeover-supervisor-tell.png")
    wait(sam, EC.element_to_be_clickable((By.ID, "live-deliver"))).click()

    # The customer hears it from Sam, live; the chat stays Alice's.
    wait(customer, has_text("#chat-log .bubble-agent", wording))
    assert "Sam" in customer.find_elements(By.CSS_SELECTOR, "#chat-log .bubble-agent")[-1].text
    assert stack.ledger.get(requested).context["denial_delivered_by"] == "sam"
    wait(sam, lambda d: not d.find_elements(By.CSS_SELECTOR, f"#live-tellings [data-proposal='{requested}']"))
    sam.get(desk + "/queue")
    assert not sam.find_elements(By.ID, "to-deliver")
    screenshot(customer, "takeover-customer-supervisor-no.png")
