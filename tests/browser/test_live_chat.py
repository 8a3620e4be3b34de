"""A person really picks up a handed-over chat, in two headless Chromiums: the customer on /chat
asks for a person, an agent takes the chat from the live inbox and writes; the agent's words
reach the customer's page without a reload, and the customer's reply reaches the agent's.
Rasa is the fake of tests/support/fake_rasa.py (its REST webhook, tracker and events API)."""

from __future__ import annotations

import shutil

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC  # noqa: N812 - Selenium's own alias
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import _driver
from tests.desk.harness import make_world
from tests.support.fake_rasa import HANDOFF_REPLY, FakeRasa

pytestmark = pytest.mark.browser

WAIT_S = 20


def wait(driver, condition, timeout=WAIT_S):
    return WebDriverWait(driver, timeout).until(condition)


def has_text(css, words):
    def check(driver):
        return any(words in e.get_attribute("textContent") for e in driver.find_elements(By.CSS_SELECTOR, css))

    return check


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    holder = {}
    rasa = FakeRasa(
        on_handoff=lambda sender: holder["world"].services.conversations.hand_over(
            sender, proposal_id=None, reason="customer asked for a person"
        )
    ).start()
    w = make_world(tmp_path_factory.mktemp("live-browser"))
    holder["world"] = w
    w.server.app.ctx.desk.rasa_url = rasa.url
    w.rasa = rasa
    yield w
    w.server.stop()
    w.engine.dispose()
    rasa.stop()


@pytest.fixture
def agent_browser():
    driver, profile = _driver()
    yield driver
    try:
        driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def say(driver, words):
    box = driver.find_element(By.ID, "chat-input")
    box.send_keys(words)
    driver.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()


def test_an_agent_picks_up_the_chat_and_both_sides_see_each_other_live(world, browser, agent_browser):
    customer, agent = browser, agent_browser

    customer.get(world.base_url + "/chat")
    say(customer, "I want to talk to a person")
    wait(customer, has_text("#chat-log .bubble-bot", HANDOFF_REPLY))
    sender = customer.execute_script("return window.sessionStorage.getItem('makegood-chat-sender')")
    assert world.services.conversations.get(sender).state == "waiting"

    agent.get(world.base_url + "/login")
    agent.find_element(By.ID, "name").send_keys("alice")
    agent.find_element(By.ID, "password").send_keys(world.passwords["alice"])
    agent.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(agent, EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=whoami]"), "alice"))
    agent.get(world.base_url + "/live")
    take = wait(
        agent,
        EC.element_to_be_clickable((By.CSS_SELECTOR, f"#inbox-waiting li[data-conversation='{sender}'] button")),
    )
    take.click()
    wait(agent, EC.text_to_be_present_in_element((By.ID, "live-state"), "You are in this chat"))
    assert agent.current_url.endswith(f"/live/{sender}")
    wait(agent, has_text("#live-transcript .turn-customer", "I want to talk to a person"))

    # The intro reaches the customer's page without a reload, saying who is there.
    wait(customer, has_text("#chat-log .bubble-agent", "Hi, I'm Alice, I'm looking at your case now."))
    wait(customer, EC.text_to_be_present_in_element((By.ID, "chat-status"), "Alice from our team"))
    assert "Alice from our team" in customer.find_element(By.CSS_SELECTOR, "#chat-log .bubble-agent").text

    reply = agent.find_element(By.ID, "live-text")
    reply.send_keys("I can see your order; one moment please.")
    agent.find_element(By.ID, "live-send").click()
    wait(customer, has_text("#chat-log .bubble-agent", "I can see your order; one moment please."))

    bubbles_before = len(customer.find_elements(By.CSS_SELECTOR, "#chat-log .bubble-bot"))
    say(customer, "Thank you, I'll wait")
    wait(agent, has_text("#live-transcript .turn-customer", "Thank you, I'll wait"))
    # The person answers; no bot "…" and no "with a colleague" filler is added for the customer's reply.
    bot_bubbles = customer.find_elements(By.CSS_SELECTOR, "#chat-log .bubble-bot")
    assert len(bot_bubbles) == bubbles_before
    assert customer.find_elements(By.CSS_SELECTOR, "#chat-log .bubble-me")[-1].text.endswith("Thank you, I'll wait")

    # Hand back: the bot's line reaches the customer and the page no longer names a person.
    agent.find_element(By.ID, "live-release").click()
    wait(agent, EC.text_to_be_present_in_element((By.ID, "live-state"), "Back with the bot"))
    wait(customer, has_text("#chat-log .bubble-bot", "You're back with our assistant"))
    wait(customer, lambda d: "Alice" not in d.find_element(By.ID, "chat-status").text)
    assert world.rasa.paused(sender) is False


