"""The protodsl grammar, shipped as package data."""
