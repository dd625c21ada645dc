"""Text to AST: the Lark parser, the AST and the transformer between them."""
