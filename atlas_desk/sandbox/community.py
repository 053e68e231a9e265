"""The deterministic seeded Atlas community.

``generate(seed)`` builds a :class:`~atlas_desk.sandbox.model.Community`: about 150 members with accounts
on one to three platforms, the "Atlas Community" Discord guild with three months of history, GitHub
Discussions and Issues, r/AtlasApp, suggestions with votes, tickets, a roadmap and events. Everything comes
from one ``random.Random(seed)``, so the same seed always gives the same community (ids included), and text
is assembled from phrase banks with slot filling so it reads like people talking about a notes app.

Id conventions, stable per seed:
- Discord ids are snowflakes computed from the object's own timestamp:
  ``(ms - DISCORD_EPOCH) << 22 | counter`` (counter = seed bits << 12 | a running sequence), so
  ``created_at`` and the id agree to the second.
  A thread started from a message has that message's id, as on Discord. Ticket forum threads are in
  ``Community.threads`` too; their messages are ``Ticket.messages``, not ``Community.messages``.
- GitHub discussion, issue and discussion-comment ids are node-id-like strings (``D_kwDO…``, ``I_kwDO…``,
  ``DC_kwDO…``); issue comment ids are decimal REST ids. Discussions and issues share one number sequence,
  as on GitHub.
- Reddit post, comment and modmail conversation ids are base36, increasing with time.

A few members carry hostile-but-realistic names (markup, an RTL override, zero-width joiners, a very long
name) and a few bodies carry markup, so every pane is always exercised against them.

Live mode reuses the text helpers (``message_text``, ``suggestion_text``, ``reddit_post_text`` …).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import logging
import random
import unicodedata
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from atlas_desk.sandbox.model import (
    Channel,
    Comment,
    Community,
    Contest,
    Discussion,
    Issue,
    Member,
    Message,
    Reaction,
    RedditComment,
    RedditPost,
    RoadmapCard,
    ScheduledEvent,
    ScheduledPost,
    Suggestion,
    Thread,
    Ticket,
    TicketMessage,
)

log = logging.getLogger("atlas_desk.sandbox")

T = TypeVar("T")

DISCORD_EPOCH_MS = 1420070400000
HISTORY_DAYS = 90
DEFAULT_NOW = datetime(2026, 11, 20, 17, 0, 0, tzinfo=UTC)

GUILD_NAME = "Atlas Community"
REPO = "atlas-app/atlas"
SUBREDDIT = "AtlasApp"

HOSTILE_HTML_NAME = '<a href="https://evil.example">click</a>'
HOSTILE_RTL_NAME = "Dana \u202egpj.exe\u202c"
HOSTILE_ZWJ_NAME = "Atlas\u200d \u200dSupport\u200d Team"
HOSTILE_LONG_NAME = (
    "Bartholomew Maximilian Alexander Fitzgerald-Worthington the Third, Keeper of the Eternal Inbox, "
    "Collector of Unfinished Notebooks and Sworn Enemy of Sync Conflicts"
)
HOSTILE_NAMES = (HOSTILE_HTML_NAME, HOSTILE_RTL_NAME, HOSTILE_ZWJ_NAME, HOSTILE_LONG_NAME)
HOSTILE_BODIES = (
    "lol the preview renders this <script>alert('atlas')</script> as text, right?",
    'pasting my template: <img src="x" onerror="alert(1)"> wait why did that not show up',
    'here\'s the link someone DMed me, is it legit? <a href="https://evil.example/login">atlas-free-pro</a>',
)

ROADMAP_STATUSES = ("Under consideration", "Planned", "In progress", "Done")
TICKET_STATUSES = ("new", "open", "pending", "resolved", "closed")


# ----------------------------------------------------------------------------------------------------
# ids


def snowflake(when: datetime, counter: int) -> str:
    """A Discord snowflake for ``when`` with the low 22 bits set to ``counter``."""
    ms = int(when.timestamp() * 1000)
    return str(((ms - DISCORD_EPOCH_MS) << 22) | (counter & 0x3FFFFF))


def snowflake_time(snowflake_id: str | int) -> datetime:
    """The UTC time encoded in a Discord snowflake."""
    ms = (int(snowflake_id) >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(n: int) -> str:
    """Reddit-style base36 of a non-negative integer."""
    if n < 0:
        raise ValueError("base36 of a negative number")
    out = []
    while True:
        n, r = divmod(n, 36)
        out.append(_B36[r])
        if n == 0:
            return "".join(reversed(out))


def node_id(prefix: str, seed: int, kind: str, number: int) -> str:
    """A stable GitHub-node-id-like string, e.g. ``D_kwDOAbc123…`` for (prefix="D")."""
    digest = hashlib.sha1(f"{seed}:{kind}:{number}".encode()).digest()
    return f"{prefix}_kwDO" + base64.urlsafe_b64encode(digest[:12]).decode("ascii").rstrip("=")


class _Ids:
    """Per-community id source: snowflakes unique within the community, base36 sequences for Reddit."""

    def __init__(self, seed: int, rng: random.Random) -> None:
        self.seed = seed
        self._seq = itertools.count(rng.randrange(0, 4096))
        self._worker = (seed & 0x3FF) << 12
        self._used: set[str] = set()
        self.post_base = int("1gs0000", 36) + rng.randrange(0, 36**4)
        self.comment_base = int("lx00000", 36) + rng.randrange(0, 36**4)
        self.modmail_base = int("2k000", 36) + rng.randrange(0, 36**3)

    def snowflake(self, when: datetime) -> str:
        while True:
            sid = snowflake(when, self._worker | (next(self._seq) & 0xFFF))
            if sid not in self._used:
                self._used.add(sid)
                return sid


# fmt: off
# ----------------------------------------------------------------------------------------------------
# phrase banks

FIRST_NAMES = (
    "Maya", "Liam", "Aisha", "Kenji", "Sofia", "Mateo", "Priya", "Oluwaseun", "Chen", "Freya", "Tomasz",
    "Leila",
    "Diego", "Anika", "Yusuf", "Hana", "Noah", "Inès", "Kwame", "Ingrid", "Rafael", "Mei", "Arjun", "Zofia",
    "Emeka", "Camille", "Björn", "Nadia", "Hiroshi", "Lucía", "Omar", "Elif", "Finn", "Amara", "Dmitri",
    "Sven",
    "Thandiwe", "Jae-won", "Rosa", "Viktor", "Aarav", "Chloé", "Santiago", "Fatima", "Lars", "Nia", "Pablo",
    "Yara",
    "Ethan", "Ayumi", "Kofi", "Greta", "Rahul", "Sakura", "Matteo", "Zainab", "Jonas", "Ana", "Tariq",
    "Elena",
    "Malik", "Astrid", "Hugo", "Leah", "Ravi", "Isabela", "Felix", "Sun-hee", "Marek", "Chiara", "Ibrahim",
    "Olga",
    "Samir", "Wren", "Tomás", "Ngozi", "Kai", "Ayesha", "Mikko", "Lina", "Bruno", "Siobhán", "Andrés", "Jia",
    "Femi", "Paula", "Anders", "Dalia", "Quentin", "Mira", "Gabriel", "Keiko", "Yosef", "Carmen", "Tendai",
    "Vera",
    "Arash", "Noor", "Daniel", "Esi", "Luca", "Ximena", "Piotr", "Hamid", "Maren", "Ren", "Adaeze", "Julien",
    "Ilse", "Mohammed", "Beatriz", "Sanjay", "Tove", "Kalani", "Aleksandra", "Grace", "Marcus", "Sienna",
    "Theo",
)
LAST_NAMES = (
    "Kowalski", "Okafor", "Nakamura", "García", "Patel", "Andersson", "Haddad", "Müller", "Mensah", "Rossi",
    "Chen", "Novak", "Silva", "Kim", "Johansson", "Ibrahim", "Dubois", "Tanaka", "Ferreira", "O'Brien",
    "Horvat",
    "Singh", "Eriksen", "Moreau", "Adeyemi", "Schmidt", "Park", "Lopez", "Ivanova", "Yilmaz", "Nguyen",
    "Costa",
    "Fischer", "Bianchi", "Mwangi", "Lindqvist", "Takahashi", "Hernández", "Kaur", "Wójcik", "Fernandes",
    "Ahmed",
    "Larsen", "Petrov", "Romero", "Sato", "Bauer", "Oyelaran", "Virtanen", "Jensen", "Murphy", "Ortiz", "Das",
    "Khan", "Varga", "Suzuki", "Morales", "Popescu", "Walsh", "Achterberg", "Banda", "Castillo", "Dimitrov",
    "Esposito", "Forsberg", "Gupta", "Halvorsen", "Iyer", "Jovanović", "Keller", "Lehmann", "Mahlangu",
    "Nilsen",
    "Osei", "Price", "Quispe", "Reyes", "Stein", "Torres", "Uddin", "Vidal", "Weber", "Young", "Zhou",
    "Abbott",
)
HANDLE_WORDS = (
    "notes", "ink", "quill", "fox", "owl", "pixel", "coffee", "maple", "orbit", "nova", "cedar", "delta",
    "echo",
    "lumen", "paper", "focus", "tidy", "atlas", "margin", "index", "kanban", "draft", "vim", "zen", "comet",
    "fern", "harbor", "lantern", "moss", "pebble", "river", "sable", "tundra", "willow", "bytes", "loop",
)
HANDLE_SUFFIXES = ("", "", "", "42", "7", "99", "_dev", "_writes", "hq", "2k", "_io", "x", "23", "_notes")
NAME_EMOJI = ("🌿", "☕", "📓", "✨", "🦊", "🌙", "📚", "🎧", "🌻", "🚀")

VERSIONS = ("3.4.1", "3.4.1", "3.4.1", "3.4.0", "3.3.2", "3.4.2 beta", "3.3.0")
DEVICES = (
    "my iPhone 15", "the iPad Pro", "my Pixel 8", "my Windows 11 desktop", "my MacBook Air", "my work laptop",
    "a Galaxy S23", "my Chromebook", "Ubuntu 24.04", "the web app in Firefox", "my old iPad mini",
    "the web app in Chrome", "a Surface Pro", "Fedora 41", "my Android tablet",
)
OSES = ("iOS", "Android", "macOS", "Windows", "Linux", "the web app", "iPadOS")
COMPONENTS = (
    "sync", "the editor", "quick add", "the calendar view", "search", "the widget", "markdown export",
    "the share sheet", "the reminders view", "the tag sidebar", "the backlinks panel",
    "the attachment viewer",
    "the daily note", "offline mode", "the command palette", "the template picker", "dark mode", "PDF export",
    "the Google Calendar integration",
)
SYMPTOMS = (
    "gets stuck on \"Uploading {n} changes\"", "crashes on launch", "shows duplicate notes",
    "freezes for a few seconds",
    "loses the last paragraph I typed", "doesn't update until I open the app", "ignores my default notebook",
    "shows events twice", "resets the font size", "drops images from the export",
    "is really slow with big notebooks",
    "shows a blank screen", "logs me out every morning", "puts checkboxes in the wrong order",
    "renders code blocks without line breaks", "doesn't respect the system theme",
)
USES = (
    "meeting notes", "thesis research", "journaling", "recipes", "client projects", "a reading log",
    "lecture notes", "D&D campaign prep", "bullet journaling", "grocery lists", "team standups",
    "tracking habits", "writing a novel", "job applications", "garden planning", "house renovation plans",
)
TIMES = ("this morning", "yesterday", "since the update", "since last week", "a couple of days ago", "today",
         "after I changed phones", "on and off all week")
THANKS = (
    "That worked, thank you!", "Oh wow, that was it. Thanks {name}!", "Fixed! You're a lifesaver 🙏",
    "Thanks, I'll try that tonight.", "Perfect, that did it.", "Ahh of course. Thank you {name}!",
    "Confirmed, working now. Appreciate the quick help!", "Thanks! Didn't know that setting existed.",
    "thank you {name}!!", "That was it, thanks a lot.", "ty {name}, all good now",
    "Works again, cheers {name}!",
    "Thanks, will report back if it happens again.", "You're the best {name} 🙌", "Huh, so simple. Thanks!",
)
REACTION_EMOJI = ("❤️", "😂", "🎉", "🙏", "🔥", "👀", "✅", "💯")

# Features double as suggestion titles and roadmap cards: (title, why someone wants it).
FEATURES: tuple[tuple[str, str], ...] = (
    ("Kanban board view for tasks",
     "I plan sprints in Atlas and moving cards between columns would be so much faster"),
    ("Nested tags", "my tag list has 80 entries and grouping them like work/clients/acme would tame it"),
    ("Shared notebooks with end-to-end encryption",
     "we'd use it for family documents but only if it stays private"),
    ("Apple Watch complication for today's tasks", "glancing at my wrist beats pulling out the phone"),
    ("Natural-language dates in quick add", "typing 'next tue 3pm' and getting a reminder would be magic"),
    ("Vim keybindings in the editor", "my fingers keep typing :w into my notes"),
    ("Export to Markdown with front matter", "I publish notes to my blog and need tags and dates in YAML"),
    ("Two-way Google Calendar sync", "right now events I move in Google don't come back into Atlas"),
    ("Outlook calendar integration", "my company is all-in on Microsoft 365"),
    ("Daily note templates", "I paste the same headings into my daily note every morning"),
    ("Backlinks panel", "seeing which notes point to the current one would make Atlas a real second brain"),
    ("Offline mode for the web app", "I use the web app on trains and lose everything when the signal drops"),
    ("Resizable widgets on Android", "the 2x2 widget is too small to show more than three tasks"),
    ("OCR search inside images", "I photograph whiteboards and can never find them again"),
    ("A public REST API", "I want to pipe my reading list in from a script"),
    ("Zapier and Make integrations",
     "automating meeting notes from my calendar would save me an hour a week"),
    ("Bulk edit tags", "retagging 200 notes one by one is painful"),
    ("Custom recurrence rules for tasks",
     "'every second Thursday' and 'last weekday of the month' aren't possible"),
    ("Pin notes to the top of a notebook", "my index note keeps sinking below newer notes"),
    ("Word count in the status bar", "I track daily writing goals"),
    ("Tables in the editor", "I keep pasting screenshots of spreadsheets instead"),
    ("LaTeX math blocks", "half my lecture notes are equations"),
    ("Import from Obsidian vaults", "I'd move over today if I could bring my vault with its links"),
    ("Import from Notion", "our team is leaving Notion and Atlas is the front runner"),
    ("Focus mode with a pomodoro timer", "I already use a separate timer app next to Atlas all day"),
    ("Version history for notes", "I overwrote a paragraph last week and had no way back"),
    ("Color labels for calendars", "all my calendars show up in the same blue"),
    ("Archive instead of delete", "I want old projects out of sight without losing them"),
    ("Keyboard shortcut cheatsheet", "I keep discovering shortcuts by accident"),
    ("Siri Shortcuts actions", "'add to Atlas inbox' from my car would be perfect"),
    ("Sidebar folders you can collapse", "the sidebar gets endless once you have a few dozen notebooks"),
    ("Per-notebook accent colours in dark mode", "everything looks the same in dark mode"),
    ("Checklist progress on notebook cards", "seeing 7/12 done on the card would help me prioritise"),
    ("Linux ARM builds", "I run Atlas on a Raspberry Pi 5 as a kitchen dashboard"),
    ("Readwise highlights import", "all my Kindle highlights live there"),
    ("Quick capture from the lock screen", "ideas vanish in the seconds it takes to unlock"),
    ("Spaced repetition flashcards from notes", "I'd love to study straight from my lecture notes"),
    ("Split view with two notes side by side", "I constantly compare drafts"),
    ("Email to Atlas inbox address", "forwarding receipts and newsletters straight into a notebook"),
    ("Fine-grained sharing permissions", "I want my assistant to edit one notebook and only read another"),
    ("Self-hosted sync server", "my employer won't allow notes on third-party servers"),
    ("Handwriting support with Apple Pencil", "I still think best with a pen"),
    ("Web clipper for Firefox", "the Chrome clipper is great but I live in Firefox"),
    ("Task dependencies", "some tasks can't start before others finish and Atlas doesn't know that"),
    ("Reminders based on location", "remind me to buy stamps when I'm near the post office"),
    ("Audio notes with transcription", "I record voice memos on walks"),
    ("Hide completed tasks per project", "my done tasks bury the open ones"),
    ("Custom fonts in the editor", "I write better in a serif font"),
    ("Read-only publish to the web", "I want to share a notebook as a tiny public site"),
    ("Calendar week numbers", "everyone at my company plans by week number"),
)
ROADMAP_ONLY = (
    ("Rewrite the sync engine's conflict resolution",
     "Fewer conflicted copies when two devices edit offline."),
    ("Accessibility audit of the editor",
     "Screen reader labels, focus order and contrast across the editor."),
    ("Faster cold start on Android", "Target: under one second on mid-range phones."),
    ("Reduce memory use with large notebooks", "Notebooks with 10k+ notes should stay smooth."),
    ("New onboarding flow", "A shorter first-run that shows templates and sync."),
    ("Search index rebuilt on SQLite FTS5", "Instant search with prefix matching on every platform."),
    ("Attachment storage quota UI", "Show what uses your storage and let you clean it up."),
    ("Localization: Japanese and Korean", "Community translators are helping with these two first."),
    ("Windows ARM native build", "No more emulation on Snapdragon laptops."),
    ("Two-factor authentication with passkeys", "Passkeys as a second factor, then as a sign-in method."),
)
HOWTO_TASKS = (
    "export a notebook to Markdown with its images", "move notes between notebooks in bulk",
    "set up the Google Calendar integration", "use a template for my daily note", "restore a deleted note",
    "share a notebook read-only", "change the default notebook for quick add", "back up everything locally",
    "get the widget to show only today's tasks", "turn off the weekly summary email",
    "sync between my personal and work accounts", "link two notes together",
    "print a note without the sidebar",
    "search only inside one notebook", "make a recurring task skip weekends",
    "add a note from the share sheet",
    "change the first day of the week", "import my Evernote export", "use Atlas with a screen reader",
    "switch my subscription from monthly to yearly",
)
TIPS = (
    "Type `/` anywhere in a note to open the block menu, then start typing to filter it.",
    "Hold ⌥ (Alt on Windows) while dragging a note to copy it instead of moving it.",
    "`Ctrl+K` (⌘K on Mac) opens the command palette, and it searches note titles too.",
    "In quick add, `#tag` and `@notebook` work, so `buy filters #home @errands` files itself.",
    "Long-press the widget on Android and pick 'Today only' to hide future tasks.",
    "Search supports `tag:work -tag:archive \"exact phrase\"`, which saves a lot of scrolling.",
    "Drag a note onto the calendar to create a time block linked back to the note.",
    "Daily notes can pull in today's calendar events: add `{{events}}` to your template.",
    "Settings → Sync → 'Sync on cellular' is off by default; turn it on if notes seem stale on the go.",
    "Pin your most used notebook with right-click → Pin; pinned notebooks stay on top of the sidebar.",
    "Markdown export keeps your folder structure if you export the whole notebook instead of single notes.",
    "Triple-tap a checklist item on iOS to indent it under the one above.",
    "Set a default reminder time in Settings → Tasks so 'tomorrow' means 9:00, not midnight.",
    "Use `---` on its own line to add a divider; it exports as a horizontal rule too.",
    "You can star a search and it shows up in the sidebar as a smart list.",
    "Press `Ctrl+Shift+V` to paste as plain text and skip the formatting from web pages.",
    "Templates can have variables: `{{date:YYYY-MM-DD}}` fills today's date.",
    "Swipe right on a task in the list to snooze it to tomorrow.",
)
OFFTOPIC = (
    "what's everyone listening to while working today? I'm on {music} again",
    "coffee or tea people? asking for a very important survey ☕",
    "finally finished {book}, only took me {n} weeks 😅",
    "anyone else's {pet} insist on sitting on the keyboard exactly when a meeting starts",
    "weekend plans? I'm {activity} and pretending it's productive",
    "today I learned my mechanical keyboard is 'too loud for the office'. rude",
    "the sunset here tonight was unreal, wish I'd taken a photo",
    "is it just me or does every month go faster than the last",
    "just got back from a hike, phone died at 4% but my Atlas packing list survived 😄",
    "recommend me a good {genre} book, I just finished {book}",
    "learning to bake bread this winter. first loaf was a brick",
    "anyone going to a conference this month? would be fun to meet some of you",
    "my to-do list today is mostly 'reply to emails about other emails'",
    "rainy day, blanket, tea, notes. perfect",
    "happy Friday everyone 🎉",
    "new desk setup finally done, cable management took longer than the desk",
)
MUSIC = ("lofi", "jazz", "synthwave", "the Interstellar soundtrack", "rain sounds", "90s Britpop", "Bach",
         "video game soundtracks", "a true crime podcast", "brown noise")
BOOKS = ("Project Hail Mary", "The Left Hand of Darkness", "Piranesi", "Deep Work", "Atomic Habits",
         "The Three-Body Problem", "Klara and the Sun", "Four Thousand Weeks", "Dune Messiah",
         "Tomorrow, and Tomorrow")
GENRES = ("sci-fi", "fantasy", "non-fiction", "mystery", "productivity (sorry)", "short story")
PETS = ("cat", "dog", "parrot", "toddler", "bunny")
ACTIVITIES = ("repotting all my plants", "reorganising my bookshelf by colour", "cleaning out the garage",
              "finally fixing my bike", "batch cooking for the week", "building a LEGO set",
              "learning to knit")
OFFTOPIC_REPLIES = (
    "haha same", "this is the content I'm here for", "oh nice!", "ok that's relatable", "congrats!!",
    "Dune if you haven't yet", "tea, always tea", "coffee, and it's not close", "send pics!", "lol",
    "my dog does the same during calls", "that sounds lovely", "we need a #plants channel at this point",
    "Murderbot diaries, trust me", "respect", "mood",
)
# A conversation topic: (openers, replies). Replies answer that opener, so threads read coherently.
GENERAL_TOPICS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("Is there a student discount for Atlas Pro? My uni email should count, right?",
         "What's the difference between Pro and Team? The pricing page confuses me a bit.",
         "Is the yearly plan worth it over monthly? I've been on monthly for {n} months.",
         "Does Pro give you more attachment storage or is it just the sync stuff?",
         "Thinking about upgrading to Pro for {use}. Worth it?"),
        ("There's a student discount, 50% if you sign up with your uni email. Settings → Plan.",
         "Pro is for you alone (unlimited devices, version history), Team adds shared notebooks and admin "
         "stuff.",
         "Yearly saves about two months' worth, so if you know you'll stay it's worth it.",
         "Pro has 50 GB for attachments, free is 1 GB. That was the deciding factor for me.",
         "I went yearly after {n} months on monthly, no regrets.",
         "Version history alone paid for Pro for me, saved me twice already.",
         "If you only use it on one device the free plan is honestly fine.",
         "Wait for the end-of-year sale, yearly was 30% off last time."),
    ),
    (
        ("How are people organising {use}? One notebook with tags, or a notebook per project?",
         "Do you keep tasks and notes in the same notebook or separate them?",
         "How do you all handle {use} that's shared with a partner?",
         "Anyone using Atlas for {use}? Curious about your setup.",
         "How many tags do you have? I'm at {n} and it's getting out of hand."),
        ("I do one notebook per area (work, home, side projects) and tags for everything else.",
         "Tags all the way. Notebooks got messy for me after a few months.",
         "Separate notebooks, but I link tasks back to the meeting note they came from.",
         "We use a shared notebook with a simple template for {use}, works great.",
         "I use it for {use} too: one notebook, a template, and a saved search for open tasks.",
         "Fewer tags than you think. I merged mine down to about a dozen and never looked back.",
         "Daily note as the hub, everything else linked from there.",
         "Notebook per project, archived when the project ends. Keeps the sidebar short."),
    ),
    (
        ("First week with Atlas, coming from {app}. Any tips for a newbie?",
         "Just switched from {app}, what should I know?",
         "Hi all 👋 new here, moved over from {app} for {use}."),
        ("Welcome! Learn the command palette (Ctrl+K) first, it changes everything.",
         "The importer under File → Import handles {app} exports pretty well, check the attachments "
         "afterwards.",
         "Start simple, don't build a whole system on day one.",
         "Daily note + quick add covers 90% of what I do.",
         "Welcome 👋 #tips-and-tricks has the good stuff.",
         "I came from {app} too. Give it two weeks, then it clicks.",
         "Turn on 'Sync on cellular' if you're on mobile a lot, it's off by default."),
    ),
    (
        ("Does Atlas work well with a screen reader? Asking for my dad.",
         "Is there a way to see the changelog inside the app?",
         "Are there plans for a Linux ARM build? I'd love it on my Pi.",
         "Is there an Atlas student ambassador program or anything like that?",
         "When's the next AMA? I have a question about the API."),
        ("VoiceOver works okay on iOS, desktop is better since 3.4.0. The team is doing an accessibility "
        "audit.",
         "The changelog is under Help → What's new.",
         "I think the mods said ARM builds are on the roadmap, check #announcements.",
         "Not officially, but the mods sometimes give out Pro codes to people who help in #support.",
         "First Thursday of the month, there's an event in the sidebar.",
         "Good question, following this.",
         "It's on the public roadmap on GitHub if you want to upvote it."),
    ),
    (
        ("Just wanted to say Atlas {version} is the first notes app that stuck for me. Daily user for {n} "
        "months.",
         "The new {component} is so much smoother, whoever worked on that: thank you 🙌",
         "Moved my whole {use} setup into Atlas over the weekend. Zero regrets.",
         "Honestly sync has been rock solid for me since {version}. Nice work team.",
         "Atlas on {device} feels really snappy after the last update.",
         "I recommended Atlas to my team and now we all use it for {use}. Love it.",
         "the dark mode update is *chef's kiss*"),
        ("Agreed!", "Same experience on {device}.", "Couldn't agree more.",
         "Same, it's become my default for {use}.",
         "The {component} was the big one for me too.", "Nice! What made you switch?",
         "Glad to hear it, sync used to be my only complaint."),
    ),
)
PRAISE = GENERAL_TOPICS[-1][0]
GENERAL_OPENERS = tuple(o for openers, _ in GENERAL_TOPICS for o in openers)
GENERAL_REPLIES = tuple(r for _, replies in GENERAL_TOPICS for r in replies)
APPS = ("Evernote", "Notion", "OneNote", "Apple Notes", "Obsidian", "Google Keep", "Todoist", "Bear", "Roam")

# Support topics: (openers, answers, follow-ups from the asker when the first answer didn't help).
SUPPORT_TOPICS: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("Sync {symptom} on {device} since {time}. Atlas {version}. Anyone else?",
         "My notes from {device} aren't showing up on the other devices. Last sync was {ago}.",
         "Sync is stuck on \"Uploading {n} changes\" on {device}. Atlas {version}.",
         "Sync conflict copies everywhere since {time}, every note has a \"(conflicted copy)\" twin 😩"),
        ("Try Settings → Sync → Reset local cache. It keeps your notes, just re-downloads them.",
         "Check Settings → Sync → Devices, sometimes an old device holds a lock. Removing it fixed it for "
         "me.",
         "Which version are you on exactly? There was a sync fix in 3.4.1.",
         "Is battery saver on? {os} kills background sync pretty aggressively.",
         "That's a known issue with {version}, the team said the fix lands in the next update.",
         "I had exactly this. Turning off 'Optimise storage' fixed it."),
        ("I'm on {version}. Tried the reset, still stuck.",
         "Battery saver is off. It started right after the update.",
         "Removed the old device, it synced {n} notes and then stopped again."),
    ),
    (
        ("{component} {symptom} on {device} (Atlas {version}). Is this a known bug?",
         "After updating to {version}, {component} {symptom}. Already tried restarting.",
         "Hey all, {component} {symptom} on {os}. Anyone seen this?"),
        ("Does it happen with a new empty notebook too? That'd tell us if it's one note causing it.",
         "There's a GitHub issue for that one, add your 👍 and the version you're on.",
         "Try the 3.4.2 beta, it fixed that for me on {os}.",
         "Reinstalling didn't help me, but clearing the app cache did.",
         "Can you post a screenshot? Sounds like what happened to me on {device}."),
        ("Same thing happens with a fresh notebook, weird.", "Hmm, I don't see that option on {os}.",
         "Cleared the cache, it came back after an hour."),
    ),
    (
        ("Widget on {device} {symptom}. I'm on {version}.",
         "The Android widget only shows yesterday's tasks until I open the app.",
         "Home screen widget is blank after the update 🙃"),
        ("Settings → Apps → Atlas → Battery → Unrestricted. Android kills the widget refresh otherwise.",
         "Remove the widget and add it again, it re-registers after updates.",
         "Known issue, the widget refreshes every 30 minutes at most on {os}."),
        ("It was already unrestricted 😕", "Re-adding worked for a day, then blank again."),
    ),
    (
        ("Calendar integration {symptom} after I connected a second Google account. Help?",
         "Events from my work calendar show up twice in Atlas.",
         "Google Calendar events I move don't move in Atlas, is it one-way?"),
        ("Go to Settings → Calendar, disconnect both accounts, then add them back one by one.",
         "It's one-way for now (Google → Atlas). Two-way sync is on the roadmap.",
         "The duplicate events bug is fixed in 3.4.2, it's in beta right now."),
        ("Reconnected both, still doubled.", "Ah one-way, that explains a lot."),
    ),
    (
        ("Export to markdown {symptom} when the notebook has attachments. Atlas {version} on {os}.",
         "Markdown export stops at 90% on my biggest notebook.",
         "PDF export cuts off tables on the right side."),
        ("For exports with attachments pick 'Folder' instead of 'Single file', the single file mode skips "
        "images.",
         "Export the notebook in smaller chunks, the big ones time out on {os}.",
         "Try landscape in the PDF options, tables fit then."),
        ("Folder mode worked but the image links are relative, is that expected?",
         "Smaller chunks worked, thanks, but that's a workaround."),
    ),
    (
        ("I think I lost a note?? It was there {time} and now search can't find it 😰",
         "Accidentally deleted a whole notebook. Please tell me there's a way back.",
         "A note I edited on {device} went back to an older version."),
        ("Deleted notes go to Trash for 30 days, check the bottom of the sidebar.",
         "If you're on Pro, right-click the note → Version history.",
         "Search skips archived notebooks by default, try `in:archive`."),
        ("Not in Trash either 😟", "Found it in archive, phew!"),
    ),
    (
        ("Can't sign in on {device}: it says 'session expired' right after I enter the code.",
         "Keep getting logged out on {device} every morning.",
         "Login code email never arrives."),
        ("Sign out on that device and back in, it re-registers the sync token.",
         "Check the device clock, if it's off by a few minutes the codes fail.",
         "Look in spam, the codes come from no-reply@atlas.example."),
        ("Clock is fine, still fails.",
         "Tried signing out and in. Works for ten minutes, then it's stuck again."),
    ),
    (
        ("Dark mode on {os} {symptom}, is there a setting I'm missing?",
         "Is offline mode supposed to work on {os}? Everything disappears without signal.",
         "The editor {symptom} on {device}."),
        ("Settings → Appearance → 'Follow system' has to be on for the automatic switch.",
         "Offline mode on the web app is still experimental, the desktop apps handle it much better right "
         "now.",
         "Which font size are you on? The large sizes had that bug in {version}."),
        ("Follow system is on 🤷", "Oh I was on the web app, that explains it."),
    ),
)
SUPPORT_OPENERS = tuple(o for openers, _, _ in SUPPORT_TOPICS for o in openers)
SUPPORT_ANSWERS = tuple(a for _, answers, _ in SUPPORT_TOPICS for a in answers)
SUPPORT_FOLLOWUPS = tuple(f for _, _, followups in SUPPORT_TOPICS for f in followups)
SUPPORT_CONTEXT = ("", "", "", " Already tried restarting.", " Atlas {version} on {os}.", " Any ideas?",
                   " Using {device}.", " Reinstalling didn't help.", " It worked fine last week.", " 😩",
                   " Not urgent, just annoying.", " Happens every time.", " Help please 🙏")
SUPPORT_METOO = (
    "Same here on {device}.", "+1, happens to me too on {version}", "Following, I have the same issue.",
    "Thanks, this thread fixed it for me too.", "Seeing this on {os} as well.", "Glad it's not just me.",
)
# Casual framing, so the same answer typed by two people does not read like a bot.
VOICE_PREFIXES = ("", "", "", "", "", "ok so ", "honestly ", "hmm, ", "oh, ", "yeah, ", "@{name} ")
ANSWER_PREFIXES = ("", "", "", "not sure but ", "from what I know, ", "fwiw ", "iirc ", "@{name} ",
                   "@{name} ", "pretty sure ")
VOICE_SUFFIXES = ("", "", "", "", "", " 🙂", " :)", " haha", " tbh", " 👍", "!", " fwiw", " 🙏", " lol",
                  " imo")
MOD_SUPPORT = (
    "Thanks for the details! Could you open a ticket with your logs (Help → Send logs)? Then we can look at "
    "your account.",
    "We're tracking this one on GitHub, I'll link this thread there. A fix is planned for 3.4.2.",
    "Thanks for reporting. Can you DM the bot with 'ticket' so we can check it privately?",
    "This looks like the cache bug from 3.4.0. Updating to {version} and resetting the cache should sort it.",
)
SHOW_OPENERS = (
    "Here's my {use} dashboard after a month of tweaking. Daily note on the left, tasks on the right.",
    "Made a template for {use}, happy to share if anyone wants it!",
    "My minimal setup: three notebooks, five tags, one daily note. That's it.",
    "Built a little script that turns my Atlas tasks into a weekly review email.",
    "Finally got my {use} into Atlas. The calendar view makes it so clear.",
    "Sharing my reading log template, it tracks books, quotes and ratings.",
)
SHOW_REPLIES = (
    "This is beautiful, please share the template!", "Stealing this immediately.",
    "How did you get the tasks to show on the side like that?", "Love the colours.",
    "Would you mind posting it in #tips-and-tricks too?", "Clean!",
    "This inspired me to clean up my sidebar.",
    "Does the template work on mobile too?",
)
SUGGESTION_OPENERS = (
    "Suggestion: {title}. {why}.",
    "Feature request: {title}. {why}. Would anyone else use this?",
    "Idea: {title}! {why}.",
    "Would love {title_lc}. {why}.",
    "💡 {title}: {why}. Please upvote if you want it too.",
)
SUGGESTION_REPLIES = (
    "+1, this would help so much with {use}.", "Yes please!", "Would love this for {use}.",
    "Been waiting for this since I joined.", "+1 from me", "This plus a keyboard shortcut would be perfect.",
    "Not sure I'd use it but I see the appeal.", "Upvoted. Biggest thing missing for me.",
    "Is there a GitHub issue for this? I'd add my 👍 there too.",
)
MOD_SUGGESTION = (
    "Thanks! Logged this for the next roadmap review.",
    "Good one, adding it to the board under consideration.",
    "Noted, we'll look at this in the monthly roadmap meeting.",
    "This is already on the roadmap as planned, keep the votes coming!",
)
RELEASE_NOTES = (
    "**Atlas {version} is out!** 🎉\n\n- Faster sync on large notebooks\n- Fixed duplicated calendar events\n"
    "- Widgets respect dark mode\n\nUpdate from your app store or Help → Check for updates.",
    "**Atlas {version}** is rolling out over the next few days.\n\n- Markdown export keeps images\n"
    "- New: tables in the editor (beta)\n- Fixed: crash when pasting large images on Android",
    "Hotfix **Atlas {version}**: fixes the sign-out loop some of you hit after the last update. Thanks for "
    "the "
    "reports in #support!",
)
ANNOUNCE_OTHER = (
    "📅 Our monthly AMA with the Atlas team is on {date}. Drop your questions in the event thread!",
    "🏆 The feature-suggestion contest is open! Post your ideas in #feature-suggestions, on GitHub Ideas or "
    "r/AtlasApp; the three most voted win a year of Atlas Pro.",
    "🗺️ Roadmap update for {month} is up on GitHub. Thanks to everyone who voted on suggestions!",
    "Welcome to all the new members this week 👋 Say hi in #general and check out #tips-and-tricks.",
    "Reminder: be kind, stay on topic, and please use tickets (DM the bot) for account or billing questions.",
)

DISCUSSION_GENERAL = (
    ("What does your Atlas setup look like?",
     "Curious how everyone structures notebooks, tags and templates."),
    ("Atlas for academic research",
     "PhD student here. How do you manage citations and reading notes in Atlas?"),
    ("Migrating from Evernote: my notes after a month", "Wrote down what went well and what I miss."),
    ("Atlas and ADHD",
     "Some things that helped me stay on top of tasks with Atlas. Would love to hear yours."),
    ("Favourite templates thread", "Share your best templates, I'll start with my weekly review."),
    ("How do you do weekly reviews?", "I've tried a few formats, none stuck yet."),
    ("Atlas for teaching", "Teacher here, using shared notebooks with my class. AMA."),
    ("Community translation effort", "Is there a way to help translate Atlas into Portuguese?"),
    ("Using Atlas offline for a month at sea", "Notes from a sailing trip with almost no connectivity."),
    ("Which integrations do you actually use?", "Calendar, Zapier, the web clipper… what stuck for you?"),
)
DISCUSSION_ANNOUNCE = (
    ("Atlas {version} release notes",
     "Highlights: faster sync, calendar fixes, tables (beta). Full notes below."),
    ("Roadmap update: {month}", "What shipped, what's planned, and the most voted community ideas."),
    ("Monthly AMA: ask the sync team anything", "Post your questions here ahead of the AMA on Discord."),
    ("Feature-suggestion contest: this month's winners", "Thanks to everyone who posted and voted!"),
    ("Changes to the Team plan", "From next month, Team includes admin roles and SSO."),
    ("Welcome to Atlas Discussions", "Please read before posting: how Ideas, Q&A and General work here."),
)
ISSUE_BUG_TITLES = (
    "{component} {symptom} on {os}", "Crash when opening {component} with large notebook",
    "{version}: {component} {symptom}", "[{os}] {component} {symptom}",
    "Regression in {version}: {component} {symptom}",
)
ISSUE_LABELS_EXTRA = ("sync", "ui", "performance", "docs", "platform:ios", "platform:android",
                      "platform:desktop", "platform:web", "good first issue", "needs-repro")
REDDIT_FLAIRS = ("Question", "Feature Request", "Tips", "Discussion", "Bug", "Showcase", "Meta")
# (title, body) pairs per flair; the body belongs to its title, and slots are shared within a post.
REDDIT_POSTS: dict[str, tuple[tuple[str, str], ...]] = {
    "Question": (
        ("How do I {task}?",
         "I'm on {os} with Atlas {version} and can't figure out how to {task}. Any pointers?"),
        ("Is there a way to {task}?",
         "Searched the sub and the docs. I use Atlas for {use}, so this comes up a lot."),
        ("Best way to {task}?", "There seem to be two or three ways to {task}. What do you all do?"),
        ("Pro vs Team for a two-person business?",
         "My partner and I share notes for {use}. Is Team worth it for two people or is Pro + sharing "
         "enough?"),
        ("Does Atlas work fully offline on {os}?",
         "Going on a trip with patchy internet. Will my notes and tasks work offline on {os}?"),
        ("Student discount still a thing?",
         "The pricing page doesn't mention it any more. Uni email still works?"),
    ),
    "Tips": (
        ("Small tip that changed how I use Atlas", "{tip}"),
        ("My favourite hidden Atlas feature", "{tip} Took me a year to find it."),
        ("PSA for new users", "{tip}"),
        ("TIL (maybe everyone knew this)", "{tip}"),
    ),
    "Discussion": (
        ("Atlas vs Obsidian after six months",
         "Obsidian for plugins, Atlas for sync and tasks. I ended up keeping Atlas for {use}. AMA."),
        ("What made you switch to Atlas?", "For me it was {app} getting slower every year. You?"),
        ("Atlas for {use}: my experience",
         "Been using Atlas for {use} for {n} months. Short version: it works."),
        ("Is anyone else using Atlas without tags at all?",
         "Just notebooks and search. Feels freeing honestly."),
        ("The {version} update is great", "{component} feels so much faster. Nice work, devs."),
        ("Unpopular opinion: the daily note is the best feature", "Everything else hangs off it for me."),
    ),
    "Bug": (
        ("{component} {symptom} since {version}",
         "On {device}. Restarted, reinstalled, same thing. Anyone else?"),
        ("Anyone else: {component} {symptom}?", "Started {time}. Atlas {version} on {os}."),
        ("{version} broke {component} for me",
         "{component} {symptom} after updating. Rolling back isn't an option."),
    ),
    "Showcase": (
        ("My {use} setup in Atlas",
         "One notebook, a template and a saved search. Screenshot in the comments."),
        ("Made a template for {use}", "Happy to share it, link in the comments once I clean it up."),
        ("One year of journaling in Atlas",
         "365 daily notes, {n} tags, zero missed days. Here's what I learned."),
    ),
    "Meta": (
        ("Could we get a weekly questions thread?", "A lot of small questions get buried. A pinned thread?"),
        ("Thanks to the mods for the quick AMA answers", "Last AMA was great, especially the roadmap bits."),
    ),
}
REDDIT_COMMENTS = (
    "Same here, started right after updating to {version}.",
    "Try resetting the local cache in Settings → Sync.",
    "This is the way.", "I use tags for contexts and notebooks for areas, works great.",
    "Upvoted, would love this.", "Did you contact support? They sorted mine in a day.",
    "Great tip, had no idea.", "The web clipper does this if you right-click the page.",
    "Obsidian for me for the plugins, Atlas for everything that needs sync and tasks.",
    "Nice setup! What font is that?", "Check the pinned FAQ, it's the third question.",
    "I had the same problem on {device}, the update fixed it.",
    "This sub is so wholesome compared to others 😄",
    "There's a GitHub issue for this, add your 👍 there.", "Honestly the yearly plan paid for itself.",
    "Thanks for sharing the template!", "Can confirm, {os} here too.", "Great write-up, saving this.",
)
REDDIT_SPAM = (
    ("🔥 FREE Atlas Pro lifetime keys 🔥 click here", "Limited offer, DM me for the link!!!", "Spam"),
    ("I made a course on productivity, 90% off today", "Link in my profile, use code ATLAS90.",
     "Self-promotion"),
    ("Atlas devs are clowns", "Seriously who designed this garbage, the devs should be fired.", "Harassment"),
    ("Check out my crypto note-taking app instead", "It's better than Atlas and pays you tokens.", "Spam"),
)
REPORT_REASONS_COMMENT = ("Spam", "Harassment", "This is misinformation", "Off-topic")

TICKET_TEMPLATES: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # (subject, priority bias, member follow-ups, moderator replies)
    ("Charged twice for the annual plan", "high",
     ("My card shows two charges of $59.99 from today. Can you refund one?",
      "Here's the receipt number: ATL-{n}."),
     ("Sorry about that! I can see both charges; I've asked billing to refund the duplicate. It takes 3–5 "
     "days.",)),
    ("Notes lost after sync", "urgent",
     ("About {n} notes from my {use} notebook disappeared after syncing {device}.",
      "They were there {time}."),
     ("That sounds stressful. Please don't reset anything yet: we can restore from the server snapshot.",
      "Could you tell me the notebook name and roughly when you last saw the notes?")),
    ("Can't log in after changing my email", "normal",
     ("I changed my email yesterday and now the login code never arrives.",),
     ("I've re-sent the verification to the new address. Could you check spam and let me know?",)),
    ("Please delete my account", "normal",
     ("I'd like my account and all my data deleted, thanks.",),
     ("We're sorry to see you go. Before I start: do you want an export of your notes first?",)),
    ("Someone is sending me spam DMs", "high",
     ("A member keeps DMing me links to 'free Atlas Pro'. Screenshots attached.",),
     ("Thanks for reporting. We've removed the member and are checking whether others got the same DMs.",)),
    ("Student discount verification", "low",
     ("My uni email isn't accepted for the student discount. It's a .ac.uk address.",),
     ("Thanks! I've added your university's domain; please try again from Settings → Plan.",)),
    ("Export stuck at 90%", "normal",
     ("Markdown export of my {use} notebook stops at 90% every time. Atlas {version}.",),
     ("Could you send the logs from Help → Send logs? I'll pass them to the sync team.",)),
    ("Refund request", "normal",
     ("I upgraded by accident on {device}, could I get a refund?",),
     ("No problem, I've started the refund. App store refunds go through Apple/Google, I'll send the link.",
      )),
    ("Appeal: muted in #general", "low",
     ("I got muted for a joke that was taken the wrong way. Can we talk about it?",),
     ("Thanks for reaching out calmly. I've read the conversation; the mute ends tomorrow and I've noted "
     "your side.",)),
    ("Widget not updating on Android", "normal",
     ("The widget shows yesterday's tasks until I open the app. Pixel 8, Atlas {version}.",),
     ("This is the battery optimisation issue; could you check Settings → Apps → Atlas → Battery → "
     "Unrestricted?",)),
    ("Calendar shows every event twice", "normal",
     ("Since connecting my work calendar every event is doubled.",),
     ("Thanks! Disconnecting and reconnecting the second account should fix it; a permanent fix is in 3.4.2.",
      )),
    ("Team plan invoice with VAT number", "low",
     ("We need an invoice with our company VAT number for last month.",),
     ("Sure, I've asked billing to reissue it with your VAT number; you'll get it by email.",)),
    ("Harassment in voice chat", "urgent",
     ("A user was shouting slurs in the voice channel last night. I have a recording.",),
     ("Thank you for telling us. We've banned the account and are reviewing the recording.",)),
    ("2FA reset after losing my phone", "high",
     ("I lost my phone and with it my authenticator. How do I get back in?",),
     ("I can help. To verify it's you, please reply with the last four digits of the card on the account.",)),
)
TICKET_MEMBER_SOLVED = (
    "Thank you!", "Thanks for handling this.", "Got it, thanks.", "Appreciate it 🙏",
    "Thanks for the quick reply!", "Perfect, thank you so much!",
)
TICKET_MEMBER_WAITING = (
    "Any update on this?", "Still seeing the same thing, unfortunately.",
    "Here's a screenshot: https://cdn.example/atlas/{n}.png", "Sorry to bump, is anyone looking at this?",
    "I tried that, no change.",
)
TICKET_NOTES = (
    "Member has two earlier tickets, both resolved.", "Checked the account: no flags, normal activity.",
    "Similar report last week, see the earlier ticket.", "Asked in #mod-escalations, waiting for the team.",
    "Sent the standard reply, will follow up on Friday.", "@{mod} can you take over while I'm off tomorrow?",
    "Priority bumped: member says it blocks their work.", "Verified identity via the account email.",
)


# fmt: on
# ----------------------------------------------------------------------------------------------------
# slot filling


def _fill(rng: random.Random, template: str, **fixed: str) -> str:
    """Fill ``{slot}`` placeholders from the phrase banks; ``fixed`` wins over random choices."""
    if "{" not in template:
        return template
    slots: dict[str, str] = {}
    for key in _slot_names(template):
        if key in fixed:
            slots[key] = fixed[key]
        else:
            slots[key] = _SLOT_FILLERS[key](rng)  # KeyError: a template names a slot no bank fills
    out = template.format_map(slots)
    # SYMPTOMS themselves contain {n}
    if "{n}" in out:
        out = out.replace("{n}", str(rng.randint(2, 40)))
    return out


_SLOT_CACHE: dict[str, tuple[str, ...]] = {}


def _slot_names(template: str) -> tuple[str, ...]:
    names = _SLOT_CACHE.get(template)
    if names is None:
        import string

        names = tuple(f for _, f, _, _ in string.Formatter().parse(template) if f)
        _SLOT_CACHE[template] = names
    return names


_SLOT_FILLERS: dict[str, Callable[[random.Random], str]] = {
    "version": lambda r: r.choice(VERSIONS),
    "device": lambda r: r.choice(DEVICES),
    "os": lambda r: r.choice(OSES),
    "component": lambda r: r.choice(COMPONENTS),
    "symptom": lambda r: r.choice(SYMPTOMS),
    "use": lambda r: r.choice(USES),
    "time": lambda r: r.choice(TIMES),
    "n": lambda r: str(r.randint(2, 30)),
    "app": lambda r: r.choice(APPS),
    "music": lambda r: r.choice(MUSIC),
    "book": lambda r: r.choice(BOOKS),
    "genre": lambda r: r.choice(GENRES),
    "pet": lambda r: r.choice(PETS),
    "activity": lambda r: r.choice(ACTIVITIES),
    "ago": lambda r: r.choice(("3 hours ago", "yesterday", "2 days ago", "last Tuesday", "this morning")),
    "task": lambda r: r.choice(HOWTO_TASKS),
    "name": lambda r: r.choice(FIRST_NAMES),
    "month": lambda r: r.choice(("September", "October", "November", "December")),
    "date": lambda r: f"Thursday the {r.randint(1, 28)}th",
    "mod": lambda r: r.choice(FIRST_NAMES).lower(),
}


def _voice(rng: random.Random, text: str, name: str = "", *, answer: bool = False) -> str:
    """Frame ``text`` the way a person types it: sometimes a lead-in, an emoji or a lowercase start."""
    prefix = rng.choice(ANSWER_PREFIXES if answer else VOICE_PREFIXES) if len(text) > 40 else ""
    if "{name}" in prefix:
        prefix = prefix.replace("{name}", name) if name else ""
    suffix = rng.choice(VOICE_SUFFIXES)
    body = text
    if prefix and not prefix.startswith("@") and body[:1].isupper() and body[1:2].islower():
        body = body[:1].lower() + body[1:]
    if suffix and body.endswith((".", "!")) and suffix.strip() not in ("!",):
        body = body[:-1]
    elif suffix == "!" and body.endswith((".", "!", "?", ")")):
        suffix = ""
    return prefix + body + suffix


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lc(title: str) -> str:
    return title[:1].lower() + title[1:] if title and not title[:2].isupper() else title


# ----------------------------------------------------------------------------------------------------
# public text helpers (also used by live mode)


def message_text(rng: random.Random, channel: str = "general") -> str:
    """One believable Discord message for ``channel`` (by name)."""
    if channel == "support":
        return _fill(rng, rng.choice(SUPPORT_OPENERS + SUPPORT_ANSWERS))
    if channel == "feature-suggestions":
        title, why = rng.choice(FEATURES)
        return _fill(rng, rng.choice(SUGGESTION_OPENERS), title=title, title_lc=_lc(title), why=_cap(why))
    if channel == "tips-and-tricks":
        return "Tip: " + rng.choice(TIPS)
    if channel == "show-and-tell":
        return _fill(rng, rng.choice(SHOW_OPENERS + SHOW_REPLIES))
    if channel == "off-topic":
        return _fill(rng, rng.choice(OFFTOPIC + OFFTOPIC_REPLIES))
    if channel == "announcements":
        return _fill(rng, rng.choice(ANNOUNCE_OTHER))
    return _fill(rng, rng.choice(GENERAL_OPENERS + GENERAL_REPLIES + PRAISE))


def reply_text(rng: random.Random, channel: str = "general") -> str:
    """A short reply in ``channel``'s register."""
    bank = {
        "support": SUPPORT_ANSWERS,
        "feature-suggestions": SUGGESTION_REPLIES,
        "show-and-tell": SHOW_REPLIES,
        "off-topic": OFFTOPIC_REPLIES,
    }.get(channel, GENERAL_REPLIES)
    return _fill(rng, rng.choice(bank))


