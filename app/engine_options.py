"""Engine options shared by the commands that ask a model (``ask``, ``doctor``, ``bench serve``):
``--server``/``--api-key``/``--ca-bundle`` and the engine they name. Nothing heavy is imported
until an engine is built."""

from __future__ import annotations


def add_server_arguments(parser) -> None:
    """--server, --api-key, --ca-bundle (shared with ``medmo doctor``)."""
    parser.add_argument("--server", metavar="URL",
                        help="ask a MedMO server (https://host[:port]) instead of loading a model")
    parser.add_argument("--api-key", default=None,
                        help="the server's token (default: $MEDMO_API_KEY)")
    parser.add_argument("--ca-bundle", default=None, metavar="PEM",
                        help="the site CA's certificate(s) (default: $MEDMO_CA_BUNDLE, else the "
                             "system's)")


def server_config(args, **options):
    """The RemoteConfig of --server/--api-key/--ca-bundle (environment as fallback)."""
    import os

    from inference.remote import RemoteConfig

    return RemoteConfig(
        url=args.server, api_key=args.api_key or os.environ.get("MEDMO_API_KEY", ""),
        ca_bundle=args.ca_bundle or os.environ.get("MEDMO_CA_BUNDLE", ""),
        adapter_share=os.environ.get("MEDMO_ADAPTER_SHARE", ""),
        adapter_share_on_server=os.environ.get("MEDMO_ADAPTER_SHARE_ON_SERVER", ""), **options)


def engine_from_args(args):
    """The engine the command's arguments name: the --server's, or a model loaded here."""
    if args.server:
        from inference.remote import RemoteEngine

        return RemoteEngine(server_config(args, model=args.model or "",
                                          max_new_tokens=args.max_new_tokens))
    from inference.engine import Engine
    from inference.runtime import EngineConfig

    return Engine(EngineConfig(model=args.model, max_new_tokens=args.max_new_tokens,
                               load_in_4bit=args.four_bit))
