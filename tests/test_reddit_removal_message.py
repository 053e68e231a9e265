"""Removal reasons reach the member, as Reddit's own mod tools send them.

The remove dialog offers to tell the author as a public reply (Reddit's default), a private message or not
at all, prefilled with the chosen reason's text. End to end (the inbox pane or service, the real OutboxRunner,
the real RedditConnector with praw on its worker thread, the Reddit sandbox) a removal is carried out once
and the member gets exactly one message of the chosen kind with the moderator's words, also when the desk
dies between the removal and the message, or after the message and before it learnt so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from test_inbox_actions import RedditDesk, RemoteReddit, reddit, reddit_desk, until
from test_inbox_support import item, open_store, stored
from test_reddit_connector import FakeSink, connectors, new_connector, run, sandbox
from test_reddit_connector import action as connector_action

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.types import ActionError, ItemKind, OutboxAction, OutboxState, Platform
from atlas_desk.platforms.reddit import RedditConnector
from atlas_desk.sandbox.reddit import RedditSandbox
from atlas_desk.store import outbox
from atlas_desk.ui.inbox.removal_dialog import RemovalChoice, RemovalDialog, RemovalReason

# Fixtures shared with the inbox action tests (the Reddit desk) and the connector tests (a sandbox on aloop).
__all__ = ["connectors", "reddit", "reddit_desk", "sandbox"]

BE_KIND = RemovalReason("110nhral8vygf", "Be Kind", "Rule 2 - Be kind and respectful to others.")
OFF_TOPIC = RemovalReason(
    "110nhk2cgmaxy", "Off topic", "This subreddit is for the Atlas app. Please post elsewhere."
)
LINK_PATH = "/api/v1/modactions/removal_link_message"


# -- the dialog ----------------------------------------------------------------------------------------------


def open_dialog(
    qtbot: Any, item_kind: str = "post", known: tuple[RemovalReason, ...] = (BE_KIND, OFF_TOPIC)
) -> RemovalDialog:
    """The dialog with the subreddit's reasons already known (no Reddit needed to choose among them)."""
    dialog = RemovalDialog("AtlasApp", "Sync question", None, known=known, item_kind=item_kind)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def press_remove(qtbot: Any, dialog: RemovalDialog) -> RemovalChoice:
    with qtbot.waitSignal(dialog.chosen, timeout=2000) as blocker:
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    choice = blocker.args[0]
    assert isinstance(choice, RemovalChoice)
    return choice