def suggestion_text(rng: random.Random) -> tuple[str, str]:
    """A feature suggestion: (title, body)."""
    title, why = rng.choice(FEATURES)
    return title, _fill(rng, rng.choice(SUGGESTION_OPENERS), title=title, title_lc=_lc(title), why=_cap(why))


def discussion_text(rng: random.Random, category: str = "Q&A", *, task: str | None = None) -> tuple[str, str]:
    """A GitHub Discussion (title, body) for ``category``; ``task`` fixes what a Q&A asks about."""
    if category == "Ideas":
        title, why = rng.choice(FEATURES)
        body = _fill(
            rng,
            "**What:** {title}\n\n**Why:** {why}.\n\nI'd use it for {use}. Happy to test a beta!",
            title=title,
            why=_cap(why),
        )
        return title, body
    if category == "Announcements":
        title, body = rng.choice(DISCUSSION_ANNOUNCE)
        return _fill(rng, title), _fill(rng, body)
    if category == "General":
        return rng.choice(DISCUSSION_GENERAL)
    task = task or rng.choice(HOWTO_TASKS)
    body = _fill(
        rng,
        rng.choice(
            (
                "I'm trying to {task} on {os} (Atlas {version}) but can't find where. Is it possible?",
                "Sorry if this is obvious: how do I {task}? The docs mention it but the menu looks "
                "different.",
                "Is there a way to {task}? I use Atlas for {use} and this would save me a lot of time.",
            )
        ),
        task=task,
    )
    return _cap(f"How do I {task}?"), body


