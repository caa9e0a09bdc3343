"""Sceptre hooks of the LiteLLM gateway, registered under the `sceptre.hooks` entry point."""
