"""Backends: each turns the IR into files through Jinja2 templates."""