def comment_text(rng: random.Random) -> str:
    """A GitHub comment."""
    return _fill(rng, rng.choice(SUPPORT_ANSWERS + GENERAL_REPLIES + SUGGESTION_REPLIES))


def issue_text(rng: random.Random) -> tuple[str, str, list[str]]:
    """A GitHub bug report: (title, body, labels)."""
    component = rng.choice(COMPONENTS)
    os_name = rng.choice(OSES)
    version = rng.choice(VERSIONS)
    title = _cap(_fill(rng, rng.choice(ISSUE_BUG_TITLES), component=component, os=os_name, version=version))
    body = _fill(
        rng,
        "**Describe the bug**\n{component} {symptom}.\n\n**To reproduce**\n1. Open {component}\n"
        "2. Use it for a while with {use}\n3. See the problem\n\n**Expected**\nIt keeps working.\n\n"
        "**Environment**\n- Atlas {version}\n- {os}",
        component=component,
        os=os_name,
        version=version,
    )
    labels = ["bug"]
    if component == "sync" or "sync" in title.lower():
        labels.append("sync")
    elif component in ("the editor", "dark mode", "the tag sidebar", "the widget"):
        labels.append("ui")
    labels.append(
        {
            "iOS": "platform:ios",
            "iPadOS": "platform:ios",
            "Android": "platform:android",
            "the web app": "platform:web",
        }.get(os_name, "platform:desktop")
    )
    if rng.random() < 0.15:
        labels.append("needs-repro")
    return title, body, labels


