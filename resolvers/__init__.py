"""Sceptre resolvers and config helpers of the LiteLLM gateway, registered through entry points."""
