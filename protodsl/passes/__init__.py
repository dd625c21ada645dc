"""Semantic passes: AST to IR. Each pass reports problems instead of raising."""