def reddit_post_text(rng: random.Random, flair: str | None = None) -> tuple[str, str, str]:
    """A post for r/AtlasApp: (title, selftext, flair)."""
    flair = flair or rng.choice(REDDIT_FLAIRS)
    if flair == "Feature Request":
        title, why = rng.choice(FEATURES)
        return title, _fill(rng, "{why}. Anyone else want this? I'd use it for {use}.", why=_cap(why)), flair
    title_t, body_t = rng.choice(REDDIT_POSTS[flair])
    # one draw per slot, shared by title and body
    shared = {
        k: _SLOT_FILLERS[k](rng) for k in ("task", "component", "symptom", "use", "version", "os", "app")
    }
    shared["tip"] = rng.choice(TIPS)
    return _cap(_fill(rng, title_t, **shared)), _cap(_fill(rng, body_t, **shared)), flair


def reddit_comment_text(rng: random.Random) -> str:
    """A comment on r/AtlasApp."""
    return _fill(rng, rng.choice(REDDIT_COMMENTS))


def ticket_text(rng: random.Random) -> tuple[str, str]:
    """A new ticket: (subject, the member's first message)."""
    subject, _prio, member_lines, _mod = rng.choice(TICKET_TEMPLATES)
    return subject, _fill(rng, member_lines[0])


