"""The ``atlas-desk`` command line: the desk, and the headless commands sync, export, sandbox, bot and doctor.

Exit codes: 0 ok, 1 runtime error (a plain message on stderr, no traceback), 2 usage error.
Module-level imports stay light (argparse, pathlib): the desk's start-up time is benchmarked, so each command
imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

PROG = "atlas-desk"
PLATFORM_NAMES = ("discord", "github", "reddit")
EXPORT_KINDS = ("inbox", "tickets", "roadmap", "events")
COMMAND_NAMES = ("sync", "export", "sandbox", "bot", "doctor")


class CommandError(Exception):
    """A runtime failure to report in plain words with exit code 1."""


# ----------------------------------------------------------------------------------------------------
# Parser


def _common(suppress: bool) -> argparse.ArgumentParser:
    # Subcommands use SUPPRESS defaults so "atlas-desk --config X sync" keeps X instead of resetting it.
    default = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument(
        "--config",
        metavar="PATH",
        type=Path,
        default=default,
        help="settings file (default: config.toml in the user config dir, or $ATLAS_DESK_CONFIG)",
    )
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        default=default,
        help="where the store lives (default: $ATLAS_DESK_DATA_DIR, else the user data dir)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="log debug details",
    )
    return common


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text!r}")
    return value


def _top_parser(parser_class: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """The desk's own options (the parser without its commands)."""
    from atlas_desk import __version__

    parser = parser_class(
        prog=PROG,
        parents=[_common(suppress=False)],
        description="Atlas Desk: Discord, GitHub and Reddit moderation in one window. "
        "Without a command, opens the desk.",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the desk on the built-in sandbox community (no accounts needed)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="DIR",
        type=Path,
        help="render every pane at 1440x900 to DIR/<pane>.png once loaded, then exit",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.set_defaults(command=None)
    return parser


class _NotTheDesk(Exception):
    """The quick desk parser cannot take the arguments: the full parser decides (and words any error)."""


class _DeskOnlyParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotTheDesk(message)


def _parse_desk_launch(argv: list[str]) -> argparse.Namespace | None:
    """Parse a plain desk launch without building every command's parser (~7 ms of the desk's start-up).

    None when ``argv`` may name a command or ask for help, or does not parse as a desk launch: the full
    parser then parses it as always, so the result and any error message are the same either way.
    """
    for arg in argv:
        if arg == "--":
            break
        short_cluster = arg[:1] == "-" and arg[1:2] != "-"
        if arg in COMMAND_NAMES or arg.startswith("--h") or (short_cluster and "h" in arg):
            return None
    try:
        return _top_parser(_DeskOnlyParser).parse_args(argv)
    except _NotTheDesk:
        return None


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (used by ``main`` and by the README's command reference)."""
    parser = _top_parser(argparse.ArgumentParser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    common = _common(suppress=True)

    p = sub.add_parser(
        "sync",
        parents=[common],
        help="connect the configured platforms and fill the store",
        description="Headless: connect the configured platforms and fill the store. Runs until "
        "interrupted (Ctrl+C / SIGTERM) unless --once is given.",
    )
    p.add_argument("--once", action="store_true", help="backfill until caught up, then exit")
    p.add_argument("--platform", choices=PLATFORM_NAMES, help="only this platform")

    p = sub.add_parser(
        "export",
        parents=[common],
        help="write the store's contents as JSON lines or CSV",
        description="Write the store's contents for reports and scripts. JSON: one object per "
        "line. Field names are stable (see README).",
    )
    p.add_argument("kind", choices=EXPORT_KINDS, help="what to export")
    p.add_argument(
        "--format",
        choices=("json", "csv", "ics"),
        default="json",
        help="output format (default: json; ics: iCalendar, events only)",
    )
    p.add_argument("--output", metavar="FILE", type=Path, help="write to FILE instead of standard output")
    p.add_argument("--demo", action="store_true", help="read the demo store instead of the real one")

    p = sub.add_parser(
        "sandbox",
        parents=[common],
        help="run only the sandbox servers, printing their endpoints",
        description="Run the loopback Discord, GitHub and Reddit servers with the seeded Atlas "
        "community until interrupted. Prints shell export lines for the endpoints and sandbox "
        "credentials, so any client (or another desk) can be pointed at them.",
    )
    p.add_argument(
        "--live",
        metavar="RATE",
        type=_positive_float,
        default=0.0,
        help="generate live community activity at RATE events per second (default: 0, none)",
    )
    p.add_argument(
        "--write-config",
        metavar="PATH",
        type=Path,
        help="also write a config file for the sandbox community to PATH",
    )
    p.add_argument("--seed", metavar="N", type=int, default=None, help="community seed (default: the demo's)")

    sub.add_parser(
        "bot",
        parents=[common],
        help="headless relay service (tickets, scheduled posts, reminders)",
        description="Run the headless relay service: relays tickets between members and moderators, "
        "publishes scheduled posts and sends event reminders. Runs until SIGTERM / Ctrl+C.",
    )

    sub.add_parser(
        "doctor",
        parents=[common],
        help="check config, keyring, data dir and platform reachability",
        description="Check the configuration, the keyring, the data dir and each platform's "
        "credentials and reachability; print what is wrong and how to fix it. Exit 1 on any problem.",
    )
    return parser


# ----------------------------------------------------------------------------------------------------
# Entry point


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        args = _parse_desk_launch(sys.argv[1:] if argv is None else list(argv))
        if args is None:
            args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)

    handlers = {
        None: _cmd_desk,
        "sync": _cmd_sync,
        "export": _cmd_export,
        "sandbox": _cmd_sandbox,
        "bot": _cmd_bot,
        "doctor": _cmd_doctor,
    }
    try:
        return handlers[args.command](args)
    except CommandError as exc:
        _error(str(exc))
        return 1
    except KeyboardInterrupt:
        return 1
    except Exception as exc:
        # Not imported up front: the desk reads its settings after the first paint (start-up is benchmarked).
        from atlas_desk.config import ConfigError

        if isinstance(exc, ConfigError) or type(exc).__name__ == "StoreError":
            # Settings problems and known database problems carry a plain message.
            _error(str(exc))
            return 1
        raise
    finally:
        if args.command is not None:
            from atlas_desk.log import teardown_logging

            teardown_logging()


def _error(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)


def _settings(args: argparse.Namespace) -> Any:
    from atlas_desk.config import load_settings

    return load_settings(args.config, must_exist=args.config is not None)


def _setup_logging(args: argparse.Namespace, *, stderr: bool = True) -> None:
    from atlas_desk.config import log_dir
    from atlas_desk.log import setup_logging

    try:
        setup_logging(log_dir(), verbose=args.verbose, stderr=stderr)
    except OSError as exc:
        _error(f"cannot write the log file in {log_dir()}: {exc.strerror}; logging to stderr only")


def _run_until_signal(coro_factory: Any) -> None:
    """Run ``coro_factory(stop_event)`` on a fresh loop; SIGINT/SIGTERM set the event."""
    import asyncio
    import signal

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
                pass
        try:
            await coro_factory(stop)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    asyncio.run(runner())


# ----------------------------------------------------------------------------------------------------
# Commands


def _cmd_desk(args: argparse.Namespace) -> int:
    """The desk: ``atlas_desk.app.run_desk(args)``.

    It reads args.demo, args.screenshot, args.config, args.data_dir and args.verbose.
    """
    try:
        from atlas_desk.app import run_desk
    except ImportError as exc:
        raise CommandError(f"the desk cannot start: {exc}") from None
    return int(run_desk(args))


def _cmd_sync(args: argparse.Namespace) -> int:
    from atlas_desk.config import data_dir
    from atlas_desk.credentials import Credentials
    from atlas_desk.runtime import Runtime

    settings = _settings(args)
    where = settings.path
    configured = settings.configured_platforms()
    if not configured:
        raise CommandError(
            f"nothing to sync: configure discord.guild_id, github.repo or reddit.subreddit in {where} "
            "(see atlas-desk doctor)"
        )
    platforms = configured
    if args.platform:
        if args.platform not in configured:
            key = {"discord": "discord.guild_id", "github": "github.repo", "reddit": "reddit.subreddit"}
            raise CommandError(
                f"{args.platform} is not configured: set {key[args.platform]} in {where} "
                "(see atlas-desk doctor)"
            )
        platforms = [args.platform]
    _setup_logging(args)
    runtime = Runtime(settings, Credentials(), data_dir(False, args.data_dir))
    failures: dict[Any, str] = {}

    async def run(stop: Any) -> None:
        try:
            if args.once:
                failures.update(await runtime.backfill(platforms))
            else:
                await runtime.start(platforms)
                failures.update(runtime.problems)
                if len(failures) < len(platforms):
                    await stop.wait()
        finally:
            await runtime.stop()

    _run_until_signal(run)
    if failures:
        raise CommandError("; ".join(failures.values()))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import sqlite3

    from atlas_desk.config import data_dir, store_path
    from atlas_desk.store.export import export

    if args.format == "ics" and args.kind != "events":
        raise CommandError(
            "only events can be exported as iCalendar: use 'atlas-desk export events --format ics'"
        )
    path = store_path(data_dir(args.demo, args.data_dir))
    if not path.exists():
        raise CommandError(
            f"there is no store at {path} yet: run 'atlas-desk sync --once' first (or pass --data-dir)"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CommandError(f"cannot open the store {path}: {exc}") from None
    try:
        if args.output is None:
            export(conn, args.kind, args.format, sys.stdout)
            sys.stdout.flush()
        else:
            tmp = args.output.with_name(args.output.name + ".tmp")
            try:
                with tmp.open("w", encoding="utf-8", newline="") as out:
                    export(conn, args.kind, args.format, out)
                tmp.replace(args.output)
            except OSError as exc:
                raise CommandError(f"cannot write {args.output}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise CommandError(f"cannot read the store {path}: {exc}") from None
    finally:
        conn.close()
    return 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    import shlex

    try:
        from atlas_desk.sandbox.community import generate
        from atlas_desk.sandbox.harness import Sandbox
    except ImportError as exc:
        raise CommandError(f"the sandbox is not available in this build: {exc}") from None
    from atlas_desk.config import ConfigError, save_settings, settings_from_dict

    _setup_logging(args)
    community = generate() if args.seed is None else generate(args.seed)
    sandbox = Sandbox(community, live_rate=args.live)

    async def run(stop: Any) -> None:
        await sandbox.start()
        try:
            lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(sandbox.env().items())]
            if args.write_config:
                try:
                    settings = settings_from_dict(sandbox.config(), source="sandbox config", environ={})
                except ConfigError as exc:
                    raise CommandError(
                        f"the sandbox produced a config this version cannot read: {exc}"
                    ) from None
                written = save_settings(settings, args.write_config)
                lines.append(f"export ATLAS_DESK_CONFIG={shlex.quote(str(written.resolve()))}")
                lines.append(f"# wrote the sandbox community's config to {written}")
            lines.append("# sandbox running; stop it with Ctrl+C (or SIGTERM)")
            print("\n".join(lines), flush=True)
            await stop.wait()
        finally:
            await sandbox.stop()

    _run_until_signal(run)
    return 0


def _cmd_bot(args: argparse.Namespace) -> int:
    import logging

    from atlas_desk.credentials import Credentials

    settings = _settings(args)
    d = settings.discord
    creds = Credentials()
    missing = []
    if not d.guild_id:
        missing.append("discord.guild_id")
    if not d.tickets_forum_id:
        missing.append("discord.tickets_forum_id")
    if not d.support_channel_id:
        missing.append("discord.support_channel_id")
    if missing:
        raise CommandError(f"the bot needs Discord: set {', '.join(missing)} in {settings.path}")
    if not creds.has("discord_token"):
        raise CommandError(
            "the bot needs the Discord bot token: set ATLAS_DESK_DISCORD_TOKEN (or store it in "
            "the system keyring with the desk's Settings dialog)"
        )
    _setup_logging(args)
    log = logging.getLogger("atlas_desk.bot")
    if d.relay:
        log.info(
            "will relay tickets: member DMs and /ticket to forum %s, moderator replies back to members",
            d.tickets_forum_id,
        )
    else:
        log.info("discord.relay is false: another process relays tickets; this bot will not")
    log.info("will publish scheduled posts when they are due, and send event reminders")

    import asyncio

    from atlas_desk.config import data_dir
    from atlas_desk.core.types import Platform
    from atlas_desk.runtime import Runtime

    runtime = Runtime(settings, creds, data_dir(False, args.data_dir))
    fatal: list[str] = []

    async def run(stop: Any) -> None:
        waiters: list[asyncio.Future[Any]] = []
        try:
            await runtime.start([Platform.DISCORD])
            relay = runtime.relay
            if relay is None:
                fatal.append(runtime.problems.get(Platform.DISCORD) or "the ticket relay could not be built")
                return
            # Said once the signal handlers are in place, so a supervisor may stop the bot from here on.
            log.info("bot running for guild %s; stop it with SIGTERM or Ctrl+C", d.guild_id)
            stopping = asyncio.ensure_future(stop.wait())
            ended = asyncio.ensure_future(relay.wait_fatal())
            ready = asyncio.ensure_future(relay.wait_ready())
            waiters = [stopping, ended, ready]
            await asyncio.wait({stopping, ended, ready}, return_when=asyncio.FIRST_COMPLETED)
            if ready.done() and d.relay and not relay.setup.ok:
                fatal.append(" ".join(relay.setup.problems))
                return
            if ready.done():
                log.info("relaying tickets from forum %s", d.tickets_forum_id)
                await asyncio.wait({stopping, ended}, return_when=asyncio.FIRST_COMPLETED)
            if ended.done():
                fatal.append(relay.fatal)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await runtime.stop()
            log.info("bot stopped")

    _run_until_signal(run)
    if fatal:
        raise CommandError(f"the bot cannot relay tickets: {fatal[0]}")
    return 0


# -- doctor --------------------------------------------------------------------------------

_KEY_FIELD = {"discord": "discord.guild_id", "github": "github.repo", "reddit": "reddit.subreddit"}


def _cmd_doctor(args: argparse.Namespace) -> int:
    from atlas_desk.config import ConfigError, data_dir, default_config_path, log_dir
    from atlas_desk.credentials import ENV_VARS, Credentials, keyring_status

    problems = 0

    def ok(text: str) -> None:
        print(f"ok: {text}")

    def problem(text: str, fix: str) -> None:
        nonlocal problems
        problems += 1
        print(f"problem: {text} fix: {fix}")

    def skipped(text: str) -> None:
        print(f"skipped: {text}")

    config_path = args.config or default_config_path()
    settings = None
    try:
        settings = _settings(args)
    except ConfigError as exc:
        problem(
            f"{exc}.",
            "correct that value in the file (or unset the environment variable) and run doctor again.",
        )
    else:
        exists = "" if config_path.exists() else " (no file yet: using defaults)"
        ok(f"config {config_path}{exists}")

    available, message = keyring_status(probe=True)
    if available:
        ok(message)
    else:
        problem(
            message, "install and unlock a keyring service, or use the ATLAS_DESK_* environment variables."
        )

    dirs = (
        ("data dir", data_dir(False, args.data_dir), "--data-dir"),
        ("log dir", log_dir(), "ATLAS_DESK_LOG_DIR"),
    )
    for label, directory, option in dirs:
        reason = _writable(directory)
        if reason:
            problem(
                f"the {label} {directory} is not writable ({reason}).",
                f"fix its permissions or choose another with {option}.",
            )
        else:
            ok(f"{label} {directory} is writable")

    if settings is not None:
        creds = Credentials()
        configured = settings.configured_platforms()
        if not configured:
            problem(
                f"no platform is configured in {config_path}.",
                "set discord.guild_id, github.repo or reddit.subreddit there (or run "
                "'atlas-desk sandbox --write-config PATH' to try the sandbox).",
            )
        checks = []
        for name in PLATFORM_NAMES:
            if name not in configured:
                if configured:
                    skipped(f"{name} is not configured (to use it, set {_KEY_FIELD[name]} in {config_path})")
                continue
            missing = creds.missing_for(name)
            if missing:
                problem(
                    f"{name}: missing {', '.join(missing)}.",
                    f"set {', '.join(ENV_VARS[m] for m in missing)} or enter them in the desk's Settings.",
                )
            else:
                sources = sorted({str(creds.source(n)) for n in _present(creds, name)})
                ok(f"{name} credentials found ({', '.join(sources)})")
            checks.append((name, _probe_request(name, settings, creds)))
        for line_ok, text, fix in _run_probes(checks):
            if line_ok:
                ok(text)
            else:
                problem(text, fix)
    return 1 if problems else 0


def _present(creds: Any, platform: str) -> list[str]:
    from atlas_desk.credentials import REQUIRED

    return [n for option in REQUIRED[platform] for n in option if creds.has(n)]


def _writable(directory: Path) -> str:
    import os
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".doctor-", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _probe_request(name: str, settings: Any, creds: Any) -> tuple[str, dict[str, str], str]:
    """(url, headers, env var naming the endpoint) for one platform's reachability check."""
    from atlas_desk.config import REDDIT_URL_DEFAULT, env_var

    if name == "discord":
        token = creds.get("discord_token")
        headers = {"Authorization": f"Bot {token}"} if token else {}
        return f"{settings.discord.api}/users/@me", headers, env_var("discord", "api")
    if name == "github":
        token = creds.get("github_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return f"{settings.github.api}/user", headers, env_var("github", "api")
    return f"{settings.reddit.url or REDDIT_URL_DEFAULT}/", {}, env_var("reddit", "url")


def _run_probes(checks: list[tuple[str, tuple[str, dict[str, str], str]]]) -> list[tuple[bool, str, str]]:
    from concurrent.futures import ThreadPoolExecutor

    if not checks:
        return []
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        return list(pool.map(lambda c: _probe(c[0], *c[1]), checks))


def _probe(name: str, url: str, headers: dict[str, str], endpoint_var: str) -> tuple[bool, str, str]:
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # urllib forwards the Authorization header across hosts on a redirect: refuse to follow any.
        def redirect_request(self, *a: Any, **k: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    request = urllib.request.Request(url, headers={"User-Agent": "atlas-desk doctor", **headers})
    fix_reach = f"check the network, or the endpoint ({endpoint_var} / the config file)."
    try:
        with opener.open(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{name}: cannot reach {url} ({reason}).", fix_reach
    if status in (401, 403) and headers:
        return (
            False,
            f"{name}: {url} rejected the credentials (HTTP {status}).",
            ("store a valid token (the desk's Settings dialog, or the environment variable)."),
        )
    if headers and 200 <= status < 300:
        return True, f"{name}: {url} reachable, credentials accepted", ""
    return True, f"{name}: {url} reachable (HTTP {status})", ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
