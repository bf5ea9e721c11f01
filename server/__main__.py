"""The ``attune`` command line: ``attune serve`` and the offline tools."""

from __future__ import annotations

import argparse
import logging
import re
import ssl
import sys

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from server.settings import SettingsError, add_cli_arguments, apply_cli_overrides, settings_from_env

_TOKEN_PATH = re.compile(r"^/(host|join)/[^/?]+")

# Libraries that report routine work at INFO and would drown an operator's log: faster-whisper writes
# "Processing audio with duration ..." for every decode (several a second per speaker), fontTools a line
# per table for every font subset of a PDF export, Alembic its migration steps at every start.
CHATTY_LOGGERS = ("faster_whisper", "fontTools", "alembic")


class RedactingAccessLogger(AbstractAccessLogger):
    """Access log without the secret part of invite and counselor links."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        path = _TOKEN_PATH.sub(r"/\1/…", request.path)
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method, path, response.status, time)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def configure_logging(level: str) -> None:
    """The server's own messages at ``level``; the chatty libraries at WARNING (or above, with the rest),
    unless the operator asked for DEBUG, when everything speaks."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    root = logging.getLogger().getEffectiveLevel()
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if root <= logging.DEBUG else max(logging.WARNING, root))


def serve(args: argparse.Namespace) -> int:
    try:
        settings = apply_cli_overrides(settings_from_env(), args)
    except SettingsError as exc:
        print(f"attune: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    from server.app import create_app

    ssl_context = None
    if settings.cert_file and settings.key_file:
        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_context.load_cert_chain(settings.cert_file, settings.key_file)
    scheme = "https" if ssl_context else "http"
    app = create_app(settings)
    print(f"Attune is starting on {scheme}://{settings.host}:{settings.port}/", file=sys.stderr, flush=True)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        ssl_context=ssl_context,
        access_log_class=RedactingAccessLogger,
        print=lambda msg: print(msg, file=sys.stderr, flush=True),
        shutdown_timeout=5.0,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attune", description="Attune: a counseling session companion.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve", help="run the server")
    add_cli_arguments(serve_parser)
    text_parser = sub.add_parser("analyze-text", help="run the text cues over a JSONL transcript")
    text_parser.add_argument("file", help="JSONL file, one {role, speaker, text} object per line; - for stdin")
    from server.accounts.cli import add_create_counselor_parser, create_counselor_main

    add_create_counselor_parser(sub)
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return serve(args)
    if args.command == "create-counselor":
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return create_counselor_main(args)
    if args.command == "analyze-text":
        from server.live.analyze_text import main as analyze_text_main

        return analyze_text_main([args.file, *rest])
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