# ----------------------------------------------------------------------------------------------------
# generation


def generate(seed: int = 7, *, now: datetime | None = None, scale: float = 1.0) -> Community:
    """Build the seeded community; history covers the 90 days before ``now`` (a fixed date unless given)."""
    return _Builder(seed, now, scale).build()


def community_digest(community: Community) -> str:
    """A stable digest of everything in ``community`` (dataclass reprs are deterministic)."""
    return hashlib.sha256(repr(community).encode("utf-8")).hexdigest()


def _n(base: int, scale: float, minimum: int = 1) -> int:
    return max(minimum, round(base * scale))


class _Builder:
    def __init__(self, seed: int, now: datetime | None, scale: float) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.seed = seed
        self.rng = random.Random(seed)
        self.scale = scale
        if now is None:
            now = DEFAULT_NOW
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.now = now.astimezone(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=HISTORY_DAYS)
        self.ids = _Ids(seed, self.rng)
        guild_created = self.now - timedelta(days=720 + self.rng.randint(0, 60))
        self.guild_created = guild_created.replace(microsecond=0)
        self.c = Community(
            seed=seed,
            now=self.now,
            guild_id=self.ids.snowflake(self.guild_created),
            guild_name=GUILD_NAME,
            bot_id=self.ids.snowflake(self.guild_created + timedelta(hours=2)),
            application_id=self.ids.snowflake(self.guild_created + timedelta(hours=1)),
            repo=REPO,
            subreddit=SUBREDDIT,
        )
        self.by_key: dict[str, Member] = {}
        self.channel_by_name: dict[str, Channel] = {}
        self.feature_pool: list[tuple[str, str]] = []
        self._number = 1000 + self.rng.randint(0, 400)
        # (when, kind, object) for GitHub items, numbered together in time order at the end
        self._gh_items: list[tuple[datetime, int, Discussion | Issue]] = []
        self._comment_rest_id = 2_400_000_000 + self.rng.randint(0, 10_000_000)

    # -- time -----------------------------------------------------------------------------------------------

    _HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15, 15, 14, 12, 9, 6, 4)
    _HOUR_CUM = tuple(itertools.accumulate(_HOUR_WEIGHTS))

    def moment(self, start: datetime | None = None, end: datetime | None = None) -> datetime:
        """A random second in [start, end), busier in the afternoon/evening and later in history."""
        start = start or self.start
        end = end or self.now
        span = (end - start).total_seconds()
        rng = self.rng
        for _ in range(8):
            # u**0.8 leans towards recent days: the community is growing
            day = start + timedelta(seconds=span * (rng.random() ** 0.8))
            hour = bisect.bisect(self._HOUR_CUM, rng.random() * self._HOUR_CUM[-1])
            t = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if start <= t < end:
                return t
        return start + timedelta(seconds=int(span * rng.random()))

    # -- members --------------------------------------------------------------------------------------------

    def build(self) -> Community:
        self.members()
        self.channels()
        self.discord_history()
        self.roadmap_and_github()
        self.reddit()
        self.tickets()
        self.events()
        self.finish()
        return self.c

    def members(self) -> None:
        rng = self.rng
        count = _n(150, self.scale, minimum=24)
        used_keys: set[str] = set()
        used: dict[str, set[str]] = {"discord": set(), "github": set(), "reddit": set()}
        firsts = list(FIRST_NAMES)
        rng.shuffle(firsts)
        specials = [
            ("html-name", HOSTILE_HTML_NAME),
            ("dana-exe", HOSTILE_RTL_NAME),
            ("support-team-impostor", HOSTILE_ZWJ_NAME),
            ("bartholomew", HOSTILE_LONG_NAME),
        ]
        n_mods = max(3, round(6 * min(self.scale, 1.5)))
        for i in range(count):
            first = firsts[i % len(firsts)]
            last = rng.choice(LAST_NAMES)
            if i < len(specials):
                key, display = specials[i]
                # offset so hostile members are not all moderators
                ascii_first, ascii_last = _ascii(first), _ascii(last)
            else:
                ascii_first, ascii_last = _ascii(first), _ascii(last)
                style = rng.random()
                if style < 0.35:
                    display = f"{first} {last}"
                elif style < 0.6:
                    display = f"{first} {last[0]}."
                elif style < 0.75:
                    display = first
                elif style < 0.85:
                    display = f"{first} {rng.choice(NAME_EMOJI)}"
                else:
                    display = _handle(rng, ascii_first, ascii_last).replace("_", " ").title().replace(" ", "")
                key = _unique(f"{ascii_first}-{ascii_last[:1]}".lower(), used_keys)
            used_keys.add(key)
            is_mod = len(specials) <= i < len(specials) + n_mods
            if is_mod:
                platforms = {"discord", "github", "reddit"}
            elif i < len(specials):
                platforms = {"discord"} | ({"reddit"} if i % 2 else set())
            else:
                platforms = set()
                if rng.random() < 0.82:
                    platforms.add("discord")
                if rng.random() < 0.42:
                    platforms.add("github")
                if rng.random() < 0.45:
                    platforms.add("reddit")
                if not platforms:
                    platforms.add(rng.choice(("discord", "github", "reddit")))
            account_created = self.now - timedelta(days=rng.randint(20, 3000), seconds=rng.randrange(86400))
            if rng.random() < 0.25:
                joined = self.moment()  # joined during the three months of history
            else:
                joined = self.guild_created + (self.start - self.guild_created) * rng.random()
            joined = max(joined, account_created).replace(microsecond=0)
            m = Member(key=key, display_name=display, joined_at=joined, is_moderator=is_mod)
            if "discord" in platforms:
                m.discord_id = self.ids.snowflake(account_created.replace(microsecond=0))
                m.discord_name = _unique(_handle(rng, ascii_first, ascii_last).lower()[:28], used["discord"])
            if "github" in platforms:
                m.github_login = _unique(
                    _handle(rng, ascii_first, ascii_last).replace("_", "-").replace(".", "-").strip("-")[:36],
                    used["github"],
                )
                m.github_id = 1_000_000 + rng.randrange(150_000_000)
            if "reddit" in platforms:
                m.reddit_name = _unique(
                    _handle(rng, ascii_first, ascii_last).replace(".", "_")[:18], used["reddit"], sep="_"
                )
            self.c.members.append(m)
            self.by_key[key] = m
        # two blocked members, on Discord, neither a moderator nor a hostile special
        plain = [m for m in self.c.members[len(specials) + n_mods :] if m.discord_id]
        for m in rng.sample(plain, 2):
            m.blocked = True
        self.mods = [m for m in self.c.members if m.is_moderator]
        self.discord_members = [m for m in self.c.members if m.discord_id and not m.blocked]
        self.github_members = [m for m in self.c.members if m.github_login]
        self.reddit_members = [m for m in self.c.members if m.reddit_name]
        # a few core developers: GitHub members who get assigned issues and roadmap cards
        self.team = self.mods[:2] + [m for m in self.github_members if not m.is_moderator][:4]
        # activity weights: a long tail, a handful of very active members
        self.weight = {m.key: min(25.0, rng.paretovariate(1.3)) for m in self.c.members}
        for m in self.c.members[: len(specials)]:
            self.weight[m.key] = 2.0  # hostile names must show up in every pane
        helpful_pool = [m for m in self.discord_members if not m.is_moderator and m.key not in _SPECIAL_KEYS]
        self.helpers = rng.sample(helpful_pool, min(8, len(helpful_pool)))
        self._cum_cache: dict[int, tuple[list[Member], list[float]]] = {}

    def pick(self, pool: list[Member], exclude: Sequence[str] = ()) -> Member:
        """A member from ``pool``, weighted by activity, not in ``exclude``."""
        cached = self._cum_cache.get(id(pool))
        if cached is None or cached[0] is not pool:
            cached = (pool, list(itertools.accumulate(self.weight[m.key] for m in pool)))
            self._cum_cache[id(pool)] = cached
        cum = cached[1]
        for _ in range(12):
            m = pool[min(bisect.bisect(cum, self.rng.random() * cum[-1]), len(pool) - 1)]
            if m.key not in exclude:
                return m
        return self.rng.choice([m for m in pool if m.key not in exclude] or pool)

    def voters(self, pool: list[Member], count: int, exclude: Sequence[str] = ()) -> list[str]:
        candidates = [m.key for m in pool if m.key not in exclude]
        return self.rng.sample(candidates, min(count, len(candidates)))

    # -- channels -------------------------------------------------------------------------------------------

    def channels(self) -> None:
        specs = (
            (
                "announcements",
                "announcement",
                "Releases, AMAs and roadmap updates from the Atlas team.",
                "Info",
                False,
            ),
            ("general", "text", "Talk about Atlas, workflows and productivity.", "Community", False),
            (
                "support",
                "text",
                "Ask for help. For account or billing questions, DM the bot to open a ticket.",
                "Support",
                False,
            ),
            ("feature-suggestions", "text", "One idea per message; vote with 👍.", "Community", False),
            ("tips-and-tricks", "text", "Share what makes Atlas work for you.", "Community", False),
            ("show-and-tell", "text", "Setups, templates and dashboards.", "Community", False),
            ("off-topic", "text", "Anything else, be kind.", "Community", False),
            ("tickets", "forum", "Private member tickets. Moderators only.", "Moderation", True),
            ("ama-stage", "stage", "Monthly AMAs with the Atlas team.", "Events", False),
            ("Lounge", "voice", "", "Events", False),
        )
        for i, (name, kind, topic, category, mod_only) in enumerate(specs):
            ch = Channel(
                id=self.ids.snowflake(self.guild_created + timedelta(minutes=5 + i)),
                name=name,
                kind=kind,
                topic=topic,
                category=category,
                moderator_only=mod_only,
            )
            self.c.channels.append(ch)
            self.channel_by_name[name] = ch

    # -- discord history ------------------------------------------------------------------------------------

    def add_message(
        self,
        channel: str,
        author: Member,
        content: str,
        when: datetime,
        *,
        reply_to: Message | None = None,
        thread: Thread | None = None,
    ) -> Message:
        msg = Message(
            id=self.ids.snowflake(when),
            channel_id=self.channel_by_name[channel].id,
            author_key=author.key,
            content=content,
            created_at=when,
            reply_to=reply_to.id if reply_to else None,
            thread_id=thread.id if thread else None,
        )
        self.c.messages.append(msg)
        return msg

    def after(self, when: datetime, mean_minutes: float = 8.0) -> datetime:
        return when + timedelta(seconds=max(20, int(self.rng.expovariate(1 / (mean_minutes * 60)))))

    def react(self, msg: Message, emoji: str, count: int, exclude: Sequence[str] = ()) -> None:
        if count <= 0:
            return
        keys = self.voters(self.discord_members, count, exclude=(msg.author_key, *exclude))
        if keys:
            msg.reactions.append(Reaction(emoji=emoji, member_keys=keys))

    def discord_history(self) -> None:
        rng = self.rng
        target = _n(3000, self.scale, minimum=60)
        self.features = list(FEATURES)
        rng.shuffle(self.features)
        self.feature_iter = itertools.cycle(self.features)
        n_discord_suggestions = _n(16, self.scale, minimum=3)
        self.discord_suggestion_msgs: list[tuple[Message, str]] = []
        self.announcements()
        self.weekly_tips()
        for _ in range(n_discord_suggestions):
            self.conv_suggestion(self.moment())
        weights = (
            ("general", 30),
            ("support", 27),
            ("off-topic", 18),
            ("show-and-tell", 8),
            ("tips-and-tricks", 5),
            ("feature-suggestions", 4),
        )
        names = [w[0] for w in weights]
        cum = list(itertools.accumulate(w[1] for w in weights))
        convs = {
            "general": self.conv_general,
            "support": self.conv_support,
            "off-topic": self.conv_offtopic,
            "show-and-tell": self.conv_show,
            "tips-and-tricks": self.conv_tip,
            "feature-suggestions": self.conv_suggestion_chat,
        }
        hostile_left = list(HOSTILE_BODIES)
        specials = [self.by_key[k] for k in _SPECIAL_KEYS if k in self.by_key]
        # every hostile-named member says something in #general early on, so they appear in every list
        for m in specials:
            self.add_message("general", m, _fill(rng, rng.choice(GENERAL_OPENERS + PRAISE)), self.moment())
        while len(self.c.messages) < target:
            name = names[bisect.bisect(cum, rng.random() * cum[-1])]
            convs[name](self.moment())
            if hostile_left and rng.random() < 0.01:
                self.add_message(
                    "general", self.pick(self.discord_members), hostile_left.pop(), self.moment()
                )
        for body in hostile_left:
            self.add_message("general", self.pick(self.discord_members), body, self.moment())
        # drop anything a conversation pushed past "now"
        self.c.messages = [m for m in self.c.messages if m.created_at < self.now]
        self.c.threads = [t for t in self.c.threads if t.created_at < self.now]
        live_threads = {t.id for t in self.c.threads}
        self.c.messages = [m for m in self.c.messages if m.thread_id is None or m.thread_id in live_threads]

    def announcements(self) -> None:
        rng = self.rng
        releases = ("3.3.2", "3.4.0", "3.4.1")
        for i, version in enumerate(releases):
            when = self.start + timedelta(days=10 + i * 28 + rng.randint(0, 6), hours=rng.randint(14, 18))
            msg = self.add_message(
                "announcements",
                self.mods[0],
                RELEASE_NOTES[i % 3].format(version=version),
                when.replace(minute=0, second=0),
            )
            self.react(msg, "🎉", rng.randint(12, 40))
            self.react(msg, "❤️", rng.randint(4, 20))
        for _ in range(_n(8, self.scale, minimum=3)):
            when = self.moment()
            msg = self.add_message(
                "announcements", rng.choice(self.mods), _fill(rng, rng.choice(ANNOUNCE_OTHER)), when
            )
            self.react(msg, rng.choice(("🎉", "👍", "❤️")), rng.randint(3, 25))

    def weekly_tips(self) -> None:
        rng = self.rng
        # every Tuesday at 15:00 UTC a moderator posts the tip of the week
        day = self.start + timedelta(days=(1 - self.start.weekday()) % 7)
        tips = list(TIPS)
        rng.shuffle(tips)
        i = 0
        while day < self.now:
            when = day.replace(hour=15, minute=0, second=0)
            if self.start <= when < self.now:
                msg = self.add_message(
                    "tips-and-tricks",
                    rng.choice(self.mods),
                    "💡 **Tip of the week:** " + tips[i % len(tips)],
                    when,
                )
                self.react(msg, "🔥", rng.randint(2, 18))
                self.react(msg, "🙏", rng.randint(0, 6))
                i += 1
            day += timedelta(days=7)

    def conv_support(self, when: datetime) -> None:
        rng = self.rng
        openers, answers, followups = rng.choice(SUPPORT_TOPICS)
        asker = self.pick(self.discord_members, exclude=[m.key for m in self.mods])
        text = _cap(_fill(rng, rng.choice(openers)))
        q = self.add_message(
            "support", asker, _voice(rng, text + _fill(rng, rng.choice(SUPPORT_CONTEXT))), when
        )
        thread = None
        if rng.random() < 0.3:
            thread = Thread(
                id=q.id,
                parent_id=q.channel_id,
                name=_thread_name(q.content),
                owner_key=asker.key,
                created_at=self.after(when, 2),
            )
            thread.archived = thread.created_at < self.now - timedelta(days=7)
            self.c.threads.append(thread)
        t = thread.created_at if thread else when
        helper = (
            rng.choice(self.helpers)
            if self.helpers and rng.random() < 0.65
            else self.pick(self.discord_members, exclude=[asker.key])
        )
        if helper.key == asker.key:
            helper = self.pick(self.discord_members, exclude=[asker.key])
        t = self.after(t, 15)
        a = self.add_message(
            "support",
            helper,
            _voice(rng, _fill(rng, rng.choice(answers)), _first(asker), answer=True),
            t,
            reply_to=None if thread else q,
            thread=thread,
        )
        if rng.random() < 0.35:
            t = self.after(t, 10)
            f = self.add_message(
                "support",
                asker,
                _voice(rng, _fill(rng, rng.choice(followups))),
                t,
                reply_to=None if thread else a,
                thread=thread,
            )
            t = self.after(t, 30)
            if rng.random() < 0.5:
                responder = rng.choice(self.mods)
                text = _fill(rng, rng.choice(MOD_SUPPORT))
            else:
                responder = self.pick(self.discord_members, exclude=[asker.key, helper.key])
                text = _voice(rng, _fill(rng, rng.choice(answers)), _first(asker), answer=True)
            a = self.add_message("support", responder, text, t, reply_to=None if thread else f, thread=thread)
        if rng.random() < 0.7:
            t = self.after(t, 12)
            thanks = _voice(rng, _fill(rng, rng.choice(THANKS), name=_first(self.by_key[a.author_key])))
            self.add_message("support", asker, thanks, t, reply_to=None if thread else a, thread=thread)
            self.react(a, "✅", 1)
        for _ in range(rng.choice((0, 0, 1, 2))):
            t = self.after(t, 20)
            self.add_message(
                "support",
                self.pick(self.discord_members, exclude=[asker.key]),
                _voice(rng, _fill(rng, rng.choice(SUPPORT_METOO))),
                t,
                thread=thread,
            )

    def conv_general(self, when: datetime) -> None:
        rng = self.rng
        openers, replies = rng.choice(GENERAL_TOPICS)
        opener = self.pick(self.discord_members)
        app = rng.choice(APPS)
        first = self.add_message(
            "general", opener, _voice(rng, _fill(rng, rng.choice(openers), app=app)), when
        )
        if openers is PRAISE:
            self.react(first, rng.choice(("❤️", "🎉", "🙌")), rng.randint(1, 9))
        t = when
        prev = first
        said: set[str] = set()
        for _ in range(rng.choice((1, 2, 2, 3, 4))):
            t = self.after(t, 9)
            who = self.pick(self.discord_members, exclude=[prev.author_key])
            base = rng.choice(replies)
            if base in said:
                continue
            said.add(base)
            prev = self.add_message(
                "general",
                who,
                _voice(rng, _fill(rng, base, app=app), _first(opener), answer=openers is not PRAISE),
                t,
                reply_to=first if rng.random() < 0.4 else None,
            )
            if rng.random() < 0.2:
                self.react(prev, "👍", rng.randint(1, 5))
        if prev is not first and rng.random() < 0.3:
            self.add_message(
                "general",
                opener,
                _fill(rng, rng.choice(THANKS), name=_first(self.by_key[prev.author_key])),
                self.after(t, 6),
                reply_to=prev,
            )

    def conv_offtopic(self, when: datetime) -> None:
        rng = self.rng
        first = self.add_message(
            "off-topic", self.pick(self.discord_members), _fill(rng, rng.choice(OFFTOPIC)), when
        )
        self.react(first, rng.choice(REACTION_EMOJI), rng.randint(0, 6))
        t = when
        for _ in range(rng.choice((0, 1, 2, 3, 4, 5))):
            t = self.after(t, 5)
            msg = self.add_message(
                "off-topic",
                self.pick(self.discord_members, exclude=[first.author_key]),
                _voice(rng, rng.choice(OFFTOPIC_REPLIES)),
                t,
            )
            if rng.random() < 0.15:
                self.react(msg, "😂", rng.randint(1, 4))

    def conv_show(self, when: datetime) -> None:
        rng = self.rng
        author = self.pick(self.discord_members)
        first = self.add_message("show-and-tell", author, _fill(rng, rng.choice(SHOW_OPENERS)), when)
        self.react(first, rng.choice(("🔥", "❤️", "👀")), rng.randint(2, 16))
        thread = None
        if rng.random() < 0.4:
            thread = Thread(
                id=first.id,
                parent_id=first.channel_id,
                name=_thread_name(first.content),
                owner_key=author.key,
                created_at=self.after(when, 3),
            )
            thread.archived = thread.created_at < self.now - timedelta(days=7)
            self.c.threads.append(thread)
        t = thread.created_at if thread else when
        for _ in range(rng.randint(1, 4)):
            t = self.after(t, 12)
            self.add_message(
                "show-and-tell",
                self.pick(self.discord_members, exclude=[author.key]),
                _voice(rng, _fill(rng, rng.choice(SHOW_REPLIES)), _first(author)),
                t,
                reply_to=None if thread else first,
                thread=thread,
            )

    def conv_tip(self, when: datetime) -> None:
        rng = self.rng
        author = self.pick(self.discord_members)
        first = self.add_message("tips-and-tricks", author, "Tip: " + rng.choice(TIPS), when)
        self.react(first, rng.choice(("🔥", "🙏", "💯")), rng.randint(1, 12))
        if rng.random() < 0.5:
            self.add_message(
                "tips-and-tricks",
                self.pick(self.discord_members, exclude=[author.key]),
                rng.choice(
                    (
                        "Whoa, didn't know that!",
                        "Great tip, thanks!",
                        "Does this work on mobile?",
                        "This just saved me so many clicks",
                        "Adding this to my cheatsheet",
                    )
                ),
                self.after(when, 20),
                reply_to=first,
            )

    def conv_suggestion(self, when: datetime) -> None:
        """A suggestion message with 👍 votes; it becomes a Suggestion record."""
        rng = self.rng
        author = self.pick(self.discord_members, exclude=[m.key for m in self.mods])
        title, why = next(self.feature_iter)
        text = _fill(rng, rng.choice(SUGGESTION_OPENERS), title=title, title_lc=_lc(title), why=_cap(why))
        msg = self.add_message("feature-suggestions", author, text, when)
        votes = _capped(rng.paretovariate(1.1) * 3, len(self.discord_members) - 1)
        self.react(msg, "👍", votes)
        self.discord_suggestion_msgs.append((msg, title))
        t = when
        for _ in range(rng.randint(0, 4)):
            t = self.after(t, 40)
            self.add_message(
                "feature-suggestions",
                self.pick(self.discord_members, exclude=[author.key]),
                _voice(rng, _fill(rng, rng.choice(SUGGESTION_REPLIES)), _first(author)),
                t,
                reply_to=msg,
            )
        if rng.random() < 0.5:
            self.add_message(
                "feature-suggestions",
                rng.choice(self.mods),
                rng.choice(MOD_SUGGESTION),
                self.after(t, 120),
                reply_to=msg,
            )

    def conv_suggestion_chat(self, when: datetime) -> None:
        rng = self.rng
        title, _why = rng.choice(self.features)
        self.add_message(
            "feature-suggestions",
            self.pick(self.discord_members),
            rng.choice(
                ("Any news on {t}?", "Did {t} make it onto the roadmap?", "Is anyone working on {t_lc} yet?")
            ).format(t=_lc(title), t_lc=_lc(title)),
            when,
        )
        if rng.random() < 0.6:
            self.add_message(
                "feature-suggestions", rng.choice(self.mods), rng.choice(MOD_SUGGESTION), self.after(when, 60)
            )

    # -- roadmap + github -----------------------------------------------------------------------------------

    def gh_comment(
        self,
        parent_author: str,
        after: datetime,
        *,
        node_kind: str | None,
        answer: bool = False,
        body: str | None = None,
        author: Member | None = None,
    ) -> Comment:
        rng = self.rng
        who = author or self.pick(self.github_members, exclude=[parent_author])
        when = self.after(after, 240)
        if node_kind:
            self._gh_comment_n = getattr(self, "_gh_comment_n", 0) + 1
            cid = node_id("DC", self.seed, node_kind, self._gh_comment_n)
        else:
            self._comment_rest_id += rng.randint(1, 5000)
            cid = str(self._comment_rest_id)
        return Comment(
            id=cid,
            author_key=who.key,
            body=body or comment_text(rng),
            created_at=when,
            upvotes=_capped(rng.paretovariate(1.6), 60) - 1,
            is_answer=answer,
        )

    def roadmap_and_github(self) -> None:
        rng = self.rng
        # discussions
        n_disc = _n(60, self.scale, minimum=8)
        cats = ["Ideas"] * 18 + ["Q&A"] * 22 + ["Announcements"] * 5 + ["General"] * 15
        self.github_idea_discussions: list[Discussion] = []
        # each question and topic once before any repeats
        task_iter = itertools.cycle(rng.sample(HOWTO_TASKS, len(HOWTO_TASKS)))
        general_iter = itertools.cycle(rng.sample(DISCUSSION_GENERAL, len(DISCUSSION_GENERAL)))
        for i in range(n_disc):
            cat = cats[i % len(cats)] if n_disc >= len(cats) else rng.choice(cats)
            when = self.moment()
            if cat == "Ideas":
                title, why = next(self.feature_iter)
                body = _fill(
                    rng,
                    "**What:** {title}\n\n**Why:** {why}.\n\nI'd use it for {use}.",
                    title=title,
                    why=_cap(why),
                )
                author = self.pick(self.github_members)
            elif cat == "Announcements":
                title, body = discussion_text(rng, cat)
                author = rng.choice(self.mods)
            elif cat == "General":
                title, body = next(general_iter)
                author = self.pick(self.github_members)
            else:
                title, body = discussion_text(rng, cat, task=next(task_iter))
                author = self.pick(self.github_members)
            d = Discussion(
                number=0,
                node_id="",
                category=cat,
                title=title,
                body=body,
                author_key=author.key,
                created_at=when,
                upvotes=_capped(rng.paretovariate(1.0) * (4 if cat == "Ideas" else 1), 250) - 1,
            )
            t = when
            answered = cat == "Q&A" and rng.random() < 0.55
            n_comments = rng.choice((0, 1, 2, 2, 3, 4, 6))
            if answered:
                n_comments = max(n_comments, 1)
            answer_at = rng.randrange(n_comments) if answered else -1
            for j in range(n_comments):
                helper = (
                    rng.choice(self.helpers)
                    if j == answer_at and self.helpers and rng.random() < 0.5
                    else None
                )
                if helper and not helper.github_login:
                    helper = None
                if helper and helper.key == author.key:
                    helper = None
                com = self.gh_comment(
                    author.key, t, node_kind="discussion-comment", answer=j == answer_at, author=helper
                )
                if j == answer_at and com.author_key == author.key:
                    com.author_key = self.pick(self.github_members, exclude=[author.key]).key
                t = com.created_at
                d.comments.append(com)
            d.locked = cat == "Announcements" and rng.random() < 0.3
            self.c.discussions.append(d)
            self._gh_items.append((when, 0, d))
            if cat == "Ideas":
                self.github_idea_discussions.append(d)

        # roadmap cards and their issues
        n_cards = _n(30, self.scale, minimum=6)
        statuses = ["Under consideration"] * 9 + ["Planned"] * 8 + ["In progress"] * 6 + ["Done"] * 7
        self.roadmap_specs: list[tuple[RoadmapCard, Issue | None]] = []
        internal = list(ROADMAP_ONLY)
        rng.shuffle(internal)
        for i in range(n_cards):
            status = statuses[i % len(statuses)]
            if i % 3 == 2 and internal:
                title, body = internal.pop()
                community_idea = False
            else:
                title, why = next(self.feature_iter)
                body = f"{_cap(why)}. Requested by the community across Discord, GitHub and Reddit."
                community_idea = True
            offset = {
                "Done": -rng.randint(0, 2),
                "In progress": rng.randint(0, 1),
                "Planned": rng.randint(1, 3),
                "Under consideration": rng.randint(2, 6),
            }[status]
            target = _month_add(self.now, offset)
            labels = ["enhancement"] + (["community-idea"] if community_idea else [])
            labels.append(
                rng.choice(
                    (
                        "sync",
                        "ui",
                        "performance",
                        "platform:desktop",
                        "platform:ios",
                        "platform:android",
                        "platform:web",
                    )
                )
            )
            card = RoadmapCard(
                key=f"card-{i + 1}", title=title, body=body, status=status, target_month=target, labels=labels
            )
            if status in ("In progress", "Done", "Planned") and self.team:
                card.assignee_keys = [rng.choice(self.team).key]
            issue: Issue | None = None
            if rng.random() < 0.8:
                author = (
                    self.pick(self.github_members) if community_idea else rng.choice(self.team or self.mods)
                )
                issue = Issue(
                    number=0,
                    node_id="",
                    title=title,
                    body=body,
                    author_key=author.key,
                    created_at=self.moment(),
                    labels=list(labels),
                    assignees=list(card.assignee_keys),
                    state="closed" if status == "Done" else "open",
                    thumbs_up=_capped(rng.paretovariate(1.0) * (6 if community_idea else 1), 300) - 1,
                )
                t = issue.created_at
                for _ in range(rng.randint(0, 4)):
                    com = self.gh_comment(author.key, t, node_kind=None)
                    t = com.created_at
                    issue.comments.append(com)
                self.c.issues.append(issue)
                self._gh_items.append((issue.created_at, 1, issue))
            self.roadmap_specs.append((card, issue))
            self.c.roadmap.append(card)

        # other issues: bugs and small enhancements
        n_issues = _n(80, self.scale, minimum=10)
        while len(self.c.issues) < n_issues:
            if rng.random() < 0.72:
                title, body, labels = issue_text(rng)
            else:
                title, why = rng.choice(FEATURES)
                body = f"{_cap(why)}."
                labels = ["enhancement", "community-idea"] if rng.random() < 0.5 else ["enhancement"]
                if rng.random() < 0.2:
                    labels.append("good first issue")
            author = self.pick(self.github_members)
            when = self.moment()
            state = "closed" if rng.random() < 0.35 else "open"
            issue = Issue(
                number=0,
                node_id="",
                title=title,
                body=body,
                author_key=author.key,
                created_at=when,
                labels=labels,
                state=state,
                thumbs_up=_capped(rng.paretovariate(1.2), 80) - 1,
            )
            if rng.random() < 0.5 and self.team:
                issue.assignees = [rng.choice(self.team).key]
            t = when
            for _ in range(rng.choice((0, 1, 1, 2, 3, 5))):
                com = self.gh_comment(author.key, t, node_kind=None)
                t = com.created_at
                issue.comments.append(com)
            self.c.issues.append(issue)
            self._gh_items.append((when, 1, issue))

        # GitHub numbers issues and discussions from one sequence in creation order
        self._gh_items.sort(key=lambda item: (item[0], item[1]))
        for _when, kind, obj in self._gh_items:
            self._number += 1
            obj.number = self._number
            obj.node_id = node_id(
                "D" if kind == 0 else "I", self.seed, "discussion" if kind == 0 else "issue", self._number
            )
        for issue in self.c.issues:
            issue.comments = [cm for cm in issue.comments if cm.created_at < self.now]
        for d in self.c.discussions:
            d.comments = [cm for cm in d.comments if cm.created_at < self.now]

        for card, issue in self.roadmap_specs:
            card.issue_number = issue.number if issue else None

    # -- reddit ---------------------------------------------------------------------------------------------

    def reddit(self) -> None:
        rng = self.rng
        n_posts = _n(120, self.scale, minimum=10)
        n_feature = _n(10, self.scale, minimum=2)
        flairs = ["Feature Request"] * n_feature + [
            rng.choice(
                (
                    "Question",
                    "Question",
                    "Question",
                    "Tips",
                    "Discussion",
                    "Discussion",
                    "Bug",
                    "Showcase",
                    "Meta",
                )
            )
            for _ in range(n_posts - n_feature)
        ]
        self.reddit_feature_posts: list[tuple[RedditPost, str]] = []
        posts: list[RedditPost] = []
        comments_all: list[RedditComment] = []
        parent_of: dict[int, RedditComment] = {}  # id(child) -> parent, resolved to base36 ids once assigned
        spam = list(REDDIT_SPAM)
        rng.shuffle(spam)
        n_spam = min(len(spam), _n(3, self.scale, minimum=1))
        mod_keys = [m.key for m in self.mods]
        for i, flair in enumerate(flairs):
            author = self.pick(self.reddit_members, exclude=mod_keys if i < n_spam else ())
            when = self.moment()
            reported = False
            reason = ""
            if i < n_spam:
                title, body, reason = spam[i]
                flair = "Discussion"
                reported = True
                score = rng.randint(-12, 0)
            elif flair == "Feature Request":
                title, why = next(self.feature_iter)
                body = _fill(rng, "{why}. Anyone else want this? I'd use it for {use}.", why=_cap(why))
                score = _capped(rng.paretovariate(0.9) * 5, 900)
            else:
                title, body, flair = reddit_post_text(rng, flair)
                score = _capped(rng.paretovariate(1.0) * 3, 600)
            post = RedditPost(
                id="",
                title=title,
                selftext=body,
                author_key=author.key,
                created_at=when,
                score=score,
                flair=flair,
                reported=reported,
                report_reason=reason,
            )
            if flair == "Feature Request" and not reported:
                self.reddit_feature_posts.append((post, title))
            t = when
            top: list[RedditComment] = []
            for _ in range(rng.choice((0, 1, 2, 3, 3, 4, 6, 8))):
                t = self.after(t, 90)
                parent = rng.choice(top) if top and rng.random() < 0.35 else None
                who = self.pick(
                    self.reddit_members, exclude=[author.key] if parent is None else [parent.author_key]
                )
                cm = RedditComment(
                    id="",
                    author_key=who.key,
                    body=reddit_comment_text(rng),
                    created_at=t,
                    score=_capped(rng.paretovariate(1.3), 400) + (0 if rng.random() < 0.9 else -3),
                )
                post.comments.append(cm)
                comments_all.append(cm)
                if parent is None:
                    top.append(cm)
                else:
                    parent_of[id(cm)] = parent
            posts.append(post)
        # a few reported comments
        plain_comments = [cm for cm in comments_all if cm.created_at < self.now]
        for cm in rng.sample(plain_comments, min(len(plain_comments), _n(4, self.scale, minimum=1))):
            cm.reported = True
            cm.report_reason = rng.choice(REPORT_REASONS_COMMENT)
        # ids increase with time, as on Reddit
        posts.sort(key=lambda p: p.created_at)
        n = self.ids.post_base
        for post in posts:
            n += rng.randint(200, 4000)
            post.id = base36(n)
        comments_all.sort(key=lambda cm: cm.created_at)
        n = self.ids.comment_base
        for cm in comments_all:
            n += rng.randint(10, 900)
            cm.id = base36(n)
        for post in posts:
            post.comments = [cm for cm in post.comments if cm.created_at < self.now]
            kept = {cm.id for cm in post.comments}
            for cm in post.comments:
                parent = parent_of.get(id(cm))
                cm.parent_id = parent.id if parent is not None and parent.id in kept else None
        self.c.posts = posts

    # -- tickets --------------------------------------------------------------------------------------------

    def tickets(self) -> None:
        rng = self.rng
        n_tickets = _n(25, self.scale, minimum=8)
        forum = self.channel_by_name["tickets"]
        discord_pool = [m for m in self.discord_members if not m.is_moderator]
        reddit_pool = [m for m in self.reddit_members if not m.is_moderator and not m.blocked]
        status_plan = ["new"] * 4 + ["open"] * 6 + ["pending"] * 4 + ["resolved"] * 5 + ["closed"] * 6
        mm = self.ids.modmail_base
        for i in range(n_tickets):
            status = status_plan[i % len(status_plan)]
            platform = "reddit" if (i % 4 == 3 and reddit_pool) else "discord"
            requester = self.pick(reddit_pool if platform == "reddit" else discord_pool)
            subject, prio_bias, member_lines, mod_lines = TICKET_TEMPLATES[
                (i * 5 + self.seed) % len(TICKET_TEMPLATES)
            ]
            # first reply: usually within hours; every fifth ticket breaches the 24 h SLA
            breach = i % 5 == 1
            # open tickets are recent, closed ones spread over the whole history
            if status == "new":
                opened = (
                    self.moment(self.now - timedelta(days=3), self.now - timedelta(hours=26))
                    if breach
                    else self.moment(self.now - timedelta(hours=20), self.now - timedelta(minutes=10))
                )
            elif status in ("open", "pending"):
                opened = self.moment(
                    self.now - timedelta(days=5), self.now - timedelta(hours=2 if not breach else 42)
                )
            else:
                opened = self.moment(self.start, self.now - timedelta(days=3))
            priority = prio_bias if rng.random() < 0.7 else rng.choice(("low", "normal", "normal", "high"))
            mod = rng.choice(self.mods)
            ticket = Ticket(
                key=f"T-{i + 1:03d}",
                platform=platform,
                subject=subject,
                requester_key=requester.key,
                opened_at=opened,
                status=status,
                priority=priority,
            )
            t = opened
            ticket.messages.append(TicketMessage(requester.key, "member", _fill(rng, member_lines[0]), t))
            for extra in member_lines[1:]:
                t = self.after(t, 4)
                ticket.messages.append(TicketMessage(requester.key, "member", _fill(rng, extra), t))
            if status != "new":
                ticket.assignee_key = mod.key
                if rng.random() < 0.5:
                    ticket.messages.append(
                        TicketMessage(
                            mod.key,
                            "note",
                            _fill(rng, rng.choice(TICKET_NOTES), mod=_other_mod_handle(self.mods, mod)),
                            self.after(t, 30),
                        )
                    )
                delay = (
                    timedelta(hours=rng.uniform(25, 40)) if breach else timedelta(minutes=rng.randint(8, 600))
                )
                t = max(t, opened + delay)
                for line in mod_lines:
                    ticket.messages.append(TicketMessage(mod.key, "moderator", _fill(rng, line), t))
                    t = self.after(t, 3)
                if status in ("open", "resolved", "closed") and rng.random() < 0.7:
                    t = self.after(t, 120)
                    later = TICKET_MEMBER_WAITING if status == "open" else TICKET_MEMBER_SOLVED
                    ticket.messages.append(
                        TicketMessage(requester.key, "member", _fill(rng, rng.choice(later)), t)
                    )
                if status in ("resolved", "closed"):
                    t = self.after(t, 60)
                    ticket.messages.append(
                        TicketMessage(
                            mod.key,
                            "moderator",
                            rng.choice(
                                (
                                    "Glad that's sorted! Closing this ticket; reply any time to reopen it.",
                                    "Marking this as resolved. Thanks for your patience!",
                                    "All done on our side. Have a great week!",
                                )
                            ),
                            t,
                        )
                    )
            # keep every message in the past, in order
            ticket.messages = [tm for tm in ticket.messages if tm.created_at < self.now]
            ticket.messages.sort(key=lambda tm: tm.created_at)
            if platform == "discord":
                ticket.thread_id = self.ids.snowflake(opened)
                name = f"{subject} · {requester.display_name}"
                self.c.threads.append(
                    Thread(
                        id=ticket.thread_id,
                        parent_id=forum.id,
                        name=name[:100],
                        owner_key=requester.key,
                        created_at=opened,
                        archived=status == "closed",
                    )
                )
            else:
                mm += rng.randint(5, 400)
                ticket.conversation_id = base36(mm)
            self.c.tickets.append(ticket)

    # -- events ---------------------------------------------------------------------------------------------

    def events(self) -> None:
        rng = self.rng
        stage = self.channel_by_name["ama-stage"]
        voice = self.channel_by_name["Lounge"]
        topics = ("the sync team", "the mobile team", "the founders", "the design team", "the support team")
        # monthly AMA on the first Thursday at 17:00 UTC: three in the past, two ahead
        days = [_first_weekday(_month_add(self.now, off), 3).replace(hour=17) for off in range(-3, 4)]
        past_days = [d for d in days if self.start <= d < self.now][-3:]
        future_days = [d for d in days if d >= self.now][:2]
        for offset, day in enumerate(past_days + future_days):
            past = day < self.now
            ev = ScheduledEvent(
                id=self.ids.snowflake(min(day, self.now) - timedelta(days=14)),
                name=f"Atlas AMA with {topics[(offset + self.seed) % len(topics)]}",
                description="Ask us anything about Atlas: roadmap, sync, pricing, your favourite bug. "
                "Questions welcome in #general and on r/AtlasApp beforehand.",
                kind="stage",
                starts_at=day,
                ends_at=day + timedelta(hours=1),
                channel_id=stage.id,
                interested_keys=self.voters(
                    self.discord_members, rng.randint(25, 70) if past else rng.randint(8, 35)
                ),
                recurrence_monthly=True,
            )
            self.c.events.append(ev)
        co = self.now.replace(hour=18, minute=0, second=0) + timedelta(days=(4 - self.now.weekday()) % 7 or 7)
        self.c.events.append(
            ScheduledEvent(
                id=self.ids.snowflake(self.now - timedelta(days=3)),
                name="Co-working hour: plan your week",
                description="Cameras optional. We plan the week together in Atlas, then work quietly for 45 "
                "minutes.",
                kind="voice",
                starts_at=co,
                ends_at=co + timedelta(hours=1),
                channel_id=voice.id,
                interested_keys=self.voters(self.discord_members, rng.randint(4, 15)),
            )
        )
        meetup = (self.now + timedelta(days=24)).replace(hour=18, minute=30, second=0)
        self.c.events.append(
            ScheduledEvent(
                id=self.ids.snowflake(self.now - timedelta(days=9)),
                name="Atlas meetup at Productivity Night Berlin",
                description="Come say hi, we'll have stickers.",
                kind="external",
                starts_at=meetup,
                ends_at=meetup + timedelta(hours=3),
                location="Betahaus, Berlin",
                interested_keys=self.voters(self.discord_members, rng.randint(3, 12)),
            )
        )
        # contests: one finished, one running now
        past_start = (self.start + timedelta(days=20)).replace(hour=12, minute=0, second=0)
        self.c.contests.append(
            Contest(
                key="contest-1",
                name="Autumn feature-suggestion contest",
                starts_at=past_start,
                ends_at=past_start + timedelta(days=14),
                prize="A year of Atlas Pro for the top three",
                rules="One idea per post; votes on Discord, GitHub and Reddit count.",
            )
        )
        cur_start = (self.now - timedelta(days=10)).replace(hour=12, minute=0, second=0)
        self.c.contests.append(
            Contest(
                key="contest-2",
                name="Winter feature-suggestion contest",
                starts_at=cur_start,
                ends_at=cur_start + timedelta(days=14),
                prize="A year of Atlas Pro and Atlas stickers for the top three",
                rules="One idea per post; votes on Discord, GitHub and Reddit count.",
            )
        )
        # scheduled posts: weekly tips on Tuesdays, a user story, the monthly roadmap update
        tips_ch = self.channel_by_name["tips-and-tricks"]
        ann = self.channel_by_name["announcements"]
        tue = (self.now + timedelta(days=(1 - self.now.weekday()) % 7 or 7)).replace(
            hour=15, minute=0, second=0
        )
        for i in range(4):
            tip = TIPS[(i + self.seed) % len(TIPS)]
            self.c.scheduled_posts.append(
                ScheduledPost(
                    key=f"tip-{i + 1}",
                    kind="tip",
                    title="Tip of the week",
                    body="💡 **Tip of the week:** " + tip,
                    due_at=tue + timedelta(days=7 * i),
                    targets=[f"discord:{tips_ch.id}", "reddit"],
                    author_key=self.mods[i % len(self.mods)].key,
                )
            )
        story_at = (self.now + timedelta(days=9)).replace(hour=16, minute=0, second=0)
        self.c.scheduled_posts.append(
            ScheduledPost(
                key="story-1",
                kind="user_story",
                title="User story: Atlas for lecture notes",
                body="This month we talked to a med student who keeps four years of lecture notes in Atlas…",
                due_at=story_at,
                targets=[f"discord:{ann.id}", "github:General"],
                author_key=self.mods[0].key,
            )
        )
        first_monday = _first_weekday(_month_add(self.now, 1), 0).replace(hour=16)
        self.c.scheduled_posts.append(
            ScheduledPost(
                key="roadmap-update",
                kind="roadmap_update",
                title=f"Roadmap update: {first_monday:%B %Y}",
                body="Draft: done since last update, newly planned, most voted community ideas.",
                due_at=first_monday,
                targets=[f"discord:{ann.id}", "github:Announcements", "reddit"],
                author_key=self.mods[0].key,
            )
        )

    # -- suggestions, roadmap links, ordering ---------------------------------------------------------------

    def finish(self) -> None:
        rng = self.rng
        sug: list[Suggestion] = []
        for msg, title in self.discord_suggestion_msgs:
            if msg.created_at >= self.now:
                continue
            votes = sum(len(r.member_keys) for r in msg.reactions if r.emoji == "👍")
            sug.append(
                Suggestion(
                    key="",
                    title=title,
                    platform="discord",
                    ref=msg.id,
                    author_key=msg.author_key,
                    created_at=msg.created_at,
                    votes=votes,
                )
            )
        for d in self.github_idea_discussions:
            sug.append(
                Suggestion(
                    key="",
                    title=d.title,
                    platform="github",
                    ref=str(d.number),
                    author_key=d.author_key,
                    created_at=d.created_at,
                    votes=d.upvotes,
                )
            )
        for post, title in self.reddit_feature_posts:
            sug.append(
                Suggestion(
                    key="",
                    title=title,
                    platform="reddit",
                    ref=post.id,
                    author_key=post.author_key,
                    created_at=post.created_at,
                    votes=post.score,
                )
            )
        sug.sort(key=lambda s: s.created_at)
        for i, s in enumerate(sug):
            s.key = f"sug-{i + 1}"
        self.c.suggestions = sug
        # link cards to suggestions with the same idea; otherwise, for half the rest, to a popular one
        by_title: dict[str, Suggestion] = {}
        for s in sorted(sug, key=lambda s: -s.votes):
            by_title.setdefault(s.title, s)
        linked: set[str] = set()
        for card in self.c.roadmap:
            same = by_title.get(card.title)
            if same is not None and same.key not in linked:
                card.suggestion_key = same.key
                linked.add(same.key)
        popular = [s for s in sorted(sug, key=lambda s: -s.votes) if s.key not in linked]
        for card in self.c.roadmap:
            if (
                card.suggestion_key is None
                and "community-idea" in card.labels
                and popular
                and rng.random() < 0.5
            ):
                s = popular.pop(0)
                card.suggestion_key = s.key
                linked.add(s.key)
        why_notes = (
            "Popular, but it depends on the new sync engine; we'll start once that ships.",
            "We'd like to, but doing it well on every platform needs more design work first.",
            "Planned after the accessibility audit so we don't build it twice.",
            "Shipping in stages: desktop first, mobile a month later.",
            "Paused while we fix reliability issues reported in #support.",
        )
        with_note = rng.sample(self.c.roadmap, min(len(self.c.roadmap), 4))
        for i, card in enumerate(with_note):
            card.why_note = why_notes[i % len(why_notes)]
        # chronological order everywhere (servers page by time and id)
        self.c.messages.sort(key=lambda m: (m.created_at, int(m.id)))
        self.c.threads.sort(key=lambda t: (t.created_at, int(t.id)))
        self.c.discussions.sort(key=lambda d: d.number)
        self.c.issues.sort(key=lambda i: i.number)
        self.c.tickets.sort(key=lambda t: t.opened_at)
        self.c.events.sort(key=lambda e: e.starts_at)


