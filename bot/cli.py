"""The command line: `python -m bot ...`, also installed as `witness-intake ...`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from bot.accounts import FIRST_ACCOUNT
from bot.app import Services, build_services, build_web_app
from bot.logs import configure_logging
from bot.roster import NoSuchAccount
from bot.settings import Settings
from handlers.terminal import run_chat
from storage import caseworkers, keychecks, rotation
from storage.keyring import MasterKeyError
from storage.retention import purge

log = logging.getLogger("bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="witness-intake", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate the database and start the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)

    chat = commands.add_parser("chat", help="play a witness in the terminal")
    chat.add_argument(
        "--as",
        dest="identity",
        default="terminal",
        help="which pretend witness to be (the same name continues a conversation)",
    )

    commands.add_parser("migrate", help="create or migrate the database, then exit")

    worker = commands.add_parser("caseworker", help="caseworker accounts")
    worker_commands = worker.add_subparsers(dest="action", required=True)
    add = worker_commands.add_parser("add", help="create a caseworker account")
    add.add_argument("username")
    add.add_argument("--queues", default="general", help="comma-separated queue names")
    add.add_argument("--languages", default="en", help="comma-separated: en,es")
    add.add_argument("--supervisor", action="store_true")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    _alert_arguments(add)
    alerts = worker_commands.add_parser(
        "alerts", help="where a caseworker is alerted about cases nobody has acted on"
    )
    alerts.add_argument("username")
    _alert_arguments(alerts)
    alerts.add_argument(
        "--clear", action="store_true", help="stop alerts (with a flag above: replace them)"
    )
    worker_commands.add_parser("list", help="every account, its queues, languages and state")
    disable = worker_commands.add_parser(
        "disable", help="disable an account and end all its sessions and API tokens at once"
    )
    disable.add_argument("username")
    enable = worker_commands.add_parser("enable", help="let a disabled account sign in again")
    enable.add_argument("username")
    reset = worker_commands.add_parser(
        "reset-password", help="give an account a new password and end all its sessions"
    )
    reset.add_argument("username")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the new password from stdin"
    )

    keys = commands.add_parser("keys", help="master keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    key_commands.add_parser("rotate", help="add a master key version and rewrap every data key")
    retire = key_commands.add_parser("retire", help="remove an old master key version")
    retire.add_argument("version", type=int)
    key_commands.add_parser("status", help="master key versions and what uses them")

    commands.add_parser("purge", help="apply the retention period now")

    telegram = commands.add_parser("telegram", help="the Telegram channel")
    telegram_commands = telegram.add_subparsers(dest="action", required=True)
    telegram_commands.add_parser(
        "set-webhook", help="register INTAKE_PUBLIC_URL/webhooks/telegram with Telegram"
    )

    twilio = commands.add_parser("twilio", help="the SMS channel")
    twilio_commands = twilio.add_subparsers(dest="action", required=True)
    configure = twilio_commands.add_parser(
        "configure",
        help="point TWILIO_PHONE_NUMBER's SMS webhook (retried on 5xx and timeouts) and "
        "status callback at INTAKE_PUBLIC_URL",
    )
    configure.add_argument(
        "--fallback-url", help="where Twilio turns when the service cannot answer (https://...)"
    )
    return parser


def _alert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--alert-sms", metavar="NUMBER", help="alert by SMS at this number (+15551234567)"
    )
    parser.add_argument(
        "--alert-telegram",
        metavar="CHAT_ID",
        help="alert in this Telegram chat (a staff group with the bot in it, or a private chat)",
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"invalid settings: {_problems(exc)}", file=sys.stderr)
        return 2
    # The terminal chat is the witness's screen: keep service chatter off it.
    quiet = args.command == "chat"
    configure_logging(
        log_format=settings.log_format, level=logging.WARNING if quiet else logging.INFO
    )
    handler = _HANDLERS[(args.command, getattr(args, "action", None))]
    try:
        services = build_services(settings)
    except MasterKeyError as exc:
        print(f"master key problem: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_run(services, handler, args))


def _problems(exc: ValidationError) -> str:
    """Each bad setting by name; never its value, which may be a secret."""
    problems = []
    for err in exc.errors():
        if not err["loc"]:
            continue
        name = str(err["loc"][0]).upper()
        # A choice's message lists the choices, not what was given.
        problems.append(f"{name} ({err['msg']})" if err["type"] == "literal_error" else name)
    return ", ".join(problems)


async def _run(
    services: Services,
    handler: Callable[[Services, argparse.Namespace], Awaitable[int]],
    args: argparse.Namespace,
) -> int:
    try:
        await services.start()
    except MasterKeyError as exc:
        print(f"master key problem: {exc}", file=sys.stderr)
        await services.close()
        return 2
    try:
        return await handler(services, args)
    finally:
        await services.close()


async def _serve(services: Services, args: argparse.Namespace) -> int:
    from handlers.web import ConnectionLimits, WebServer

    app = build_web_app(services)
    settings = services.settings
    server = WebServer(
        app,
        limits=ConnectionLimits(
            read_seconds=settings.request_timeout_seconds,
            keep_alive_seconds=settings.keep_alive_seconds,
            max_connections=settings.max_connections,
        ),
        host=args.host,
        port=args.port,
        # Whose X-Forwarded-For to believe is INTAKE_TRUSTED_PROXIES' call, made in
        # handlers/client_address.py; uvicorn would believe any local peer.
        proxy_headers=False,
    )
    log.info("serving on http://%s:%d (database: %s)", args.host, args.port, services.db.dialect)
    if await services.accounts.first_run():
        log.warning("no caseworker account yet: create the first with `%s`", FIRST_ACCOUNT)
    # Everything built so far (modules, the app, its routes) lives as long as the
    # process: kept out of the collector's passes, which then stay short. A request
    # allocates thousands of short-lived objects, so the youngest generation is swept
    # every 7,000 allocations rather than 700. Measured with `make bench`: the webhook's
    # p99 fell from about 280 ms to 75 ms and its throughput rose by a third.
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 10, 10)
    await server.serve()
    return 0


async def _chat(services: Services, args: argparse.Namespace) -> int:
    await run_chat(services.desk, address=f"terminal:{args.identity}")
    return 0


async def _migrate(services: Services, _args: argparse.Namespace) -> int:
    print(f"database is at the newest schema ({services.db.dialect})")
    return 0


async def _caseworker_add(services: Services, args: argparse.Namespace) -> int:
    generated = not args.password_stdin
    if generated:
        password = secrets.token_urlsafe(15)
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        async with services.db.write() as session:
            account = await caseworkers.add_caseworker(
                session,
                username=args.username,
                password=password,
                queues=_split(args.queues),
                languages=_split(args.languages),
                supervisor=args.supervisor,
            )
            caseworkers.set_alert_contacts(
                account, vault=services.vault, sms=args.alert_sms, telegram=args.alert_telegram
            )
            channels = caseworkers.alert_channels(account)
    except (caseworkers.InvalidAccount, caseworkers.UsernameTaken) as exc:
        print(f"cannot add caseworker: {exc}", file=sys.stderr)
        return 1
    print(f"caseworker {account.username} added")
    if channels:
        print(f"alerts by {', '.join(channels)}")
    if generated:
        print(f"password (shown once): {password}")
    return 0


async def _caseworker_alerts(services: Services, args: argparse.Namespace) -> int:
    if args.alert_sms is None and args.alert_telegram is None and not args.clear:
        print("say where to alert (--alert-sms, --alert-telegram) or --clear", file=sys.stderr)
        return 2
    try:
        async with services.db.write() as session:
            account = await caseworkers.by_username(session, username=args.username)
            if account is None:
                print(f"no caseworker {args.username}", file=sys.stderr)
                return 1
            caseworkers.set_alert_contacts(
                account,
                vault=services.vault,
                sms=args.alert_sms,
                telegram=args.alert_telegram,
                clear=args.clear,
            )
            channels = caseworkers.alert_channels(account)
    except caseworkers.InvalidAccount as exc:
        print(f"cannot set alerts: {exc}", file=sys.stderr)
        return 1
    # Which channels, never the number or chat id: terminals are logged and shared.
    where = f"by {', '.join(channels)}" if channels else "off"
    print(f"caseworker {args.username}: alerts {where}")
    return 0


async def _caseworker_list(services: Services, _args: argparse.Namespace) -> int:
    # Which alert channels, never the number or chat id: terminals are logged and shared.
    for account in await services.roster.accounts():
        print(
            f"{account.username}\t{'supervisor' if account.supervisor else 'caseworker'}\t"
            f"queues={','.join(account.queues) or '-'}\t"
            f"languages={','.join(account.languages) or '-'}\t"
            f"alerts={','.join(account.alerts) or 'off'}\t"
            f"{'disabled' if account.disabled else 'enabled'}"
        )
    return 0


async def _caseworker_disable(services: Services, args: argparse.Namespace) -> int:
    try:
        ended = await services.roster.disable(args.username)
    except NoSuchAccount:
        print(f"no caseworker {args.username}", file=sys.stderr)
        return 1
    print(f"caseworker {args.username} disabled; {ended} sessions ended")
    return 0


async def _caseworker_enable(services: Services, args: argparse.Namespace) -> int:
    try:
        await services.roster.enable(args.username)
    except NoSuchAccount:
        print(f"no caseworker {args.username}", file=sys.stderr)
        return 1
    print(f"caseworker {args.username} enabled")
    return 0


async def _caseworker_reset_password(services: Services, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords differ; nothing changed", file=sys.stderr)
            return 1
    else:
        print("no terminal to ask on: pass the password with --password-stdin", file=sys.stderr)
        return 2
    try:
        ended = await services.roster.reset_password(args.username, password)
    except NoSuchAccount:
        print(f"no caseworker {args.username}", file=sys.stderr)
        return 1
    except caseworkers.InvalidAccount as exc:
        print(f"cannot reset the password: {exc}", file=sys.stderr)
        return 1
    print(f"caseworker {args.username} has a new password; {ended} sessions ended")
    return 0


async def _keys_rotate(services: Services, _args: argparse.Namespace) -> int:
    try:
        if not services.keys.from_environment:
            services.keys.add_version()
    except MasterKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    await keychecks.open_keys(services.db, keys=services.keys, vault=services.vault)
    report = await rotation.rewrap_all(services.db, vault=services.vault)
    async with services.db.write() as session:
        resealed = await caseworkers.reseal_alert_contacts(session, vault=services.vault)
    owed = await rotation.reseal_outbox(services.db, vault=services.vault)
    print(
        f"active master key version {report.active_version}: "
        f"{report.rewrapped} data keys rewrapped, {report.relooked} lookup keys re-derived, "
        f"{resealed} staff alert contacts resealed, {owed} outbox payloads resealed"
    )
    return 0


async def _keys_retire(services: Services, args: argparse.Namespace) -> int:
    users = await _still_using(services, version=args.version)
    if users:
        print(
            f"version {args.version} still protects {users} keys or owed payloads: "
            "run `keys rotate` first",
            file=sys.stderr,
        )
        return 1
    try:
        services.keys.retire(args.version)
    except MasterKeyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"master key version {args.version} retired")
    return 0


async def _keys_status(services: Services, _args: argparse.Namespace) -> int:
    keyring = services.keys.refresh()
    source = "INTAKE_MASTER_KEY" if services.keys.from_environment else "key file"
    print(f"master keys from the {source}; active version {keyring.active}")
    for version in sorted(keyring.keys):
        users = await _still_using(services, version=version)
        print(f"  version {version}: {users} keys depend on it")
    return 0


async def _still_using(services: Services, *, version: int) -> int:
    """Data keys, lookup keys and staff alert contacts that need this master key version."""
    users = await rotation.still_using(services.db, version=version)
    async with services.db.read() as session:
        return users + await caseworkers.alert_contacts_under(session, version=version)


async def _purge(services: Services, _args: argparse.Namespace) -> int:
    erased = await purge(
        services.db, vault=services.vault, retention_days=services.settings.retention_days
    )
    print(f"retention {services.settings.retention_days} days: {erased} witnesses erased")
    return 0


async def _telegram_set_webhook(services: Services, _args: argparse.Namespace) -> int:
    from aiogram.exceptions import AiogramError, TelegramAPIError, TelegramNetworkError

    from handlers.telegram import WEBHOOK_PATH, TelegramChannel

    settings = services.settings
    token, secret, public_url = (
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.public_url,
    )
    if token is None or secret is None or public_url is None:
        missing = [
            name
            for name, value in (
                ("TELEGRAM_BOT_TOKEN", token),
                ("INTAKE_PUBLIC_URL", public_url),
                ("TELEGRAM_WEBHOOK_SECRET", secret),
            )
            if value is None
        ]
        print(f"cannot set the Telegram webhook: {', '.join(missing)} not set", file=sys.stderr)
        return 1
    url = public_url.rstrip("/") + WEBHOOK_PATH
    channel = TelegramChannel(
        desk=services.desk,
        token=token.get_secret_value(),
        api_base=settings.telegram_api_base,
        webhook_secret=secret.get_secret_value(),
        use_webhook=True,
    )
    try:
        await channel.set_webhook(url, secret=secret.get_secret_value())
    except TelegramNetworkError:
        # Not the exception's text: a malformed address would be quoted with the token in it.
        print("could not reach Telegram at TELEGRAM_API_BASE", file=sys.stderr)
        return 1
    except TelegramAPIError as exc:
        # Telegram's description says what it disliked (the URL, the secret's characters).
        print(f"Telegram refused the webhook: {exc.message}", file=sys.stderr)
        return 1
    except AiogramError as exc:
        print(f"Telegram gave an unexpected answer ({type(exc).__name__})", file=sys.stderr)
        return 1
    finally:
        await channel.close()
    print(f"Telegram webhook set to {url} (with the secret token)")
    return 0


async def _twilio_configure(services: Services, args: argparse.Namespace) -> int:
    from handlers import twilio_client
    from handlers.twilio_sms import RETRY_OVERRIDES, SMS_PATH, STATUS_PATH

    settings = services.settings
    needed = (
        ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
        ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
        ("TWILIO_PHONE_NUMBER", settings.twilio_phone_number),
        ("INTAKE_PUBLIC_URL", settings.public_url),
    )
    missing = [name for name, value in needed if not value]
    if missing:
        print(f"cannot configure Twilio: {', '.join(missing)} not set", file=sys.stderr)
        return 1
    assert settings.twilio_account_sid and settings.twilio_auth_token  # noqa: S101 - checked
    assert settings.twilio_phone_number and settings.public_url  # noqa: S101 - checked
    if args.fallback_url is not None and not _web_address(args.fallback_url):
        print("--fallback-url must be an http(s) URL", file=sys.stderr)
        return 2
    base = settings.public_url.rstrip("/")
    webhooks = twilio_client.NumberWebhooks(
        sms_url=f"{base}{SMS_PATH}#{RETRY_OVERRIDES}",
        status_callback=base + STATUS_PATH,
        fallback_url=args.fallback_url,
    )
    try:
        await twilio_client.configure_number(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            api_base=settings.twilio_api_base,
            phone_number=settings.twilio_phone_number.get_secret_value(),
            webhooks=webhooks,
        )
    except twilio_client.NumberNotFound:
        print("TWILIO_PHONE_NUMBER is not a number of this Twilio account", file=sys.stderr)
        return 1
    except twilio_client.TwilioRefused as exc:
        reason = "the credentials" if exc.status == 401 else f"the change ({exc})"
        print(f"Twilio refused {reason}", file=sys.stderr)
        return 1
    except twilio_client.TwilioUnreachable:
        print("could not reach Twilio at TWILIO_API_BASE", file=sys.stderr)
        return 1
    # Which URLs, never the number: terminals are logged and shared.
    print(f"Twilio number: SMS to {webhooks.sms_url} (POST; retried on 5xx and timeouts)")
    print(f"Twilio number: status callbacks to {webhooks.status_callback}")
    print(f"Twilio number: fallback {webhooks.fallback_url or 'left as it was'}")
    return 0


def _web_address(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


_HANDLERS: dict[
    tuple[str, str | None], Callable[[Services, argparse.Namespace], Awaitable[int]]
] = {
    ("serve", None): _serve,
    ("chat", None): _chat,
    ("migrate", None): _migrate,
    ("caseworker", "add"): _caseworker_add,
    ("caseworker", "alerts"): _caseworker_alerts,
    ("caseworker", "list"): _caseworker_list,
    ("caseworker", "disable"): _caseworker_disable,
    ("caseworker", "enable"): _caseworker_enable,
    ("caseworker", "reset-password"): _caseworker_reset_password,
    ("keys", "rotate"): _keys_rotate,
    ("keys", "retire"): _keys_retire,
    ("keys", "status"): _keys_status,
    ("purge", None): _purge,
    ("telegram", "set-webhook"): _telegram_set_webhook,
    ("twilio", "configure"): _twilio_configure,
}