def test_the_copilot_panel_follows_the_live_chat_and_use_this_fills_the_reply(world, browser):
    """The packet says why the chat came; the copilot reads the transcript from Rasa; "Use this"
    logs the offer in the ledger (the server re-derives tier and amount) and puts the wording in
    the reply box; a request for a colleague's approval shows its status when it is decided."""
    proposal = world.handoff(order_id="MG-10443")  # a $219 watch: a full refund needs a second agent
    cid = proposal.conversation_id
    world.rasa.add(cid, {"event": "user", "text": f"my smart watch from {proposal.order_id} arrived broken"})
    world.rasa.add(cid, {"event": "user", "text": "I'd like a full refund"})
    world.rasa.hand_over(cid)
    world.services.conversations.hand_over(cid, proposal_id=proposal.public_id, reason="customer insists on $129")

    browser.get(world.base_url + "/login")
    browser.find_element(By.ID, "name").send_keys("alice")
    browser.find_element(By.ID, "password").send_keys(world.passwords["alice"])
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(browser, EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-testid=whoami]"), "alice"))
    browser.get(f"{world.base_url}/live/{cid}")
    wait(browser, has_text("#live-packet", "customer insists on $129"))
    assert "Full refund 129.00" in browser.find_element(By.ID, "live-packet").get_attribute("textContent")
    browser.find_element(By.ID, "live-claim").click()
    wait(browser, EC.text_to_be_present_in_element((By.ID, "live-state"), "You are in this chat"))

    wait(browser, has_text("#suggestions .situation", "Damaged item"))
    # Beyond Alice's authority: one click asks a colleague, and the panel shows it decided.
    ask = wait(browser, EC.element_to_be_clickable((By.CSS_SELECTOR, ".approval-peer button[data-remedy=replacement]")))
    ask.click()
    wait(browser, has_text("#log-result", "Sent for approval"))
    pending_id = browser.find_element(By.CSS_SELECTOR, "#log-result [data-logged]").get_attribute("data-logged")
    requested = world.ledger.get(pending_id)
    assert (requested.status, requested.tier_required, requested.conversation_id) == ("pending", "peer", cid)
    assert "asked a colleague to approve" in browser.find_element(By.ID, "live-text").get_attribute("value")
    wait(
        browser,
        EC.presence_of_element_located((By.CSS_SELECTOR, f"[data-proposal='{pending_id}'][data-status='pending']")),
    )
    world.ledger.decide(pending_id, "bob", "agent", "cosign")
    wait(
        browser,
        EC.presence_of_element_located((By.CSS_SELECTOR, f"[data-proposal='{pending_id}'][data-status='approved']")),
    )

    # The approval used up what the order may get back: the copilot follows, nothing is left to offer.
    wait(browser, has_text("#suggestions .in-authority", "Nothing within your own authority"))

    # Within her authority (another chat, a $129 order): "Use this" logs it as accepted and puts
    # the wording in the reply box.
    other = world.handoff()
    world.rasa.add(other.conversation_id, {"event": "user", "text": f"my order {other.order_id} arrived smashed"})
    world.rasa.hand_over(other.conversation_id)
    world.services.conversations.hand_over(other.conversation_id, proposal_id=other.public_id, reason="asked")
    browser.get(f"{world.base_url}/live/{other.conversation_id}")
    wait(browser, EC.element_to_be_clickable((By.ID, "live-claim"))).click()
    use = wait(browser, EC.element_to_be_clickable((By.CSS_SELECTOR, ".in-authority button[data-remedy=store_credit]")))
    use.click()
    wait(browser, has_text("#log-result", "Logged"))
    public_id = browser.find_element(By.CSS_SELECTOR, "#log-result [data-logged]").get_attribute("data-logged")
    stored = world.ledger.get(public_id)
    assert (stored.status, stored.requested_by, stored.conversation_id) == ("accepted", "alice", other.conversation_id)
    reply = browser.find_element(By.ID, "live-text").get_attribute("value")
    assert "I can offer you" in reply and "store credit" in reply
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, f"#live-proposals [data-proposal='{public_id}']")))