def test_a_reason_prefills_a_public_reply_that_the_moderator_can_edit(qtbot: Any) -> None:
    dialog = open_dialog(qtbot)
    # Nothing to tell before a reason is chosen.
    assert dialog.tell() == "none" and not dialog.message_edit.isEnabled()
    assert dialog.tell_hint.text() == "The author is not told why."

    assert dialog.select_reason(BE_KIND.id)
    assert dialog.tell() == "public"  # Reddit's default for a post
    assert dialog.message_edit.toPlainText() == BE_KIND.message and dialog.message_edit.isEnabled()
    assert dialog.tell_hint.text() == (
        "A reply from you under the post, distinguished as a moderator's and stickied; "
        "everyone in the thread can read it."
    )
    assert dialog.lock_reply.isEnabled() and not dialog.lock_reply.isChecked()

    # Another reason replaces the untouched text...
    assert dialog.select_reason(OFF_TOPIC.id)
    assert dialog.message_edit.toPlainText() == OFF_TOPIC.message
    # ... but not the moderator's own words.
    dialog.message_edit.setFocus()
    qtbot.keyClick(dialog.message_edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(dialog.message_edit, " Try r/AtlasMaps.")
    assert dialog.select_reason(BE_KIND.id)
    assert dialog.message_edit.toPlainText() == OFF_TOPIC.message + " Try r/AtlasMaps."

    dialog.lock_reply.setChecked(True)
    choice = press_remove(qtbot, dialog)
    assert choice == RemovalChoice(
        reason_id=BE_KIND.id,
        reason_title="Be Kind",
        mod_note="",
        spam=False,
        message_type="public",
        message=OFF_TOPIC.message + " Try r/AtlasMaps.",
        lock_message=True,
    )


def test_a_private_message_names_its_title_and_is_never_locked(qtbot: Any) -> None:
    dialog = open_dialog(qtbot, item_kind="comment")
    assert dialog.select_reason(BE_KIND.id)
    assert dialog.tell() == "public"
    assert dialog.tell_hint.text() == (
        "A reply from you under the comment, distinguished as a moderator's; "
        "everyone in the thread can read it."
    )
    dialog.lock_reply.setChecked(True)
    qtbot.mouseClick(dialog.tell_private, Qt.MouseButton.LeftButton)
    assert dialog.tell() == "private" and not dialog.lock_reply.isEnabled()
    assert dialog.tell_hint.text() == (
        "A modmail from r/AtlasApp to the author alone (your name hidden): “Be Kind”."
    )
    choice = press_remove(qtbot, dialog)
    assert (choice.message_type, choice.message, choice.lock_message) == ("private", BE_KIND.message, False)


def test_spam_is_removed_silently_unless_the_moderator_chose_to_tell(qtbot: Any) -> None:
    dialog = open_dialog(qtbot)
    assert dialog.select_reason(BE_KIND.id)
    dialog.spam.setChecked(True)
    assert dialog.tell() == "none" and not dialog.message_edit.isEnabled()
    dialog.spam.setChecked(False)
    assert dialog.tell() == "public"
    # Once the moderator picks a way, ticking spam leaves it alone.
    qtbot.mouseClick(dialog.tell_public, Qt.MouseButton.LeftButton)
    dialog.spam.setChecked(True)
    assert dialog.tell() == "public"
    choice = press_remove(qtbot, dialog)
    assert (choice.spam, choice.message_type) == (True, "public")


def test_nothing_is_sent_without_words_and_the_text_stays_plain(qtbot: Any) -> None:
    hostile = RemovalReason("r1", "<b>Rule</b> 1", "<img src=x> **markdown** stays as typed")
    dialog = open_dialog(qtbot, known=(hostile,))
    assert dialog.select_reason("r1")
    assert dialog.message_edit.toPlainText() == hostile.message  # the text itself, never rendered
    qtbot.mouseClick(dialog.tell_private, Qt.MouseButton.LeftButton)
    assert dialog.tell_hint.textFormat() == Qt.TextFormat.PlainText
    assert "“<b>Rule</b> 1”" in dialog.tell_hint.text()

    dialog.message_edit.clear()
    assert not dialog.remove_button.isEnabled()
    assert dialog.remove_button.toolTip() == "Write what the author is told, or choose Don't send"
    dialog.message_edit.setPlainText("x" * 10001)
    assert not dialog.remove_button.isEnabled()
    assert dialog.remove_button.toolTip() == "Reddit takes at most 10,000 characters: shorten the message"
    qtbot.mouseClick(dialog.tell_none, Qt.MouseButton.LeftButton)
    assert dialog.remove_button.isEnabled()
    choice = press_remove(qtbot, dialog)
    assert (choice.message_type, choice.message) == ("none", "")


# -- the service: what the outbox carries --------------------------------------------------------------------


def test_the_choice_and_the_words_travel_in_the_removal_action(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        stored(store, [item(Platform.REDDIT, "t1_c9", "rude words", 1, kind=ItemKind.COMMENT, reported=True)])
        service = InboxService(store, ChangeBus())
        row = store.reader().execute("SELECT id FROM inbox_items WHERE platform_id = 't1_c9'").fetchone()
        item_id = int(row[0])
        for wrong in (
            {"message_type": "public", "message": "  "},  # nothing to say
            {"message_type": "carrier pigeon", "message": "hi"},
            {"message_type": "private", "message": "x" * 10001},  # over Reddit's limit
        ):
            with pytest.raises(ValueError):
                service.remove(item_id, None, "rude", **wrong)
        assert outbox.list_actions(store.reader()) == []

        first = service.remove(item_id, None, "rude", message_type="private", message="Please be kind.")
        [action] = [outbox.get_action(store.reader(), first.result(timeout=10))]
        assert action is not None
        # Without a reason, the private message is titled by what happened.
        assert action.payload["message"] == {
            "type": "private",
            "text": "Please be kind.",
            "title": "Your comment was removed",
            "lock": False,
        }
        second = service.remove(
            item_id,
            BE_KIND.id,
            reason_title="Be Kind",
            message_type="public",
            message=BE_KIND.message,
            lock_message=True,
        )
        again = outbox.get_action(store.reader(), second.result(timeout=10))
        assert again is not None
        assert again.payload["message"] == {
            "type": "public",
            "text": BE_KIND.message,
            "title": "Be Kind",
            "lock": True,
        }
        quiet = outbox.get_action(store.reader(), service.remove(item_id, None, "spam").result(timeout=10))
        assert quiet is not None and quiet.payload["message"] is None
    finally:
        store.close()


# -- the connector: failures between the two steps -----------------------------------------------------------


def removal(target: str, how: str, text: str, key: str = "k1") -> OutboxAction:
    message = {"type": how, "text": text, "title": "Off topic", "lock": False}
    return connector_action(
        "remove", target, {"reason_id": OFF_TOPIC.id, "mod_note": "", "message": message}, key
    )


def test_a_message_that_fails_is_retried_without_removing_again(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    c = new_connector(connectors, sandbox, FakeSink())
    act = removal("t3_p1", "public", "Off topic here.")

    sandbox.fail_next(LINK_PATH, 503)  # Reddit down when the message is sent
    with pytest.raises(ActionError) as down:
        run(aloop, c.execute(act))
    assert down.value.retryable
    assert down.value.message == "Removed, but telling the member failed: Reddit is having trouble (HTTP 503)"
    assert sandbox.removed().keys() == {"t3_p1"} and sandbox.removal_messages == []

    sandbox.fail_next(LINK_PATH, 502, after=True)  # sent, and the answer lost
    act.attempts = 1
    with pytest.raises(ActionError) as lost:
        run(aloop, c.execute(act))
    assert lost.value.retryable and len(sandbox.removal_messages) == 1

    act.attempts = 2
    result = run(aloop, c.execute(act))  # finds the reply instead of posting it again
    [message] = sandbox.removal_messages
    assert result["message"]["comment_id"] == message["comment"]
    assert removes(sandbox) == 1 and sandbox.requests.count(("POST", LINK_PATH)) == 2


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (
            {"type": "carrier pigeon", "text": "hi"},
            "Reddit cannot send a removal message as 'carrier pigeon'",
        ),
        ({"type": "private", "text": "   "}, "The message to the member is empty"),
        ({"type": "public", "text": "x" * 10001}, "The message to the member is over 10000 characters"),
    ],
)
def test_a_message_that_cannot_be_sent_stops_the_removal_before_it_starts(
    aloop: asyncio.AbstractEventLoop,
    sandbox: RedditSandbox,
    connectors: list[RedditConnector],
    message: dict[str, str],
    why: str,
) -> None:
    c = new_connector(connectors, sandbox, FakeSink())
    act = connector_action("remove", "t3_p2", {"reason_id": OFF_TOPIC.id, "message": message})
    with pytest.raises(ActionError) as refused:
        run(aloop, c.execute(act))
    assert (refused.value.message, refused.value.retryable) == (why, False)
    assert sandbox.removed() == {} and removes(sandbox) == 0


# -- end to end ----------------------------------------------------------------------------------------------


def reddit_connector(sb: RedditSandbox, sink: Any) -> RedditConnector:
    """A connector for the sandbox, set up as the Reddit desk fixture's is."""
    settings = SimpleNamespace(
        url=sb.url, subreddit="AtlasApp", poll_seconds=60, backoff_base=0.05, backoff_max=0.2, timeout=5.0
    )
    creds = {
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "username": sb.username,
        "password": sb.password,
    }
    return RedditConnector(settings, creds, sink)


def removes(sb: RedditSandbox) -> int:
    """How many times Reddit was asked to remove something (each is a line in the mod log)."""
    return sb.requests.count(("POST", "/api/remove/"))


def member_sees(remote: RemoteReddit, message: dict[str, Any]) -> list[str]:
    """What the member can read of a removal message: the reply under their item, or the modmail."""
    sb = remote.sandbox

    def read() -> list[str]:
        if message["comment"] is not None:
            return [c["body"] for c in sb.comment_thread(message["item"]) if c["name"] == message["comment"]]
        return sb.modmail.visible_to_member(message["conversation"])

    return remote.call(read)


@pytest.mark.parametrize("how", ["public", "private"])
def test_the_member_is_told_once_in_the_chosen_way_with_the_moderators_words(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, reddit: RemoteReddit, reddit_desk: RedditDesk, how: str
) -> None:
    sb, desk = reddit.sandbox, reddit_desk.desk
    extra = "\n\nYou are welcome to post it in r/AtlasMaps."
    words = OFF_TOPIC.message + extra

    async def scenario() -> None:
        desk.select("t3_p0")
        desk.key(qtbot, Qt.Key.Key_X)
        dialog = desk.pane.removal_dialog
        assert dialog is not None
        await until(lambda: "Off topic" in dialog.reason_titles())
        assert dialog.select_reason(OFF_TOPIC.id)
        if how == "private":
            qtbot.mouseClick(dialog.tell_private, Qt.MouseButton.LeftButton)
        dialog.message_edit.setFocus()
        qtbot.keyClick(dialog.message_edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        for _ in range(2):  # a new paragraph, typed as a moderator types it
            qtbot.keyClick(dialog.message_edit, Qt.Key.Key_Return)
        qtbot.keyClicks(dialog.message_edit, extra.strip())
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        await until(lambda: [a.state for a in desk.actions()] == [OutboxState.DONE], timeout=15)

    qloop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert desk.pane.status_label.text() == (
        f"Removal (Off topic) with a {how} {'reply' if how == 'public' else 'message'} queued: "
        "Reddit confirms it in a moment."
    )
    assert reddit.call(sb.removed) == {"t3_p0": {"spam": False, "reason_id": OFF_TOPIC.id, "mod_note": None}}
    assert reddit.call(lambda: removes(sb)) == 1
    [message] = reddit.call(lambda: list(sb.removal_messages))
    assert (message["item"], message["type"], message["message"]) == ("t3_p0", how, words)
    [seen] = member_sees(reddit, message)
    [action] = desk.actions()
    assert action.result["message"]["type"] == how
    if how == "public":
        assert seen == words
        [reply] = [
            c for c in reddit.call(lambda: sb.comment_thread("t3_p0")) if c["name"] == message["comment"]
        ]
        assert (reply["author"], reply["distinguished"], reply["stickied"]) == (
            sb.username,
            "moderator",
            True,
        )
        assert action.result["message"]["comment_id"] == message["comment"]
    else:
        assert seen.startswith(words + "\n\n")  # Reddit adds a line about the post
        assert message["title"] == "Off topic"
        conversation = reddit.call(lambda: sb.modmail.conversations[message["conversation"]])
        assert conversation.participant == "maya_k" and conversation.subject == "Off topic"


@dataclass
class Crash:
    """Where the desk dies: the sandbox holds this request's answer (the request itself carried out)."""

    name: str
    held: str
    messages_when_killed: int


CRASHES = [
    Crash("between the removal and the message", "/api/v1/modactions/removal_reasons", 0),
    Crash("after the message, before its answer", LINK_PATH, 1),
]


@pytest.mark.parametrize("crash", CRASHES, ids=lambda c: c.name.replace(" ", "-"))
@pytest.mark.parametrize("how", ["public", "private"])
def test_a_replay_after_a_crash_removes_once_and_tells_once(
    qloop: asyncio.AbstractEventLoop, reddit: RemoteReddit, reddit_desk: RedditDesk, crash: Crash, how: str
) -> None:
    sb, desk = reddit.sandbox, reddit_desk.desk
    hold = reddit.call(lambda: sb.hold_next(crash.held, after=True))
    item_id = desk.row("t3_p0").id
    words = OFF_TOPIC.message

    async def scenario() -> None:
        reddit_desk.desk.service.remove(
            item_id,
            OFF_TOPIC.id,
            reason_title="Off topic",
            message_type=how,
            message=words,
            lock_message=True,
        ).result(timeout=10)
        await until(hold.reached.is_set, timeout=15)
        # The desk dies here: the runner is gone before Reddit's answer arrives, the action still "sending".
        await reddit_desk.runner.stop()
        hold.release()
        await reddit_desk.connector.stop()
        [action] = desk.actions()
        assert (action.state, action.attempts) == (OutboxState.SENDING, 1)
        assert reddit.call(sb.removed).keys() == {"t3_p0"}
        assert len(reddit.call(lambda: sb.removal_messages)) == crash.messages_when_killed

        # The desk starts again on the same store: a new connector and runner replay the action.
        connector = reddit_connector(sb, desk.service)
        runner = OutboxRunner(desk.store, desk.bus, {Platform.REDDIT: connector}, base_delay=0.05)
        try:
            await runner.start()
            await until(lambda: [a.state for a in desk.actions()] == [OutboxState.DONE], timeout=15)
        finally:
            await runner.stop()
            await connector.stop()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 40))
    assert reddit.call(lambda: removes(sb)) == 1
    [message] = reddit.call(lambda: list(sb.removal_messages))
    assert (message["item"], message["type"], message["message"]) == ("t3_p0", how, words)
    assert len(member_sees(reddit, message)) == 1
    if how == "public":  # locked by the replay if the crash came before
        assert reddit.call(lambda: sb.thing(message["comment"]))["locked"] is True
    [action] = outbox.list_actions(desk.store.reader())
    assert action.state is OutboxState.DONE and action.attempts == 2