_SPECIAL_KEYS = ("html-name", "dana-exe", "support-team-impostor", "bartholomew")


def _other_mod_handle(mods: list[Member], me: Member) -> str:
    other = next((m for m in mods if m.key != me.key), me)
    return other.discord_name or other.key


def _capped(value: float, cap: int) -> int:
    return min(int(value), cap)


def _ascii(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if ch.isascii() and (ch.isalnum() or ch == "-")
    )


def _handle(rng: random.Random, first: str, last: str) -> str:
    first, last = first.lower().replace("-", ""), last.lower().replace("-", "")
    style = rng.randrange(7)
    word = rng.choice(HANDLE_WORDS)
    suffix = rng.choice(HANDLE_SUFFIXES)
    if style == 0:
        return f"{first}{last[:1]}{suffix}"
    if style == 1:
        return f"{first}_{last}"
    if style == 2:
        return f"{first}.{word}"
    if style == 3:
        return f"{word}{first[:3]}{suffix}"
    if style == 4:
        return f"the_real_{first}"
    if style == 5:
        return f"{word}_{rng.choice(HANDLE_WORDS)}{suffix}"
    return f"{first}{rng.randint(1, 99)}"


def _unique(name: str, used: set[str], sep: str = "") -> str:
    base = name or "member"
    candidate = base
    i = 2
    while candidate.lower() in used:
        candidate = f"{base}{sep}{i}"
        i += 1
    used.add(candidate.lower())
    return candidate


def _first(m: Member) -> str:
    return m.display_name.split(" ")[0][:20]


def _thread_name(text: str) -> str:
    first = text.split(". ")[0].split("? ")[0].split("\n")[0]
    return first[:60].rstrip(" .,!") or "Thread"


def _month_add(when: datetime, months: int) -> str:
    y, m = divmod(when.month - 1 + months, 12)
    return f"{when.year + y:04d}-{m + 1:02d}"


def _first_weekday(month: str, weekday: int) -> datetime:
    """The first ``weekday`` (0 = Monday) of ``month`` ("YYYY-MM") at midnight UTC."""
    y, m = (int(p) for p in month.split("-"))
    day = datetime(y, m, 1, tzinfo=UTC)
    return day + timedelta(days=(weekday - day.weekday()) % 7)
